// amp.h — mixed precision: autocast scopes and dynamic loss scaling.
//
// bf16: autocast to bfloat16 on CPU or CUDA; weights stay fp32 (master weights), and the
// loss is computed/returned in fp32 by Accelerator. No scaler is needed (bf16 has fp32's range).
// fp16: autocast to float16 on CUDA with a GradScaler (dynamic loss scaling: skip the step and
// halve the scale on inf/NaN gradients, double it after `growth_interval` clean steps).
#pragma once

#include <ATen/ATen.h>

#include "accel/autocast_scope.h"

#include <optional>
#include <vector>

namespace accel {

class GradScaler {
 public:
  explicit GradScaler(at::Device device, double init_scale = 65536.0, double growth_factor = 2.0,
                      double backoff_factor = 0.5, int64_t growth_interval = 2000);

  at::Tensor scale(const at::Tensor& loss) const { return loss * scale_.to(loss.scalar_type()); }
  // Divides gradients by the scale in place (once per step) and records whether any is inf/NaN.
  void unscale(const std::vector<at::Tensor>& params);
  // True when the optimizer step must be skipped (inf/NaN found). Unscales first if needed.
  bool should_skip(const std::vector<at::Tensor>& params);
  // Adjusts the scale after a step (or skip) and resets the per-step state.
  void update();

  double current_scale() const { return scale_.item<double>(); }
  at::Tensor state() const;           // [scale, growth_tracker] for checkpoints
  void load_state(const at::Tensor& s);

 private:
  at::Tensor scale_, growth_tracker_, found_inf_;
  double growth_factor_, backoff_factor_;
  int64_t growth_interval_;
  bool unscaled_ = false;
};

}  // namespace accel
