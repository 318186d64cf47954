// mlflow_rest.h — a small client for the MLflow tracking server's REST API (api/2.0/mlflow),
// over cpprestsdk. http and https; https verifies the server's certificate unless
// MLFLOW_TRACKING_INSECURE_TLS=true. Credentials come only from the environment
// (MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD) and never
// appear in an error message.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "accel/tracking.h"

namespace accel::tracking {

// A failed call. Retryable: no connection, timeout, HTTP 408/429/5xx. Permanent: other 4xx.
class MlflowError : public TrackerError {
 public:
  MlflowError(const std::string& message, bool permanent, int http_status, std::string error_code)
      : TrackerError(message, permanent), http_status_(http_status),
        error_code_(std::move(error_code)) {}
  int http_status() const { return http_status_; }       // 0: no HTTP response
  const std::string& error_code() const { return error_code_; }  // e.g. RESOURCE_DOES_NOT_EXIST

 private:
  int http_status_;
  std::string error_code_;
};

// How to authenticate to the server (MLflow's own MLFLOW_TRACKING_* variables).
struct MlflowAuth {
  std::string token;     // Bearer token, first choice
  std::string username;  // else Basic auth
  std::string password;
  bool insecure_tls = false;  // do not verify the server's certificate (off by default)
};

class MlflowRest {
 public:
  // `tracking_uri`: http(s)://host[:port][/prefix]. Throws std::invalid_argument for other
  // schemes, naming `source` (where the URI came from).
  MlflowRest(const std::string& tracking_uri, const std::string& source,
             std::chrono::milliseconds timeout, const MlflowAuth& auth = {});
  ~MlflowRest();

  // POST api/2.0/mlflow/<endpoint> with a JSON body; returns the JSON response.
  nlohmann::json post(const std::string& endpoint, const nlohmann::json& body);
  // GET api/2.0/mlflow/<endpoint>?<query>; returns the JSON response.
  nlohmann::json get(const std::string& endpoint, const std::map<std::string, std::string>& query);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace accel::tracking
