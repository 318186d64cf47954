// accel/tracking/encoding.h — the byte-level pieces the file trackers are built from:
// checksums, a minimal protocol-buffers writer, TFRecord framing and W&B's block log.
// Pure functions and value types, no I/O; public so that unit tests can pin them to known
// vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace accel::tracking {

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78): crc32c("123456789") == 0xE3069283.
uint32_t crc32c(std::string_view data);
// TensorFlow's masked CRC: ((crc >> 15) | (crc << 17)) + 0xa282ead8.
uint32_t mask_crc32c(uint32_t crc);
// zlib's CRC-32 (reflected polynomial 0xEDB88320): crc32("123456789") == 0xCBF43926.
// `seed` continues a previous result (crc32(a+b) == crc32(b, crc32(a))).
uint32_t crc32(std::string_view data, uint32_t seed = 0);

// Appends protocol-buffers wire format to a string. Only what the trackers need: varint,
// fixed32/fixed64 (float, double), and length-delimited fields (strings, bytes, sub-messages).
class ProtoWriter {
 public:
  static void append_varint(std::string& out, uint64_t v);

  ProtoWriter& varint(int field, uint64_t v);  // int32/int64/uint64/enum/bool (negatives: 10 bytes)
  ProtoWriter& sint64_zigzag(int field, int64_t v);
  ProtoWriter& fixed64(int field, uint64_t v);
  ProtoWriter& fixed32(int field, uint32_t v);
  ProtoWriter& double_(int field, double v);
  ProtoWriter& float_(int field, float v);
  ProtoWriter& bytes(int field, std::string_view v);  // string, bytes
  ProtoWriter& message(int field, const ProtoWriter& sub) { return bytes(field, sub.data()); }

  const std::string& data() const { return out_; }
  std::string take() { return std::move(out_); }

 private:
  void tag(int field, int wire_type);
  std::string out_;
};

// One TFRecord: uint64 length (LE) | masked crc32c(length bytes) | data | masked crc32c(data).
std::string tfrecord_frame(std::string_view data);

// W&B's transaction log ("LevelDB log" framing, wandb/sdk/internal/datastore.py):
// a 7-byte file header ":W&B" 0xBEE1(LE) version 0, then 32 KiB blocks. Each record chunk
// has a 7-byte header: uint32 zlib-crc32(type byte ‖ chunk data) (LE), uint16 length (LE),
// uint8 type (FULL=1, FIRST=2, MIDDLE=3, LAST=4). A block tail shorter than a header is
// zero-filled. The file header counts toward the first block.
class WandbLogFramer {
 public:
  static constexpr size_t kBlockSize = 32768;
  static constexpr size_t kHeaderSize = 7;
  enum ChunkType : uint8_t { kFull = 1, kFirst = 2, kMiddle = 3, kLast = 4 };

  // The 7 bytes every file starts with.
  static std::string file_header();
  // A framer positioned right after the file header (a new file).
  WandbLogFramer() : offset_(kHeaderSize) {}
  // A framer for a file that already holds `offset` bytes (its header included).
  explicit WandbLogFramer(uint64_t offset) : offset_(offset) {}

  // The bytes that append `record` at the current offset; advances the offset.
  std::string frame(std::string_view record);
  uint64_t offset() const { return offset_; }

 private:
  uint64_t offset_;
};

// The JSON text of a number: the shortest decimal that reads back as the same double
// ("0.5", "3", "1e-07"), and, like Python's json module, NaN, Infinity, -Infinity for the
// non-finite values (strict JSON has no spelling for them).
std::string json_number(double v);

}  // namespace accel::tracking
