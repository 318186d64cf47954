// Starts the real control plane (etcd + kube-apiserver built from source), then uses the real
// kubectl of the same version to create a namespace and read it back.
#include <gtest/gtest.h>

#include "control_plane.h"

namespace accel::testing {
namespace {

TEST(ControlPlaneSmoke, CreatesNamespaceAndReadsItBackWithKubectl) {
  ControlPlane cp;
  auto created = cp.kubectl({"create", "namespace", "accel-smoke"});
  ASSERT_TRUE(created.status.success()) << created.output;

  auto got = cp.kubectl({"get", "namespace", "accel-smoke", "-o", "jsonpath={.metadata.name}"});
  ASSERT_TRUE(got.status.success()) << got.output;
  EXPECT_EQ(got.output, "accel-smoke");

  auto version = cp.kubectl({"version", "-o", "json"});
  ASSERT_TRUE(version.status.success()) << version.output;
  EXPECT_NE(version.output.find("\"gitVersion\": \"v1.36"), std::string::npos) << version.output;
}

TEST(ControlPlaneSmoke, EnforcesRbacForAnUnprivilegedUser) {
  ControlPlane cp;
  // The admin may do anything; an impersonated user with no bindings may not list pods.
  auto allowed = cp.kubectl({"auth", "can-i", "list", "pods", "-A"});
  EXPECT_EQ(allowed.output.substr(0, 3), "yes") << allowed.output;
  auto denied = cp.kubectl({"auth", "can-i", "list", "pods", "-A", "--as=nobody"});
  EXPECT_EQ(denied.output.substr(0, 2), "no") << denied.output;
}

TEST(ControlPlaneSmoke, AcceptsBearerTokenAndVerifiesTheServingCertificate) {
  ControlPlane cp;
  auto r = run_command({cp.kubectl_path(), "--kubeconfig=" + cp.kubeconfig_token(), "get",
                        "namespace", "default", "-o", "name"});
  ASSERT_TRUE(r.status.success()) << r.output;
  EXPECT_EQ(r.output, "namespace/default\n");
  // Without the CA the TLS verification fails: verification is on.
  auto bad = run_command({cp.kubectl_path(), "--server=" + cp.server(), "--token=x",
                          "--certificate-authority=/etc/ssl/certs/ca-certificates.crt", "get",
                          "namespaces"});
  EXPECT_FALSE(bad.status.success());
  EXPECT_NE(bad.output.find("certificate"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace accel::testing
