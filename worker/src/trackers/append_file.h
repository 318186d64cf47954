// append_file.h — an append-only file whose appends are all-or-nothing: a write that fails
// part-way (disk full, I/O error) is cut back to the last complete append and reported as a
// retryable TrackerError, so the hub's retry never leaves a torn record behind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace accel::tracking {

class AppendFile {
 public:
  AppendFile() = default;
  ~AppendFile();
  AppendFile(AppendFile&& other) noexcept;
  AppendFile& operator=(AppendFile&& other) noexcept;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Opens (creating, mode 0644) `path` for appending; creates missing parent directories.
  // Throws TrackerError (retryable) naming the path and the OS error.
  void open(const std::string& path);
  bool is_open() const { return fd_ >= 0; }
  // Writes all of `bytes` to the OS (no fsync) or none of them; throws TrackerError.
  void append(std::string_view bytes);
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }
  void close();

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// Creates `dir` and its parents; throws TrackerError (retryable) naming it on failure.
void make_directories(const std::string& dir);
// Writes `content` to `path` through a temporary file and rename (readers never see half).
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace accel::tracking
