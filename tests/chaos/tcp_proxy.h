// A TCP forwarder of our own between two local endpoints, for fault injection: the chaos
// harness puts it between the bridge and ingest and stalls or cuts the uplink's network path
// without touching either process. The bytes it carries (TLS records here) pass unchanged, so
// both ends see a real, if unreliable, network.
//
//   Pause()   stops reading from both sides: data waits in the kernel buffers and then the
//             senders' windows close, as on a stalled link. New connections are accepted but
//             carry nothing. Resume() lets it all flow again.
//   Reset()   closes every open connection with a TCP RST (SO_LINGER 0), as a middlebox or a
//             NAT that forgets its state does.
//   SetTarget() points new connections at another port (the target restarted elsewhere).
//
// Ownership: the proxy owns its listening socket, its connections and its threads; the
// destructor closes them and joins. Thread safety: every public method may be called from any
// thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::chaos {

class TcpProxy {
 public:
  // Listens on 127.0.0.1 on a free port and forwards every connection to 127.0.0.1:target_port.
  static absl::StatusOr<std::unique_ptr<TcpProxy>> Start(uint16_t target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  void SetTarget(uint16_t target_port) { target_port_ = target_port; }
  void Pause() { paused_ = true; }
  void Resume() { paused_ = false; }
  // Closes every connection open now with RST; returns how many were closed.
  int Reset();
  // Connections accepted so far.
  uint64_t accepted() const { return accepted_; }

 private:
  struct Pair {
    int client = -1;
    int upstream = -1;
    std::atomic<bool> closed{false};
  };

  TcpProxy() = default;
  void AcceptLoop();
  void Pump(std::shared_ptr<Pair> pair);

  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<uint16_t> target_port_{0};
  std::atomic<bool> paused_{false};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::mutex mu_;
  std::vector<std::shared_ptr<Pair>> pairs_;  // guarded by mu_
  std::vector<std::thread> threads_;          // guarded by mu_
  std::thread acceptor_;
};

}  // namespace healthtwin::chaos
