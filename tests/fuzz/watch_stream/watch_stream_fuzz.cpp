// The watch stream as the operator reads it: the real HttpWatch (operator/kube/src/watch.cpp)
// over a response body that arrives in arbitrary chunks. Input: byte 0 is a seed for the chunk
// sizes (each 1..64 bytes), the rest is the body. The chunks are written into the body's
// buffer as cpprestsdk's HTTP client writes bytes off the socket, then it is closed. The contract: next() returns events or nullopt at the end, or throws std::runtime_error
// for a line that is not a watch event (the informer then restarts the watch); nothing else
// escapes, and the events do not depend on how the bytes were chunked.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <cpprest/http_client.h>
#include <cpprest/producerconsumerstream.h>

#include "accel/kube/watch.h"
#include "fuzz_check.h"
#include "http_watch.h"

namespace {

// Events (dumped) and how the stream ended: "end" or "error".
std::vector<std::string> read_all(const std::string& body, std::uint8_t seed, bool chunked) {
  concurrency::streams::producer_consumer_buffer<uint8_t> buf;
  web::http::http_response response(web::http::status_codes::OK);
  response.set_body(buf.create_istream());
  // Every chunk is in the buffer (one block each, synced) before the watch reads: the reads
  // cross block boundaries as they cross chunks off the socket, deterministically and without
  // a thread per input (which ran at ~90 inputs/s).
  std::uint32_t state = seed * 2654435761u + 1;
  for (size_t pos = 0; pos < body.size();) {
    state = state * 1103515245u + 12345u;
    const size_t n =
        chunked ? std::min<size_t>(body.size() - pos, 1 + (state >> 16) % 64) : body.size();
    buf.putn_nocopy(reinterpret_cast<const uint8_t*>(body.data()) + pos, n).get();
    buf.sync().get();
    pos += n;
  }
  buf.close(std::ios_base::out).get();
  accel::kube::detail::HttpWatch watch(
      std::make_unique<web::http::client::http_client>(U("http://127.0.0.1:1")), response,
      pplx::cancellation_token_source(), "GET /fuzz?watch=1");
  std::vector<std::string> out;
  try {
    while (auto ev = watch.next()) {
      out.push_back(std::string(accel::kube::to_string(ev->type)) + " " + ev->object.dump());
      (void)accel::kube::watch_error_code(*ev);
    }
    out.push_back("end");
  } catch (const std::runtime_error&) {
    out.push_back("error");
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto chunked = read_all(body, data[0], true);
  const auto whole = read_all(body, data[0], false);
  FUZZ_CHECK(chunked == whole, "the events do not depend on the chunking");
  return 0;
}
