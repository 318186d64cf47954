#include "append_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include "accel/tracking.h"

namespace accel::tracking {

namespace {
std::string os_error(int err) { return std::strerror(err); }
}  // namespace

AppendFile::~AppendFile() { close(); }

AppendFile::AppendFile(AppendFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), path_(std::move(other.path_)) {}

AppendFile& AppendFile::operator=(AppendFile&& other) noexcept {
  if (this != &other) {
    close();
    fd_ = std::exchange(other.fd_, -1);
    size_ = other.size_;
    path_ = std::move(other.path_);
  }
  return *this;
}

void AppendFile::open(const std::string& path) {
  close();
  make_directories(std::filesystem::path(path).parent_path().string());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) throw TrackerError("cannot open " + path + " for appending: " + os_error(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw TrackerError("cannot stat " + path + ": " + os_error(err));
  }
  fd_ = fd;
  size_ = static_cast<uint64_t>(st.st_size);
  path_ = path;
}

void AppendFile::append(std::string_view bytes) {
  if (fd_ < 0) throw TrackerError("internal: append to a file that is not open");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = n < 0 ? errno : EIO;
      // Cut back to the last complete append so that a retry writes whole records only.
      if (done > 0 && ::ftruncate(fd_, static_cast<off_t>(size_)) != 0) {
        const int terr = errno;
        throw TrackerError("cannot write " + path_ + ": " + os_error(err) +
                               "; cutting the partial write back also failed: " + os_error(terr),
                           /*permanent=*/true);
      }
      throw TrackerError("cannot write " + path_ + ": " + os_error(err));
    }
    done += static_cast<size_t>(n);
  }
  size_ += bytes.size();
}

void AppendFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void make_directories(const std::string& dir) {
  if (dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw TrackerError("cannot create directory " + dir + ": " + ec.message());
}

void write_file_atomically(const std::string& path, std::string_view content) {
  const std::string tmp = path + ".tmp";
  AppendFile f;
  ::unlink(tmp.c_str());
  f.open(tmp);
  f.append(content);
  f.close();
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    throw TrackerError("cannot rename " + tmp + " to " + path + ": " + os_error(errno));
}

}  // namespace accel::tracking
