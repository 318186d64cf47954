// scripted_https_server.h — an HTTPS server on 127.0.0.1 that answers each request with the
// next status of a script (then 200), for the client's retry tests.
//
// Threads owned by the object do all the socket and TLS work, one accepting and one per
// connection, every wait bounded by 50 ms polls so that a stop is seen at once. The destructor
// stops and joins them all, so nothing is read, answered or touched after it returns, whatever
// the client still has open. (The cpprestsdk http_listener used before closes its connections from
// the closing thread while its pool threads may still be reading or answering on them: a data race
// on the socket and its TLS stream at every teardown.)
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace accel::kube::testing {

class ScriptedHttpsServer {
 public:
  // One scripted answer: its status, and its Retry-After header ("" for none).
  struct Answer {
    int status;
    std::string retry_after;
  };

  // Listens on 127.0.0.1 (a port the kernel picks, held from here on) with the certificate
  // chain and key of the PEM files. Throws std::runtime_error when TLS cannot be set up.
  ScriptedHttpsServer(const std::string& cert_file, const std::string& key_file,
                      std::vector<Answer> script);
  ~ScriptedHttpsServer();
  ScriptedHttpsServer(const ScriptedHttpsServer&) = delete;
  ScriptedHttpsServer& operator=(const ScriptedHttpsServer&) = delete;

  // https://127.0.0.1:PORT
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_); }
  // Requests answered so far.
  int calls() const { return calls_.load(); }

 private:
  void serve();
  void serve_connection(int fd);
  std::string answer_next();

  std::vector<Answer> script_;
  std::mutex mu_;        // answers are numbered one at a time
  void* tls_ = nullptr;  // SSL_CTX*, kept out of this header
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<int> calls_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;  // accepts; last: started once everything above is set
};

}  // namespace accel::kube::testing
