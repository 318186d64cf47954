#include "accel/tracking/encoding.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>

namespace accel::tracking {

namespace {

std::array<uint32_t, 256> make_table(uint32_t poly) {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[i] = c;
  }
  return t;
}

uint32_t reflected_crc(const std::array<uint32_t, 256>& table, std::string_view data,
                       uint32_t seed) {
  uint32_t c = ~seed;
  for (unsigned char b : data) c = table[(c ^ b) & 0xFF] ^ (c >> 8);
  return ~c;
}

void put_le(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

uint32_t crc32c(std::string_view data) {
  static const auto table = make_table(0x82F63B78u);
  return reflected_crc(table, data, 0);
}

uint32_t mask_crc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

uint32_t crc32(std::string_view data, uint32_t seed) {
  static const auto table = make_table(0xEDB88320u);
  return reflected_crc(table, data, seed);
}

// --- ProtoWriter --------------------------------------------------------------------------

void ProtoWriter::append_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void ProtoWriter::tag(int field, int wire_type) {
  append_varint(out_, (static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

ProtoWriter& ProtoWriter::varint(int field, uint64_t v) {
  tag(field, 0);
  append_varint(out_, v);
  return *this;
}

ProtoWriter& ProtoWriter::sint64_zigzag(int field, int64_t v) {
  return varint(field, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

ProtoWriter& ProtoWriter::fixed64(int field, uint64_t v) {
  tag(field, 1);
  put_le(out_, v, 8);
  return *this;
}

ProtoWriter& ProtoWriter::fixed32(int field, uint32_t v) {
  tag(field, 5);
  put_le(out_, v, 4);
  return *this;
}

ProtoWriter& ProtoWriter::double_(int field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return fixed64(field, bits);
}

ProtoWriter& ProtoWriter::float_(int field, float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return fixed32(field, bits);
}

ProtoWriter& ProtoWriter::bytes(int field, std::string_view v) {
  tag(field, 2);
  append_varint(out_, v.size());
  out_.append(v.data(), v.size());
  return *this;
}

// --- TFRecord -----------------------------------------------------------------------------

std::string tfrecord_frame(std::string_view data) {
  std::string out;
  out.reserve(data.size() + 16);
  put_le(out, data.size(), 8);
  put_le(out, mask_crc32c(crc32c(std::string_view(out.data(), 8))), 4);
  out.append(data.data(), data.size());
  put_le(out, mask_crc32c(crc32c(data)), 4);
  return out;
}

// --- W&B log framing ----------------------------------------------------------------------

std::string WandbLogFramer::file_header() {
  std::string h = ":W&B";
  put_le(h, 0xBEE1, 2);
  h.push_back('\0');  // version 0
  return h;
}

std::string WandbLogFramer::frame(std::string_view record) {
  std::string out;
  bool first = true;
  do {
    size_t left_in_block = kBlockSize - static_cast<size_t>(offset_ % kBlockSize);
    if (left_in_block < kHeaderSize) {  // no room for a chunk header: pad the tail
      out.append(left_in_block, '\0');
      offset_ += left_in_block;
      left_in_block = kBlockSize;
    }
    const size_t room = left_in_block - kHeaderSize;
    const size_t n = std::min(room, record.size());
    const bool last = n == record.size();
    const uint8_t type = first && last ? kFull : first ? kFirst : last ? kLast : kMiddle;
    const std::string_view chunk = record.substr(0, n);
    const char type_byte = static_cast<char>(type);
    const uint32_t crc = crc32(chunk, crc32(std::string_view(&type_byte, 1)));
    put_le(out, crc, 4);
    put_le(out, n, 2);
    out.push_back(type_byte);
    out.append(chunk.data(), chunk.size());
    offset_ += kHeaderSize + n;
    record.remove_prefix(n);
    first = false;
  } while (!record.empty());
  return out;
}

// --- JSON numbers -------------------------------------------------------------------------

std::string json_number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

}  // namespace accel::tracking
