// kubeconfig text as the operator reads it (ClientConfig::from_kubeconfig_text, which
// from_kubeconfig uses). The file's folder is one that does not exist, so a relative
// certificate-authority/client-key path fails to read instead of touching the machine. The
// contract: std::runtime_error for anything refused, nothing else escapes; an accepted config
// has a server without a trailing slash and both or neither of the client cert and key.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "accel/kube/client_config.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  accel::kube::ClientConfig c;
  try {
    c = accel::kube::ClientConfig::from_kubeconfig_text(text, "/nonexistent-accel-fuzz/config");
  } catch (const std::runtime_error&) {
    return 0;
  }
  FUZZ_CHECK(!c.server.empty() && c.server.back() != '/', "server is set, without trailing /");
  FUZZ_CHECK(c.client_cert_pem.empty() == c.client_key_pem.empty(), "cert and key together");
  return 0;
}
