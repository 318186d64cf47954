#include "checkpoint_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace accel {

namespace {

const char kPrefix[] = "checkpoint_";

std::optional<int64_t> parse_step(const std::string& name) {
  if (name.rfind(kPrefix, 0) != 0) return std::nullopt;
  std::string digits = name.substr(sizeof(kPrefix) - 1);
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), ::isdigit)) return std::nullopt;
  return std::stoll(digits);
}

[[noreturn]] void fail(const std::string& what, const std::string& path) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

std::string checkpoint_path(const std::string& dir, int64_t step) {
  std::ostringstream s;
  s << dir << "/" << kPrefix << std::setw(8) << std::setfill('0') << step;
  return s.str();
}

std::string checkpoint_tmp_path(const std::string& dir, int64_t step) {
  return checkpoint_path(dir, step) + ".tmp";
}

std::vector<CheckpointEntry> list_checkpoints(const std::string& dir) {
  std::vector<CheckpointEntry> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory()) continue;
    auto step = parse_step(e.path().filename().string());
    if (!step) continue;
    if (!fs::exists(e.path() / "COMPLETE")) continue;
    out.push_back({*step, e.path().string()});
  }
  std::sort(out.begin(), out.end(),
            [](const CheckpointEntry& a, const CheckpointEntry& b) { return a.step < b.step; });
  return out;
}

std::optional<CheckpointEntry> latest_checkpoint(const std::string& dir) {
  auto all = list_checkpoints(dir);
  if (all.empty()) return std::nullopt;
  return all.back();
}

void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("cannot open", path);
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync failed for", path);
  }
  ::close(fd);
}

void write_file_atomic(const std::string& path, const std::string& data) {
  std::string part = path + ".part";
  int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail("cannot create", part);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      fail("write failed for", part);
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    fail("fsync failed for", part);
  }
  ::close(fd);
  if (::rename(part.c_str(), path.c_str()) != 0) fail("rename failed for", part);
  fsync_path(fs::path(path).parent_path().string());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw std::runtime_error("cannot create folder " + path + ": " + ec.message());
}

void remove_all(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) throw std::runtime_error("cannot remove " + path + ": " + ec.message());
}

void commit_checkpoint(const std::string& tmp, const std::string& final_path) {
  fsync_path(tmp);
  std::error_code ec;
  if (fs::exists(final_path, ec)) remove_all(final_path);  // a save of the same step again
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) fail("rename failed for", tmp);
  fsync_path(fs::path(final_path).parent_path().string());
}

void prune_checkpoints(const std::string& dir, int keep) {
  auto all = list_checkpoints(dir);
  for (size_t i = 0; keep > 0 && all.size() > static_cast<size_t>(keep) &&
                     i < all.size() - static_cast<size_t>(keep);
       ++i)
    remove_all(all[i].path);
  std::error_code ec;
  for (auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.rfind(kPrefix, 0) == 0 && name.size() > 4 && name.substr(name.size() - 4) == ".tmp")
      remove_all(e.path().string());
  }
}

}  // namespace accel
