// The e2e node agent (node_agent.h) on its own, on a real kube-apiserver + etcd
// (tests/support/control_plane.h, no controllers): a pod bound to the agent's node by
// spec.nodeName runs as a host process (bash and sleep, no worker binaries).
#include "node_agent.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "accel/kube/client.h"
#include "accel/kube/log.h"
#include "control_plane.h"
#include "eventually.h"
#include "files.h"

namespace accel::testing {
namespace {

using json = nlohmann::json;

// Whether `pid` runs (a zombie has ended: it holds no socket any more).
bool runs(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  const auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z' &&
         stat[paren + 2] != 'X';
}

// A container's PID 1 ending ends everything in the container. `accel launch` starts each rank
// in a process group of its own, so the agent's signals to the pod's group never reach a rank:
// without the agent ending them, ranks outlived their pod (holding its ports, and rank 0 the
// rendezvous port every job's rank 0 binds on all interfaces).
TEST(NodeAgent, WhatAPodStartedInAProcessGroupOfItsOwnEndsWithThePodsMainProcess) {
  kube::set_log_sink(nullptr);
  ControlPlane cp;
  kube::Client client(kube::ClientConfig::from_kubeconfig(cp.kubeconfig()));
  const std::string dir = cp.dir() + "/agent";
  std::filesystem::create_directories(dir);
  NodeAgentOptions o;
  o.node_name = "agent-test-node";
  o.work_dir = dir;
  o.server = cp.server();
  o.ca_file = cp.ca_file();
  NodeAgent agent(client, o);

  const std::string ns = "agent-test", name = "leaves-a-child";
  client.create(kube::resources::namespaces(), "", {{"metadata", {{"name", ns}}}});
  const std::string pidfile = dir + "/child.pid";
  // The child: a session (and process group) of its own, its pid in `pidfile`.
  const std::string script = "setsid bash -c 'echo $$ > " + pidfile + ".tmp && mv " + pidfile +
                             ".tmp " + pidfile + " && exec sleep 600' & exec sleep 600";
  client.create(
      kube::resources::pods(), ns,
      {{"apiVersion", "v1"},
       {"kind", "Pod"},
       {"metadata", {{"name", name}, {"namespace", ns}}},
       {"spec",
        {{"nodeName", o.node_name},
         {"restartPolicy", "Never"},
         {"containers",
          json::array(
              {{{"name", "main"}, {"image", "busybox"}, {"command", {"bash", "-c", script}}}})}}}});
  ASSERT_TRUE(eventually([&] { return agent.pid_of(ns, name) && !read_file(pidfile).empty(); },
                         std::chrono::seconds(60)))
      << agent.all_logs();
  const pid_t child = std::stoi(read_file(pidfile));
  ASSERT_TRUE(runs(child));

  ASSERT_EQ(::kill(*agent.pid_of(ns, name), SIGKILL), 0);  // the main process only
  ASSERT_TRUE(eventually(
      [&] {
        json pod = client.get(kube::resources::pods(), ns, name);
        return pod.value("/status/phase"_json_pointer, std::string()) == "Failed";
      },
      std::chrono::seconds(30)))
      << agent.all_logs();
  // By the time the pod is reported ended.
  EXPECT_FALSE(runs(child)) << "pid " << child << " outlived its pod\n" << agent.all_logs();
  if (runs(child)) ::kill(child, SIGKILL);
}

}  // namespace
}  // namespace accel::testing
