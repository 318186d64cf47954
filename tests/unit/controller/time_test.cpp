// RFC 3339 text <-> Time, as status and pod timestamps need it.
#include <gtest/gtest.h>

#include "accel/controller/time.h"

namespace accel::op {
namespace {

TEST(Rfc3339, FormatsUtcWithWholeSeconds) {
  const Time t = Time(std::chrono::seconds(1735689600)) + std::chrono::milliseconds(999);
  EXPECT_EQ(format_rfc3339(t), "2025-01-01T00:00:00Z");
  EXPECT_EQ(format_rfc3339(Time(std::chrono::seconds(951782400))), "2000-02-29T00:00:00Z");
}

TEST(Rfc3339, ParsesWhatItFormatsAndWhatKubernetesWrites) {
  EXPECT_EQ(parse_rfc3339("2025-01-01T00:00:00Z"), Time(std::chrono::seconds(1735689600)));
  EXPECT_EQ(parse_rfc3339("2025-01-01T01:30:00+01:30"), Time(std::chrono::seconds(1735689600)));
  EXPECT_EQ(parse_rfc3339("2025-01-01T00:00:00.250000Z"),
            Time(std::chrono::seconds(1735689600)) + std::chrono::milliseconds(250));
  const Time t = *parse_rfc3339("2031-12-31T23:59:59Z");
  EXPECT_EQ(format_rfc3339(t), "2031-12-31T23:59:59Z");
}

TEST(Rfc3339, RejectsMalformedText) {
  for (const char* bad :
       {"", "2025-01-01", "2025-01-01 00:00:00Z", "2025-13-01T00:00:00Z", "2025-02-30T00:00:00Z",
        "2025-01-01T00:00:00", "2025-01-01T00:00:00Zjunk", "2025-01-01T00:00:00.Z"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
}

// Found by fuzzing: date::parse read a seconds field of ten digits as a NaN and converted it
// to an integer (undefined behaviour).
TEST(Rfc3339, RejectsOverlongFieldsBeforeParsing) {
  for (const char* bad : {"2025-01-02T03:0111111111", "2025-01-02T03:01:1111111111Z",
                          "2025-01-01T00:00:00.1234567890Z", "2025-01-01T00:00:00+0100",
                          "4050-01-02T03:06:00.123Z", "1600-01-01T00:00:00Z"})
    EXPECT_FALSE(parse_rfc3339(bad)) << bad;
  EXPECT_TRUE(parse_rfc3339("2025-01-01T00:00:00.123456789Z"));
  EXPECT_TRUE(parse_rfc3339("2025-01-01T01:00:00+01"));
}

TEST(CeilSeconds, RoundsPartialSecondsUp) {
  EXPECT_EQ(ceil_seconds(Duration(1)), 1);
  EXPECT_EQ(ceil_seconds(Duration(2000)), 2);
  EXPECT_EQ(ceil_seconds(Duration(-5)), 0);
}

}  // namespace
}  // namespace accel::op
