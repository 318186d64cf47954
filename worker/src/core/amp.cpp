#include "amp.h"

#include <ATen/autocast_mode.h>

namespace accel {

AutocastScope::AutocastScope(at::DeviceType device, at::ScalarType dtype, bool enabled)
    : device_(device), active_(enabled) {
  if (!active_) return;
  prev_enabled_ = at::autocast::is_autocast_enabled(device_);
  prev_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::set_autocast_dtype(device_, dtype);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, prev_enabled_);
  at::autocast::set_autocast_dtype(device_, prev_dtype_);
}

GradScaler::GradScaler(at::Device device, double init_scale, double growth_factor,
                       double backoff_factor, int64_t growth_interval)
    : scale_(at::full({}, init_scale, at::TensorOptions().dtype(at::kFloat).device(device))),
      growth_tracker_(at::zeros({}, at::TensorOptions().dtype(at::kInt).device(device))),
      found_inf_(at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(device))),
      growth_factor_(growth_factor),
      backoff_factor_(backoff_factor),
      growth_interval_(growth_interval) {}

void GradScaler::unscale(const std::vector<at::Tensor>& params) {
  if (unscaled_) return;
  std::vector<at::Tensor> grads;
  for (auto& p : params)
    if (p.grad().defined()) grads.push_back(p.mutable_grad());
  auto inv = scale_.to(at::kDouble).reciprocal().to(at::kFloat);
  if (!grads.empty()) at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf_, inv);
  unscaled_ = true;
}

bool GradScaler::should_skip(const std::vector<at::Tensor>& params) {
  unscale(params);
  return found_inf_.item<float>() > 0.0f;
}

void GradScaler::update() {
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, growth_factor_, backoff_factor_,
                         growth_interval_);
  found_inf_.zero_();
  unscaled_ = false;
}

at::Tensor GradScaler::state() const {
  return at::stack({scale_.to(at::kDouble).cpu(), growth_tracker_.to(at::kDouble).cpu()});
}

void GradScaler::load_state(const at::Tensor& s) {
  scale_.fill_(s[0].item<double>());
  growth_tracker_.fill_(static_cast<int64_t>(s[1].item<double>()));
}

}  // namespace accel
