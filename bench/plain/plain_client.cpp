// accel-bench-plain-client — the API server's own limit for what Accel's operator does per job.
//
//   accel-bench-plain-client --kubeconfig=PATH --namespace=NS [--workers=N]
//
// Watches the AccelJobs of NS; for each new one, on one of N threads (the operator's --workers),
// writes its status once (a merge patch, as the operator's first write is), then creates its
// Service and its pods: the same objects the operator creates (controller/desired.h), through the
// same client (accel::kube). No pod or Service informers, no reconciler, no Events, no second
// status write: what is left when everything that is not a required request is taken away. The
// benchmark reports the operator's time to pods Running as a ratio of this client's.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "accel/api/acceljob.h"
#include "accel/controller/desired.h"
#include "accel/kube/client.h"
#include "accel/kube/client_config.h"
#include "accel/kube/errors.h"
#include "accel/kube/informer.h"
#include "accel/kube/work_queue.h"

namespace {

volatile std::sig_atomic_t g_stop = 0;

std::string flag(int argc, char** argv, const std::string& name, const std::string& fallback) {
  const std::string prefix = "--" + name + "=";
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], prefix.c_str(), prefix.size()) == 0) return argv[i] + prefix.size();
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace accel;
  const std::string ns = flag(argc, argv, "namespace", "");
  const int workers = std::atoi(flag(argc, argv, "workers", "4").c_str());
  const std::string kubeconfig = flag(argc, argv, "kubeconfig", "");
  if (ns.empty() || kubeconfig.empty() || workers < 1) {
    std::fprintf(stderr, "usage: %s --kubeconfig=PATH --namespace=NS [--workers=N]\n", argv[0]);
    return 2;
  }
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  std::signal(SIGINT, [](int) { g_stop = 1; });

  kube::Client client(kube::ClientConfig::from_kubeconfig(kubeconfig));
  const kube::Resource jobs{"accel.dev", "v1alpha1", "acceljobs", true, "AccelJob"};
  kube::Informer informer(client, jobs, ns);
  kube::WorkQueue queue;
  kube::InformerHandlers handlers;
  handlers.on_add = [&](const kube::ObjectPtr& o) { queue.add(kube::object_key(*o)); };
  informer.add_handlers(handlers);
  informer.start();
  informer.wait_for_sync(std::chrono::seconds(60));

  op::OperatorOptions options;
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&] {
      while (auto key = queue.get()) {
        try {
          auto object = informer.cache().get(*key);
          if (!object) continue;
          api::AccelJob job = object->get<api::AccelJob>();
          api::apply_defaults(job);
          const op::DesiredObjects want = op::desired(job, 0, options);
          kube::PatchOptions po;
          po.subresource = "status";
          client.patch(jobs, ns, job.metadata.name, kube::PatchType::Merge,
                       {{"status", {{"phase", "Starting"}, {"attempt", 0}}}}, po);
          auto create = [&](const kube::Resource& r, const nlohmann::json& o) {
            try {
              client.create(r, ns, o);
            } catch (const kube::ConflictError&) {  // AlreadyExists
            }
          };
          create(kube::resources::services(), want.service);
          for (const auto& pod : want.pods) create(kube::resources::pods(), pod);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "%s: %s\n", key->c_str(), e.what());
        }
        queue.done(*key);
      }
    });
  std::fprintf(stderr, "plain client ready: %d workers on namespace %s\n", workers, ns.c_str());
  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  queue.shut_down();
  for (auto& t : threads) t.join();
  informer.stop();
  return 0;
}
