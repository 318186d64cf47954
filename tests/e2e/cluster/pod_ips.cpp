// pod_ips.cpp — see pod_ips.h.
#include "pod_ips.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stdexcept>

namespace accel::testing {

PodIpBlock::PodIpBlock(const std::string& lock_dir, int first_octet) {
  if (::mkdir(lock_dir.c_str(), 0777) == 0) ::chmod(lock_dir.c_str(), 0777);  // all users share it
  const int start = ((first_octet - kFirstOctet) % kOctets + kOctets) % kOctets;
  for (int i = 0; i < kOctets; ++i) {
    const int octet = kFirstOctet + (start + i) % kOctets;
    const std::string path = lock_dir + "/127." + std::to_string(octet) + ".lock";
    // Deliberately without O_CLOEXEC: see the header.
    const int fd = ::open(path.c_str(), O_RDWR | O_CREAT, 0666);
    if (fd < 0) throw std::runtime_error("pod IPs: cannot open " + path);
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      fd_ = fd;
      octet_ = octet;
      return;
    }
    ::close(fd);
  }
  throw std::runtime_error("pod IPs: every block 127." + std::to_string(kFirstOctet) + "-" +
                           std::to_string(kFirstOctet + kOctets - 1) +
                           ".0.0/16 is claimed by a live process (" + lock_dir + ")");
}

PodIpBlock::~PodIpBlock() {
  if (fd_ >= 0) ::close(fd_);
}

PodIpBlock& PodIpBlock::of_this_process() {
  static PodIpBlock block("/tmp/accel-pod-ips",
                          kFirstOctet + static_cast<int>(::getpid()) % kOctets);
  return block;
}

std::string PodIpBlock::prefix() const { return "127." + std::to_string(octet_) + "."; }

std::string PodIpBlock::next() {
  std::lock_guard<std::mutex> lock(mu_);
  if (next_ >= kAddresses)
    throw std::runtime_error("pod IPs: all " + std::to_string(kAddresses) + " addresses of " +
                             prefix() + "0.0/16 are used");
  const int n = next_++;
  return prefix() + std::to_string(n / 250) + "." + std::to_string(n % 250 + 2);
}

}  // namespace accel::testing
