// A stand-in for systemd's notify socket in tests: a unix datagram socket in a private temporary
// directory; NOTIFY_SOCKET=path() makes sd_notify(3) send there. Header-only, test use only.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace healthtwin::ble::testing {

class NotifySocket {
 public:
  NotifySocket() {
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path().string() + "/ht-notify-" + std::to_string(getpid()) + "-" +
           std::to_string(counter++);
    std::filesystem::create_directories(dir_);
    path_ = dir_ + "/notify.sock";
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    bound_ = bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{.tv_sec = 0, .tv_usec = 200'000};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~NotifySocket() {
    close(fd_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }
  const std::string& path() const { return path_; }
  // The next datagram, or "" when none arrives within 200 ms.
  std::string Receive() {
    char buf[4096];
    const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
  bool bound_ = false;
};

}  // namespace healthtwin::ble::testing
