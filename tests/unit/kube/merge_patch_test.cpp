// merge_patch_between(): the patch the operator sends for a status change, checked by applying
// it with nlohmann::json's own RFC 7386 implementation.
#include <gtest/gtest.h>

#include "accel/kube/merge_patch.h"

namespace accel::kube {
namespace {

using nlohmann::json;

json applied(json from, const json& patch) {
  from.merge_patch(patch);
  return from;
}

TEST(MergePatchBetween, NothingChangedIsAnEmptyPatch) {
  const json s = {{"phase", "Running"}, {"attempt", 0}, {"conditions", json::array({{{"type", "A"}}})}};
  EXPECT_EQ(merge_patch_between(s, s), json::object());
}

TEST(MergePatchBetween, CarriesOnlyWhatChangedAndTurnsIntoTheNewDocument) {
  const json from = {{"phase", "Starting"},
                     {"attempt", 0},
                     {"startTime", "2026-12-02T08:00:00Z"},
                     {"lastFailure", {{"reason", "Evicted"}, {"disruption", true}}},
                     {"conditions", json::array({{{"type", "Created"}, {"status", "True"}}})}};
  const json to = {{"phase", "Running"},
                   {"attempt", 0},
                   {"lastFailure", {{"reason", "Evicted"}}},
                   {"conditions", json::array({{{"type", "Created"}, {"status", "True"}},
                                               {{"type", "Running"}, {"status", "True"}}})}};
  const json patch = merge_patch_between(from, to);
  EXPECT_EQ(patch["phase"], "Running");
  EXPECT_FALSE(patch.contains("attempt"));                    // unchanged: not sent
  EXPECT_TRUE(patch["startTime"].is_null());                  // gone: removed
  EXPECT_EQ(patch["lastFailure"], json({{"disruption", nullptr}}));  // nested: only the change
  EXPECT_EQ(patch["conditions"].size(), 2u);                  // arrays are replaced whole
  EXPECT_EQ(applied(from, patch), to);
}

TEST(MergePatchBetween, ANullInTheNewDocumentRemovesTheMember) {
  const json from = {{"a", 1}, {"b", 2}};
  const json to = {{"a", 1}, {"b", nullptr}};
  EXPECT_EQ(merge_patch_between(from, to), json({{"b", nullptr}}));
  EXPECT_EQ(applied(from, merge_patch_between(from, to)), json({{"a", 1}}));
}

TEST(MergePatchBetween, AnObjectReplacingAScalarIsSentWhole) {
  const json from = {{"x", 5}};
  const json to = {{"x", {{"y", 1}}}};
  EXPECT_EQ(merge_patch_between(from, to), json({{"x", {{"y", 1}}}}));
  EXPECT_EQ(applied(from, merge_patch_between(from, to)), to);
}

}  // namespace
}  // namespace accel::kube
