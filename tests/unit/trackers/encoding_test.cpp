// The byte formats of the file trackers, pinned to known vectors.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "accel/tracking/encoding.h"

using namespace accel::tracking;

namespace {
std::string bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}
uint32_t le32(const std::string& s, size_t at) {
  return uint32_t(uint8_t(s[at])) | uint32_t(uint8_t(s[at + 1])) << 8 |
         uint32_t(uint8_t(s[at + 2])) << 16 | uint32_t(uint8_t(s[at + 3])) << 24;
}
}  // namespace

TEST(Crc32c, MatchesTheCastagnoliCheckValue) { EXPECT_EQ(crc32c("123456789"), 0xE3069283u); }

TEST(Crc32c, MatchesRfc3720VectorOf32Zeros) {
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Crc32c, OfNothingIsZero) { EXPECT_EQ(crc32c(""), 0u); }

TEST(MaskedCrc, RotatesRightBy15AndAddsTheTensorFlowConstant) {
  EXPECT_EQ(mask_crc32c(0), 0xa282ead8u);
  const uint32_t c = 0xE3069283u;
  EXPECT_EQ(mask_crc32c(c), ((c >> 15) | (c << 17)) + 0xa282ead8u);
  EXPECT_EQ(mask_crc32c(0x12345678u), 0x4F730F40u);  // rotr15 = 0xACF02468, + 0xa282ead8
}

TEST(Crc32Zlib, MatchesTheIeeeCheckValueAndContinues) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32("56789", crc32("1234")), 0xCBF43926u);
}

TEST(ProtoWriter, EncodesVarintsLikeTheProtobufDocs) {
  std::string s;
  ProtoWriter::append_varint(s, 1);
  EXPECT_EQ(s, bytes({0x01}));
  s.clear();
  ProtoWriter::append_varint(s, 150);
  EXPECT_EQ(s, bytes({0x96, 0x01}));
  s.clear();
  ProtoWriter::append_varint(s, 300);
  EXPECT_EQ(s, bytes({0xAC, 0x02}));
  s.clear();
  ProtoWriter::append_varint(s, static_cast<uint64_t>(int64_t{-1}));
  EXPECT_EQ(s, bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}));
}

TEST(ProtoWriter, WritesTagsWithFieldNumberAndWireType) {
  EXPECT_EQ(ProtoWriter().varint(1, 150).data(), bytes({0x08, 0x96, 0x01}));
  EXPECT_EQ(ProtoWriter().bytes(2, "testing").data(),
            bytes({0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g'}));
  EXPECT_EQ(ProtoWriter().double_(1, 1.0).data(),
            bytes({0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F}));
  EXPECT_EQ(ProtoWriter().float_(2, 1.0f).data(), bytes({0x15, 0, 0, 0x80, 0x3F}));
  EXPECT_EQ(ProtoWriter().varint(16, 1).data(), bytes({0x80, 0x01, 0x01}));  // two-byte tag
  EXPECT_EQ(ProtoWriter().sint64_zigzag(1, -1).data(), bytes({0x08, 0x01}));
}

TEST(ProtoWriter, NestsMessagesAsLengthDelimitedFields) {
  ProtoWriter inner;
  inner.varint(1, 150);
  EXPECT_EQ(ProtoWriter().message(3, inner).data(), bytes({0x1A, 0x03, 0x08, 0x96, 0x01}));
  EXPECT_EQ(ProtoWriter().message(2, ProtoWriter()).data(), bytes({0x12, 0x00}));
}

TEST(TfRecord, FramesLengthCrcDataCrc) {
  const std::string data = "hello";
  const std::string rec = tfrecord_frame(data);
  ASSERT_EQ(rec.size(), 8 + 4 + data.size() + 4);
  EXPECT_EQ(rec.substr(0, 8), bytes({5, 0, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(le32(rec, 8), mask_crc32c(crc32c(rec.substr(0, 8))));
  EXPECT_EQ(rec.substr(12, 5), data);
  EXPECT_EQ(le32(rec, 17), mask_crc32c(crc32c(data)));
}

TEST(TfRecord, FramesAnEmptyRecord) {
  const std::string rec = tfrecord_frame("");
  ASSERT_EQ(rec.size(), 16u);
  EXPECT_EQ(le32(rec, 12), mask_crc32c(0));
}

TEST(WandbLog, FileHeaderIsMagicBee1Version0) {
  EXPECT_EQ(WandbLogFramer::file_header(), bytes({':', 'W', '&', 'B', 0xE1, 0xBE, 0x00}));
}

TEST(WandbLog, SmallRecordIsOneFullChunkAfterTheFileHeader) {
  WandbLogFramer f;
  const std::string out = f.frame("abc");
  ASSERT_EQ(out.size(), 7u + 3u);
  EXPECT_EQ(le32(out, 0), crc32("abc", crc32(bytes({1}))));
  EXPECT_EQ(out.substr(4, 3), bytes({3, 0, WandbLogFramer::kFull}));
  EXPECT_EQ(out.substr(7), "abc");
  EXPECT_EQ(f.offset(), 7u + 10u);
}

TEST(WandbLog, RecordCrossingBlocksSplitsIntoFirstMiddleLast) {
  WandbLogFramer f;  // at offset 7: the first block has 32768 - 7 - 7 bytes of room
  const size_t room0 = WandbLogFramer::kBlockSize - 7 - 7;
  const size_t room = WandbLogFramer::kBlockSize - 7;
  std::string record(room0 + room + 10, 'x');
  for (size_t i = 0; i < record.size(); ++i) record[i] = static_cast<char>('a' + i % 26);
  const std::string out = f.frame(record);
  ASSERT_EQ(out.size(), 3 * 7 + record.size());
  // FIRST fills block 0 exactly.
  EXPECT_EQ(out[6], WandbLogFramer::kFirst);
  EXPECT_EQ(uint8_t(out[4]) | uint8_t(out[5]) << 8, static_cast<int>(room0));
  EXPECT_EQ(le32(out, 0), crc32(record.substr(0, room0), crc32(bytes({2}))));
  // MIDDLE fills block 1 exactly; it starts at file offset 32768.
  const size_t m = 7 + room0;  // position in `out` (the file offset minus the 7-byte header)
  EXPECT_EQ(m + 7, WandbLogFramer::kBlockSize);
  EXPECT_EQ(out[m + 6], WandbLogFramer::kMiddle);
  EXPECT_EQ(uint8_t(out[m + 4]) | uint8_t(out[m + 5]) << 8, static_cast<int>(room));
  // LAST holds the 10 remaining bytes at the start of block 2.
  const size_t l = m + 7 + room;
  EXPECT_EQ(out[l + 6], WandbLogFramer::kLast);
  EXPECT_EQ(uint8_t(out[l + 4]), 10);
  EXPECT_EQ(out.substr(l + 7), record.substr(room0 + room));
  EXPECT_EQ(le32(out, l), crc32(record.substr(room0 + room), crc32(bytes({4}))));
}

TEST(WandbLog, ZeroPadsABlockTailTooShortForAHeader) {
  // Leave 5 bytes in the block: the framer pads them and starts the chunk in the next block.
  WandbLogFramer f(WandbLogFramer::kBlockSize - 5);
  const std::string out = f.frame("z");
  ASSERT_EQ(out.size(), 5u + 7u + 1u);
  EXPECT_EQ(out.substr(0, 5), std::string(5, '\0'));
  EXPECT_EQ(out[5 + 6], WandbLogFramer::kFull);
  EXPECT_EQ(f.offset(), WandbLogFramer::kBlockSize + 8);
}

TEST(WandbLog, ExactlyAHeaderLeftStartsWithAnEmptyFirstChunk) {
  WandbLogFramer f(WandbLogFramer::kBlockSize - 7);
  const std::string out = f.frame("ab");
  ASSERT_EQ(out.size(), 7u + 7u + 2u);
  EXPECT_EQ(out[4], 0);
  EXPECT_EQ(out[6], WandbLogFramer::kFirst);
  EXPECT_EQ(out[7 + 6], WandbLogFramer::kLast);
}

TEST(JsonNumber, WritesShortestRoundTripAndPythonsNonFiniteSpellings) {
  EXPECT_EQ(json_number(0.5), "0.5");
  EXPECT_EQ(json_number(3), "3");
  EXPECT_EQ(json_number(0.1), "0.1");
  EXPECT_EQ(std::stod(json_number(1.0 / 3)), 1.0 / 3);
  EXPECT_EQ(json_number(std::nan("")), "NaN");
  EXPECT_EQ(json_number(std::numeric_limits<double>::infinity()), "Infinity");
  EXPECT_EQ(json_number(-std::numeric_limits<double>::infinity()), "-Infinity");
}
