// client.h — typed-by-Resource calls on the Kubernetes REST API over HTTPS.
//
// Objects are nlohmann::json documents exactly as the API serves them. Every call has a
// timeout (ClientOptions::request_timeout, an inactivity bound on the connection) and throws
// ApiError subclasses (errors.h) for error answers or TransportError when there was none.
// Retries, bounded by ClientOptions::max_retries: 429 waits Retry-After (capped) or the
// backoff; 5xx waits a capped exponential backoff; a transport failure is retried only for
// GET (a write might have been applied). Thread-safe: one Client serves many threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "accel/kube/client_config.h"
#include "accel/kube/errors.h"
#include "accel/kube/resource.h"
#include "accel/kube/watch.h"

namespace accel::kube {

struct ClientOptions {
  std::chrono::milliseconds request_timeout{30000};
  int max_retries = 5;
  std::chrono::milliseconds retry_after_cap{10000};  // longest Retry-After honoured per retry
  std::chrono::milliseconds backoff_initial{200};    // 5xx / transport retry backoff
  std::chrono::milliseconds backoff_max{5000};
  std::string user_agent = "accel-operator";
};

struct ListOptions {
  std::string label_selector;    // "app=x,tier!=db"
  std::string field_selector;
  std::string resource_version;  // "" = most recent (quorum read)
  std::int64_t limit = 0;        // page size; 0 = server default (all)
  std::string continue_token;    // from the previous page's ListResult
};

struct ListResult {
  std::vector<nlohmann::json> items;
  std::string resource_version;  // of the list; start a watch from here
  std::string continue_token;    // "" when this was the last page
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;  // watch changes after this version
  int timeout_seconds = 300;     // server closes the stream after this; the client's
                                 // inactivity timeout is set 30 s above it
  bool allow_bookmarks = true;
};

enum class PatchType {
  Merge,           // application/merge-patch+json
  JsonPatch,       // application/json-patch+json (body is an array of operations)
  StrategicMerge,  // application/strategic-merge-patch+json (built-in types only)
  Apply,           // application/apply-patch+yaml (server-side apply; needs field_manager)
};

struct PatchOptions {
  std::string field_manager;  // required for Apply
  bool force = false;         // Apply: take ownership of conflicting fields
  std::string subresource;    // "" or "status"
};

struct DeleteOptions {
  std::string propagation_policy;                   // "", "Foreground", "Background", "Orphan"
  std::optional<std::int64_t> grace_period_seconds;
  std::string precondition_uid;                     // delete only this incarnation
  std::string precondition_resource_version;
};

class Client {
 public:
  // Throws std::invalid_argument (naming the field and config.source) when the server URL is
  // not https or a PEM (CA, client certificate, key) does not load.
  explicit Client(ClientConfig config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  const ClientConfig& config() const;

  nlohmann::json get(const Resource& r, const std::string& ns, const std::string& name);
  // One page (all items when options.limit is 0).
  ListResult list(const Resource& r, const std::string& ns, const ListOptions& options = {});
  // POST; `object` needs metadata.name (or generateName). Returns the created object.
  nlohmann::json create(const Resource& r, const std::string& ns, const nlohmann::json& object);
  // PUT to metadata.namespace/metadata.name. With metadata.resourceVersion set the server
  // refuses (ConflictError) when the object changed since it was read.
  nlohmann::json update(const Resource& r, const nlohmann::json& object);
  // PUT to the /status subresource (only .status is taken by the server).
  nlohmann::json update_status(const Resource& r, const nlohmann::json& object);
  nlohmann::json patch(const Resource& r, const std::string& ns, const std::string& name,
                       PatchType type, const nlohmann::json& patch,
                       const PatchOptions& options = {});
  // DELETE. Returns what the server answers (the object while finalizers/grace run, or a
  // Status). NotFoundError when already gone; ConflictError when a precondition fails.
  nlohmann::json remove(const Resource& r, const std::string& ns, const std::string& name,
                        const DeleteOptions& options = {});
  // Opens a watch (waits for the response headers; an error answer throws as above, e.g.
  // GoneError for a too-old resourceVersion that the server refuses up front).
  std::unique_ptr<Watch> watch(const Resource& r, const std::string& ns,
                               const WatchOptions& options = {});

  // The raw call the methods above share, for paths they do not cover. `path_and_query` is
  // already encoded. Returns the parsed body (null for an empty one).
  nlohmann::json request(const std::string& method, const std::string& path_and_query,
                         const std::optional<nlohmann::json>& body = std::nullopt,
                         const std::string& content_type = "application/json");

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "?a=1&b=x%3Dy" from pairs, skipping empty values; exposed for tests.
std::string encode_query(const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace accel::kube
