#include "tests/chaos/tcp_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace healthtwin::chaos {
namespace {

constexpr int kPollMs = 20;
constexpr size_t kBufferBytes = 64 * 1024;

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

// close() after SO_LINGER {1, 0} sends RST instead of FIN.
void CloseWithReset(int fd) {
  if (fd < 0) return;
  linger l{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  close(fd);
}

// One direction of a connection: bytes read from `from` that still have to be written to `to`.
struct Direction {
  int from, to;
  std::string pending;
  bool eof = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<TcpProxy>> TcpProxy::Start(uint16_t target_port) {
  std::unique_ptr<TcpProxy> p(new TcpProxy());
  p->target_port_ = target_port;
  p->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p->listen_fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", std::strerror(errno)));
  int one = 1;
  setsockopt(p->listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a = Loopback(0);
  if (bind(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(p->listen_fd_, 64) != 0) {
    return absl::InternalError(absl::StrCat("bind/listen: ", std::strerror(errno)));
  }
  socklen_t len = sizeof a;
  getsockname(p->listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  p->port_ = ntohs(a.sin_port);
  SetNonBlocking(p->listen_fd_);
  p->acceptor_ = std::thread([raw = p.get()] { raw->AcceptLoop(); });
  return p;
}

TcpProxy::~TcpProxy() {
  stop_ = true;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  if (listen_fd_ >= 0) close(listen_fd_);
}

int TcpProxy::Reset() {
  std::lock_guard lock(mu_);
  int n = 0;
  for (auto& pair : pairs_) {
    if (!pair->closed.exchange(true)) ++n;  // the pump closes the sockets with RST
  }
  return n;
}

void TcpProxy::AcceptLoop() {
  while (!stop_) {
    pollfd pfd{listen_fd_, POLLIN, 0};
    if (poll(&pfd, 1, kPollMs) <= 0) continue;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int upstream = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in target = Loopback(target_port_);
    if (upstream < 0 || connect(upstream, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
      // The target is down: the client sees its connection reset, as with no listener.
      CloseWithReset(client);
      if (upstream >= 0) close(upstream);
      continue;
    }
    int one = 1;
    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SetNonBlocking(client);
    SetNonBlocking(upstream);
    auto pair = std::make_shared<Pair>();
    pair->client = client;
    pair->upstream = upstream;
    ++accepted_;
    std::lock_guard lock(mu_);
    std::erase_if(pairs_, [](const auto& p) { return p->closed.load(); });
    pairs_.push_back(pair);
    threads_.emplace_back([this, pair] { Pump(pair); });
  }
}

void TcpProxy::Pump(std::shared_ptr<Pair> pair) {
  Direction dirs[2] = {{pair->client, pair->upstream, {}, false}, {pair->upstream, pair->client, {}, false}};
  char buf[kBufferBytes];
  while (!stop_ && !pair->closed) {
    pollfd pfds[4];
    int n = 0;
    int index[4];
    const bool paused = paused_;
    for (int d = 0; d < 2; ++d) {
      if (!paused && !dirs[d].eof && dirs[d].pending.empty()) {
        pfds[n] = {dirs[d].from, POLLIN, 0};
        index[n++] = d;
      }
      if (!paused && !dirs[d].pending.empty()) {
        pfds[n] = {dirs[d].to, POLLOUT, 0};
        index[n++] = 2 + d;
      }
    }
    if (n == 0) {  // paused, or both sides finished
      if (dirs[0].eof && dirs[1].eof && dirs[0].pending.empty() && dirs[1].pending.empty()) break;
      usleep(kPollMs * 1000);
      continue;
    }
    if (poll(pfds, n, kPollMs) <= 0) continue;
    bool failed = false;
    for (int i = 0; i < n && !failed; ++i) {
      if (pfds[i].revents == 0) continue;
      Direction& dir = dirs[index[i] % 2];
      if (index[i] < 2) {
        const ssize_t got = read(dir.from, buf, sizeof buf);
        if (got > 0) {
          dir.pending.assign(buf, static_cast<size_t>(got));
        } else if (got == 0) {
          dir.eof = true;
          shutdown(dir.to, SHUT_WR);
        } else if (errno != EAGAIN && errno != EINTR) {
          failed = true;
        }
      } else {
        const ssize_t put = send(dir.to, dir.pending.data(), dir.pending.size(), MSG_NOSIGNAL);
        if (put > 0) {
          dir.pending.erase(0, static_cast<size_t>(put));
        } else if (put < 0 && errno != EAGAIN && errno != EINTR) {
          failed = true;
        }
      }
    }
    if (failed) break;
  }
  pair->closed = true;
  CloseWithReset(pair->client);
  CloseWithReset(pair->upstream);
}

}  // namespace healthtwin::chaos
