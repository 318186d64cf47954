// checkpoint_state.cpp — Accelerator::save_state / load_state: the training state of every
// rank (model, optimizer, scheduler, scaler, RNG, counters, data position, registered extras)
// in the atomic checkpoint format of worker/CHECKPOINTS.md.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <torch/serialize.h>

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>

#include "accelerator_impl.h"
#include "checkpoint_io.h"
#include "checkpoint_manifest.h"
#include "accel/checkpoint_write_error.h"

namespace accel {

// --- checkpoints ----------------------------------------------------------------------------

namespace {

// Writes the archive to path + ".part" through a file descriptor of our own, then renames it.
// LibTorch's writer throws from its destructor (std::terminate) when a write of its own fails,
// so it never sees one: a failed write is remembered, the rest of the archive is discarded, and
// the error is thrown here with the file and the reason (ENOSPC, EFBIG, EDQUOT, ...).
void save_archive(torch::serialize::OutputArchive& a, const std::string& path) {
  const std::string part = path + ".part";
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("cannot write " + part + ": " + std::strerror(errno));
  int error = 0;
  a.save_to([&](const void* data, size_t n) -> size_t {
    for (size_t off = 0; error == 0 && off < n;) {
      const ssize_t w = ::write(fd, static_cast<const char*>(data) + off, n - off);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) error = errno;
      else off += static_cast<size_t>(w);
    }
    return n;
  });
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error != 0) throw std::runtime_error("cannot write " + part + ": " + std::strerror(error));
  if (std::rename(part.c_str(), path.c_str()) != 0)
    throw std::runtime_error("rename failed for " + path + ": " + std::strerror(errno));
}

// Runs `write`; returns what went wrong ("" = nothing).
template <typename F>
std::string attempt(F&& write) {
  try {
    write();
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string rank_dir(const std::string& ckpt, int rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "/rank_%05d", rank);
  return ckpt + buf;
}

}  // namespace

void Accelerator::Impl::write_checkpoint_files(const std::string& tmp) {
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
}

void Accelerator::Impl::write_manifest(const std::string& tmp, int64_t index) {
  nlohmann::json meta{
      {"format", 2},
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
  // Sizes of what rank 0 wrote, so that resume can tell a truncated file before reading it.
  nlohmann::json files = nlohmann::json::object();
  for (const auto& e : std::filesystem::directory_iterator(tmp))
    if (e.is_regular_file()) files[e.path().filename().string()] = e.file_size();
  meta["files"] = files;
  write_file_atomic(tmp + "/meta.json", meta.dump(2));
  write_file_atomic(tmp + "/COMPLETE", std::to_string(completed_steps) + "\n");
}

std::string Accelerator::Impl::save() {
  if (!model) throw std::logic_error("Accelerator::save_state before prepare");
  const auto t0 = std::chrono::steady_clock::now();
  const std::string dir = config.checkpoint_dir();
  const std::string tmp = checkpoint_tmp_path(dir, completed_steps);
  const std::string final_path = checkpoint_path(dir, completed_steps);
  const int64_t index = save_index + 1;
  ActivityScope saving(this, "checkpointing");
  barrier("save_state (enter)");
  // A write that fails (a full disk, a quota or file size limit, a folder not writable) is
  // voted on at each of the three points where the ranks would otherwise wait for each other,
  // so no rank waits for a peer that gave up; the partial save is removed and the previous
  // checkpoint stays the newest.
  std::string failed;
  auto vote = [&](const char* what) {
    if (all_ranks(what, failed.empty())) return;
    if (id.rank == 0) attempt([&] { remove_all(tmp); });
    const auto previous = latest_checkpoint(dir);
    throw CheckpointWriteError(
        "checkpoint of step " + std::to_string(completed_steps) + " not written: " +
        (failed.empty() ? "another rank could not write its part" : failed) + "; " +
        (previous ? "the previous checkpoint " + previous->path + " is intact"
                  : std::string("there is no previous checkpoint")));
  };
  if (id.rank == 0) failed = attempt([&] {
      make_dirs(dir);
      remove_all(tmp);
      make_dirs(tmp);
    });
  vote("save_state (prepare folder)");
  failed = attempt([&] { write_checkpoint_files(tmp); });
  vote("save_state (files written)");
  if (id.rank == 0) failed = attempt([&] {
      write_manifest(tmp, index);
      commit_checkpoint(tmp, final_path);
    });
  vote("save_state (committed)");
  if (id.rank == 0) prune_checkpoints(dir, config.checkpoint_keep());
  save_index = index;
  last_saved_step = completed_steps;
  hooks->on_checkpoint(
      completed_steps,
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return final_path;
}

namespace {

// Everything one checkpoint holds for this rank, read and checked before any of it is applied:
// a checkpoint that cannot be read whole changes nothing (resume then tries the previous one).
struct LoadedCheckpoint {
  nlohmann::json meta;
  CheckpointPosition position;
  std::vector<std::pair<std::string, at::Tensor>> params, buffers;
  torch::serialize::InputArchive optimizer;
  std::optional<at::Tensor> scaler;
  std::optional<at::Tensor> rng_cpu, rng_cuda;
  std::map<std::string, std::string> custom;
};

// Throws std::runtime_error saying what is wrong with the checkpoint.
LoadedCheckpoint read_checkpoint(const std::string& p, torch::nn::Module& model, bool want_scaler,
                                 int rank, const c10::Device& device,
                                 const std::vector<std::string>& custom_names) {
  namespace fs = std::filesystem;
  LoadedCheckpoint c;
  if (!fs::exists(p + "/COMPLETE")) throw std::runtime_error("no COMPLETE marker");
  c.meta = parse_checkpoint_manifest(read_file(p + "/meta.json"));
  check_manifest_files(c.meta, p);
  c.position = manifest_position(c.meta);
  auto archive = [&](torch::serialize::InputArchive& a, const std::string& file,
                     std::optional<c10::Device> to = std::nullopt) {
    try {
      a.load_from(p + "/" + file, to);
    } catch (const std::exception& e) {
      throw std::runtime_error(file + " cannot be read: " + c10::GetExceptionString(e));
    }
  };
  {
    torch::serialize::InputArchive ma;
    archive(ma, "model.pt");
    for (auto& item : model.named_parameters()) {
      at::Tensor t;
      if (!ma.try_read("param." + item.key(), t))
        throw std::runtime_error("model.pt has no parameter " + item.key());
      if (t.sizes() != item.value().sizes())
        throw std::runtime_error("model.pt's " + item.key() + " has another shape");
      c.params.emplace_back(item.key(), t);
    }
    for (auto& item : model.named_buffers()) {
      at::Tensor t;
      if (ma.try_read("buffer." + item.key(), t)) c.buffers.emplace_back(item.key(), t);
    }
  }
  archive(c.optimizer, "optimizer.pt", device);
  if (want_scaler && fs::exists(p + "/scaler.pt")) {
    torch::serialize::InputArchive sa;
    archive(sa, "scaler.pt");
    at::Tensor st;
    sa.read("state", st);
    c.scaler = st;
  }
  const std::string rd = rank_dir(p, rank);
  if (fs::exists(rd + "/rng.pt")) {
    torch::serialize::InputArchive ra;
    archive(ra, rd.substr(p.size() + 1) + "/rng.pt");
    at::Tensor st;
    if (!ra.try_read("cpu", st)) throw std::runtime_error("rng.pt has no CPU state");
    c.rng_cpu = st;
    at::Tensor cuda_state;
    if (ra.try_read("cuda", cuda_state)) c.rng_cuda = cuda_state;
  }
  for (const auto& name : custom_names) {
    const std::string f = p + "/custom_" + name + ".bin";
    if (fs::exists(f)) c.custom[name] = read_file(f);
  }
  return c;
}

}  // namespace

bool Accelerator::Impl::load(const std::string& path) {
  if (!model) throw std::logic_error("Accelerator::load_state before prepare");
  std::vector<std::string> custom_names;
  for (const auto& [name, c] : custom) custom_names.push_back(name);
  auto read = [&](const std::string& p) {
    return read_checkpoint(p, *model, scaler != nullptr, id.rank, device, custom_names);
  };
  std::optional<LoadedCheckpoint> loaded;
  std::string p = path;
  if (!p.empty()) {
    try {
      loaded = read(p);
    } catch (const std::exception& e) {
      throw std::runtime_error("checkpoint " + p + " cannot be loaded: " + e.what());
    }
  } else {
    // Resume: the newest checkpoint every rank can read whole; an unusable one is moved aside
    // (<name>.unusable, so no later save or resume trips on it) and the previous one is tried.
    auto candidates = list_checkpoints(config.checkpoint_dir());
    std::string skipped;
    for (auto it = candidates.rbegin(); it != candidates.rend() && !loaded; ++it) {
      std::string why;
      try {
        loaded = read(it->path);
      } catch (const std::exception& e) {
        why = e.what();
        loaded.reset();
      }
      if (all_ranks("resume (checkpoint check)", loaded.has_value())) {
        p = it->path;
        break;
      }
      loaded.reset();
      if (!why.empty() && id.rank != 0)  // rank 0's own reason is in its line below
        std::cerr << "[accel] rank " << id.rank << ": checkpoint " << it->path << " is unusable: " << why
                  << std::endl;
      barrier("resume (before moving an unusable checkpoint aside)");
      if (id.rank == 0) {
        std::error_code ec;
        std::filesystem::rename(it->path, it->path + ".unusable", ec);
        std::cerr << "[accel] checkpoint " << it->path << " is unusable"
                  << (why.empty() ? " on another rank" : ": " + why) << "; moved to " << it->path
                  << ".unusable; trying the previous one" << std::endl;
      }
      barrier("resume (after moving an unusable checkpoint aside)");
      skipped = it->path;
    }
    if (!loaded) {
      if (!skipped.empty())
        std::cerr << "[accel] rank " << id.rank << ": no usable checkpoint left in "
                  << config.checkpoint_dir() << "; starting from step 0" << std::endl;
      return false;
    }
  }
  LoadedCheckpoint& c = *loaded;
  {
    torch::NoGradGuard no_grad;
    auto params = model->named_parameters();
    for (auto& [name, t] : c.params) params[name].copy_(t.to(params[name].device()));
    auto buffers = model->named_buffers();
    for (auto& [name, t] : c.buffers) buffers[name].copy_(t.to(buffers[name].device()));
  }
  // The C++ LR schedulers keep their step count privately: replay the steps first, then the
  // optimizer's saved state restores the learning rates they produced.
  const CheckpointPosition& pos = c.position;
  const int64_t sched_steps = pos.scheduler_steps;
  if (scheduler)
    for (int64_t i = 0; i < sched_steps; ++i) scheduler->step();
  optimizer->load(c.optimizer);
  if (scaler && c.scaler) scaler->load_state(*c.scaler);
  if (c.rng_cpu) {
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(*c.rng_cpu);
    }
    if (device.is_cuda() && c.rng_cuda) {
      auto cg = at::globalContext().defaultGenerator(device);
      std::lock_guard<std::mutex> lock(cg.mutex());
      cg.set_state(*c.rng_cuda);
    }
  } else {
    std::cerr << "[accel] rank " << id.rank << ": checkpoint " << p
              << " has no RNG state for this rank (world size changed?); keeping the seed\n";
  }
  for (auto& [name, blob] : c.custom) custom[name].load(blob);
  completed_steps = pos.step;
  scheduler_steps = sched_steps;
  save_index = pos.save_index;
  epoch = pos.epoch;
  batch_in_epoch = pos.batch_in_epoch;
  position_restored = true;
  last_saved_step = completed_steps;
  if (id.rank == 0)
    std::cout << "[accel] resumed from " << p << " (step " << completed_steps << ", epoch " << epoch
              << ", batch " << batch_in_epoch << ")" << std::endl;
  hooks->on_resumed(completed_steps);
  return true;
}

}  // namespace accel
