// checkpoint_state.cpp — Accelerator::save_state / load_state: the training state of every
// rank (model, optimizer, scheduler, scaler, RNG, counters, data position, registered extras)
// in the atomic checkpoint format of worker/CHECKPOINTS.md.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/serialize.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "accelerator_impl.h"
#include "checkpoint_io.h"

namespace accel {

// --- checkpoints ----------------------------------------------------------------------------

namespace {

void save_archive(torch::serialize::OutputArchive& a, const std::string& path) {
  a.save_to(path + ".part");
  fsync_path(path + ".part");
  if (std::rename((path + ".part").c_str(), path.c_str()) != 0)
    throw std::runtime_error("rename failed for " + path);
}

std::string rank_dir(const std::string& ckpt, int rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/rank_%05d", rank);
  return ckpt + buf;
}

}  // namespace

std::string Accelerator::Impl::save() {
  if (!model) throw std::logic_error("Accelerator::save_state before prepare");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string dir = config.checkpoint_dir();
  const std::string tmp = checkpoint_tmp_path(dir, completed_steps);
  const std::string final_path = checkpoint_path(dir, completed_steps);
  const int64_t index = save_index + 1;
  barrier("save_state (enter)");
  if (id.rank == 0) {
    make_dirs(dir);
    remove_all(tmp);
    make_dirs(tmp);
  }
  barrier("save_state (prepare folder)");
  make_dirs(rank_dir(tmp, id.rank));
  if (id.rank == 0) {
    torch::serialize::OutputArchive ma;
    for (auto& p : model->named_parameters())
      ma.write("param." + p.key(), p.value().detach().cpu());
    for (auto& b : model->named_buffers())
      ma.write("buffer." + b.key(), b.value().detach().cpu(), true);
    save_archive(ma, tmp + "/model.pt");
    torch::serialize::OutputArchive oa;
    optimizer->save(oa);
    save_archive(oa, tmp + "/optimizer.pt");
    if (scaler) {
      torch::serialize::OutputArchive sa;
      sa.write("state", scaler->state());
      save_archive(sa, tmp + "/scaler.pt");
    }
    for (auto& [name, c] : custom) write_file_atomic(tmp + "/custom_" + name + ".bin", c.save());
  }
  {
    torch::serialize::OutputArchive ra;
    auto gen = at::detail::getDefaultCPUGenerator();
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      ra.write("cpu", gen.get_state());
    }
    if (device.is_cuda()) {
      auto cg = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(cg.mutex());
      ra.write("cuda", cg.get_state());
    }
    save_archive(ra, rank_dir(tmp, id.rank) + "/rng.pt");
    nlohmann::json rs{{"rank", id.rank}, {"batch_in_epoch", batch_in_epoch + (in_scope ? 1 : 0)}};
    write_file_atomic(rank_dir(tmp, id.rank) + "/state.json", rs.dump(2));
    fsync_path(rank_dir(tmp, id.rank));
  }
  barrier("save_state (files written)");
  if (id.rank == 0) {
    nlohmann::json meta{
        {"format", 1},
        {"step", completed_steps},
        {"scheduler_steps", scheduler_steps},
        {"save_index", index},
        {"epoch", epoch},
        {"batch_in_epoch", batch_in_epoch + (in_scope ? 1 : 0)},
        {"world_size", id.world_size},
        {"mixed_precision", config.mixed_precision()},
        {"gradient_accumulation_steps", accumulation},
        {"time", static_cast<int64_t>(std::time(nullptr))},
    };
    write_file_atomic(tmp + "/meta.json", meta.dump(2));
    write_file_atomic(tmp + "/COMPLETE", std::to_string(completed_steps) + "\n");
    commit_checkpoint(tmp, final_path);
    prune_checkpoints(dir, config.checkpoint_keep());
  }
  barrier("save_state (committed)");
  save_index = index;
  hooks->on_checkpoint(
      completed_steps,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return final_path;
}

bool Accelerator::Impl::load(const std::string& path) {
  if (!model) throw std::logic_error("Accelerator::load_state before prepare");
  std::string p = path;
  if (p.empty()) {
    auto latest = latest_checkpoint(config.checkpoint_dir());
    if (!latest) return false;
    p = latest->path;
  }
  if (!std::filesystem::exists(p + "/COMPLETE"))
    throw std::runtime_error("not a complete checkpoint: " + p);
  auto meta = nlohmann::json::parse(read_file(p + "/meta.json"));
  {
    torch::serialize::InputArchive ma;
    ma.load_from(p + "/model.pt");
    torch::NoGradGuard no_grad;
    for (auto& item : model->named_parameters()) {
      at::Tensor t;
      ma.read("param." + item.key(), t);
      item.value().copy_(t.to(item.value().device()));
    }
    for (auto& item : model->named_buffers()) {
      at::Tensor t;
      if (ma.try_read("buffer." + item.key(), t)) item.value().copy_(t.to(item.value().device()));
    }
  }
  // The C++ LR schedulers keep their step count privately: replay the steps first, then the
  // optimizer's saved state restores the learning rates they produced.
  const int64_t sched_steps = meta.value("scheduler_steps", int64_t{0});
  if (scheduler)
    for (int64_t i = 0; i < sched_steps; ++i) scheduler->step();
  {
    torch::serialize::InputArchive oa;
    oa.load_from(p + "/optimizer.pt", device);
    optimizer->load(oa);
  }
  if (scaler && std::filesystem::exists(p + "/scaler.pt")) {
    torch::serialize::InputArchive sa;
    sa.load_from(p + "/scaler.pt");
    at::Tensor st;
    sa.read("state", st);
    scaler->load_state(st);
  }
  const std::string rd = rank_dir(p, id.rank);
  if (std::filesystem::exists(rd + "/rng.pt")) {
    torch::serialize::InputArchive ra;
    ra.load_from(rd + "/rng.pt");
    at::Tensor st;
    ra.read("cpu", st);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(st);
    }
    at::Tensor cuda_state;
    if (device.is_cuda() && ra.try_read("cuda", cuda_state)) {
      auto cg = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(cg.mutex());
      cg.set_state(cuda_state);
    }
  } else {
    std::cerr << "[accel] rank " << id.rank << ": checkpoint " << p
              << " has no RNG state for this rank (world size changed?); keeping the seed\n";
  }
  for (auto& [name, c] : custom) {
    const std::string f = p + "/custom_" + name + ".bin";
    if (std::filesystem::exists(f)) c.load(read_file(f));
  }
  completed_steps = meta.value("step", int64_t{0});
  scheduler_steps = sched_steps;
  save_index = meta.value("save_index", int64_t{0});
  epoch = meta.value("epoch", int64_t{0});
  batch_in_epoch = meta.value("batch_in_epoch", int64_t{0});
  position_restored = true;
  if (id.rank == 0)
    std::cout << "[accel] resumed from " << p << " (step " << completed_steps << ", epoch " << epoch
              << ", batch " << batch_in_epoch << ")" << std::endl;
  hooks->on_resumed(completed_steps);
  return true;
}

}  // namespace accel
