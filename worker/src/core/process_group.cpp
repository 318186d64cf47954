#include "process_group.h"

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <cstdlib>

#include "gpu.h"

namespace accel {

namespace {

bool contains(const std::string& s, const char* needle) { return s.find(needle) != std::string::npos; }

c10::intrusive_ptr<c10d::Store> connect_store(const ProcessGroupOptions& o) {
  c10d::TCPStoreOptions so;
  so.port = static_cast<std::uint16_t>(o.master_port);
  so.isServer = o.rank == 0;
  so.numWorkers = static_cast<std::size_t>(o.world_size);
  so.waitWorkers = true;
  so.timeout = o.rendezvous_timeout;
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    // From here on, store operations (used by backends to exchange addresses) use the
    // collective timeout.
    store->setTimeout(o.timeout);
    return store;
  } catch (const std::exception& e) {
    std::string what = e.what();
    std::string where = o.master_addr + ":" + std::to_string(o.master_port);
    if (contains(what, "imed out") || contains(what, "timeout") || contains(what, "Timeout"))
      throw RendezvousTimeout("rendezvous at " + where + " did not complete within " +
                              std::to_string(o.rendezvous_timeout.count() / 1000) +
                              " s (world size " + std::to_string(o.world_size) + "): " + what);
    throw std::runtime_error("rendezvous at " + where + " failed: " + what);
  }
}

}  // namespace

bool is_collective_timeout(const std::exception& e) {
  std::string w = e.what();
  return contains(w, "imed out") || contains(w, "Timeout") || contains(w, "timeout") ||
         contains(w, "Connection closed by peer") || contains(w, "Connection reset") ||
         contains(w, "NCCL") || contains(w, "aborted");
}

DistributedContext init_process_group(const ProcessGroupOptions& o) {
  DistributedContext ctx;
  ctx.store = connect_store(o);
  auto prefix = c10::make_intrusive<c10d::PrefixStore>("default_pg/", ctx.store);
  ctx.group = c10::make_intrusive<c10d::ProcessGroup>(prefix, o.rank, o.world_size);

  // Gloo serves CPU tensors in every build (and the CUDA build's CPU-side collectives).
  auto gloo_opts = c10d::ProcessGroupGloo::Options::create(o.timeout);
  if (!o.gloo_interface.empty())
    gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(o.gloo_interface));
  else if (o.master_addr == "127.0.0.1" || o.master_addr == "localhost")
    gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  else
    gloo_opts->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  gloo_opts->threads = 2;
  auto gloo = c10::make_intrusive<c10d::ProcessGroupGloo>(
      c10::make_intrusive<c10d::PrefixStore>("gloo/", prefix), o.rank, o.world_size, gloo_opts);
  ctx.group->setBackend(c10::DeviceType::CPU, c10d::ProcessGroup::BackendType::GLOO, gloo);

  auto control_opts = c10d::ProcessGroupGloo::Options::create(o.timeout);
  control_opts->devices = gloo_opts->devices;
  control_opts->threads = 1;
  ctx.control = c10::make_intrusive<c10d::ProcessGroupGloo>(
      c10::make_intrusive<c10d::PrefixStore>("control/", ctx.store), o.rank, o.world_size, control_opts);

  if (o.backend == "nccl") {
    // NCCL's settings (async error handling, flight recorder) are already in the environment
    // (Accelerator applies nccl_environment()); the timeout goes to the backend's options.
    auto nccl = gpu::make_nccl_backend(c10::make_intrusive<c10d::PrefixStore>("nccl/", prefix),
                                       o.rank, o.world_size, o.timeout, o.device_index);
    ctx.group->setBackend(c10::DeviceType::CUDA, c10d::ProcessGroup::BackendType::NCCL, nccl);
    ctx.group->setDefaultBackend(c10d::ProcessGroup::BackendType::NCCL);
  } else {
    ctx.group->setDefaultBackend(c10d::ProcessGroup::BackendType::GLOO);
  }
  return ctx;
}

}  // namespace accel
