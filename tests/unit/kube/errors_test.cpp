// Error mapping (status code + Status body -> typed exception that keeps the server's
// message), Retry-After parsing, watch-event parsing, query encoding and resource paths.
#include <gtest/gtest.h>

#include "accel/kube/client.h"
#include "accel/kube/errors.h"
#include "accel/kube/resource.h"
#include "accel/kube/watch.h"

namespace accel::kube {
namespace {

template <typename E>
E rethrow_as(std::exception_ptr p) {
  try {
    std::rethrow_exception(p);
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "wrong exception type: " << e.what();
  }
  throw std::logic_error("unreachable");
}

TEST(ApiErrorMapping, NotFoundKeepsReasonAndMessage) {
  auto e = rethrow_as<NotFoundError>(make_api_error(
      404, "Not Found",
      R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"configmaps \"x\" not found","reason":"NotFound","code":404})",
      "GET /api/v1/namespaces/default/configmaps/x"));
  EXPECT_EQ(e.code(), 404);
  EXPECT_EQ(e.kind(), ErrorKind::NotFound);
  EXPECT_EQ(e.reason(), "NotFound");
  EXPECT_EQ(e.server_message(), "configmaps \"x\" not found");
  EXPECT_EQ(std::string(e.what()),
            "GET /api/v1/namespaces/default/configmaps/x: 404 NotFound: configmaps \"x\" not found");
}

TEST(ApiErrorMapping, EachCodeGetsItsSubclass) {
  EXPECT_NO_THROW(rethrow_as<ConflictError>(make_api_error(409, "Conflict", "", "r")));
  EXPECT_NO_THROW(rethrow_as<GoneError>(make_api_error(410, "Gone", "", "r")));
  EXPECT_NO_THROW(rethrow_as<InvalidError>(make_api_error(422, "Unprocessable", "", "r")));
  EXPECT_NO_THROW(rethrow_as<TooManyRequestsError>(make_api_error(429, "Too Many", "", "r")));
  EXPECT_NO_THROW(rethrow_as<ServerError>(make_api_error(503, "Unavailable", "", "r")));
  auto other = rethrow_as<ApiError>(make_api_error(403, "Forbidden", "", "r"));
  EXPECT_EQ(other.kind(), ErrorKind::Forbidden);
  EXPECT_EQ(error_kind_for_status(401), ErrorKind::Unauthorized);
  EXPECT_EQ(error_kind_for_status(599), ErrorKind::ServerError);
  EXPECT_EQ(error_kind_for_status(418), ErrorKind::Other);
}

TEST(ApiErrorMapping, InvalidKeepsTheFieldTheServerNamed) {
  auto e = rethrow_as<InvalidError>(make_api_error(
      422, "Unprocessable Entity",
      R"({"kind":"Status","status":"Failure","message":"ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\"","reason":"Invalid","code":422})",
      "POST /api/v1/namespaces/default/configmaps"));
  EXPECT_NE(e.server_message().find("metadata.name"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("metadata.name: Invalid value"), std::string::npos);
}

TEST(ApiErrorMapping, AlreadyExistsIsAConflictWithItsReason) {
  auto e = rethrow_as<ConflictError>(make_api_error(
      409, "Conflict", R"({"kind":"Status","reason":"AlreadyExists","message":"exists","code":409})",
      "POST /x"));
  EXPECT_EQ(e.reason(), "AlreadyExists");
}

TEST(ApiErrorMapping, NonStatusBodyIsKeptAsTheMessage) {
  auto e = rethrow_as<ServerError>(make_api_error(502, "Bad Gateway", "upstream down\n", "GET /x"));
  EXPECT_EQ(e.reason(), "Bad Gateway");
  EXPECT_EQ(e.server_message(), "upstream down");
}

TEST(ApiErrorMapping, RetryAfterIsCarried) {
  auto e = rethrow_as<TooManyRequestsError>(make_api_error(429, "Too Many Requests", "", "GET /x", "7"));
  ASSERT_TRUE(e.retry_after());
  EXPECT_EQ(*e.retry_after(), std::chrono::seconds(7));
}

TEST(RetryAfter, ParsesDeltaSeconds) {
  EXPECT_EQ(parse_retry_after("3"), std::chrono::seconds(3));
  EXPECT_EQ(parse_retry_after(" 0 "), std::chrono::seconds(0));
}

TEST(RetryAfter, ParsesAnHttpDateRelativeToNow) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), std::chrono::seconds(10));
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), std::chrono::seconds(0));
}

TEST(RetryAfter, RejectsGarbage) {
  EXPECT_FALSE(parse_retry_after(""));
  EXPECT_FALSE(parse_retry_after("-1"));
  EXPECT_FALSE(parse_retry_after("soon"));
  EXPECT_FALSE(parse_retry_after("1.5"));
}

TEST(WatchEvents, ParsesEachTypeAndTheErrorCode) {
  auto added = parse_watch_event(R"({"type":"ADDED","object":{"metadata":{"name":"a"}}})");
  EXPECT_EQ(added.type, WatchEvent::Type::Added);
  EXPECT_EQ(added.object["metadata"]["name"], "a");
  EXPECT_EQ(parse_watch_event(R"({"type":"BOOKMARK","object":{"metadata":{}}})").type,
            WatchEvent::Type::Bookmark);
  auto err = parse_watch_event(
      R"json({"type":"ERROR","object":{"kind":"Status","message":"too old resource version: 1 (214)","reason":"Expired","code":410}})json");
  EXPECT_EQ(err.type, WatchEvent::Type::Error);
  EXPECT_EQ(watch_error_code(err), 410);
  EXPECT_EQ(watch_error_code(added), 0);
}

TEST(WatchEvents, RejectsUnknownTypesAndNonJson) {
  EXPECT_THROW(parse_watch_event(R"({"type":"RENAMED","object":{}})"), std::runtime_error);
  EXPECT_THROW(parse_watch_event("not json"), std::runtime_error);
  EXPECT_THROW(parse_watch_event(R"({"type":"ADDED"})"), std::runtime_error);
}

TEST(Query, EncodesSelectorsAndSkipsEmptyValues) {
  EXPECT_EQ(encode_query({{"labelSelector", "app=x,tier!=db"}, {"limit", ""}, {"watch", "1"}}),
            "?labelSelector=app%3Dx%2Ctier%21%3Ddb&watch=1");
  EXPECT_EQ(encode_query({}), "");
}

TEST(ResourcePaths, CoreGroupedNamespacedAndClusterScoped) {
  EXPECT_EQ(resources::config_maps().object_path("ns", "a"), "/api/v1/namespaces/ns/configmaps/a");
  EXPECT_EQ(resources::config_maps().collection_path(""), "/api/v1/configmaps");
  EXPECT_EQ(resources::leases().collection_path("kube-system"),
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases");
  EXPECT_EQ(resources::namespaces().object_path("", "x"), "/api/v1/namespaces/x");
  EXPECT_EQ(resources::leases().api_version(), "coordination.k8s.io/v1");
  EXPECT_THROW(resources::pods().object_path("", "p"), std::invalid_argument);
  EXPECT_THROW(resources::namespaces().collection_path("ns"), std::invalid_argument);
}

}  // namespace
}  // namespace accel::kube
