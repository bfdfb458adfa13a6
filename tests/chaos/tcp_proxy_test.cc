#include "tests/chaos/tcp_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>

namespace healthtwin::chaos {
namespace {

// A one-connection echo server on a free loopback port.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 4);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      const int c = accept(fd_, nullptr, nullptr);
      char buf[256];
      for (ssize_t n; (n = read(c, buf, sizeof buf)) > 0;) (void)!write(c, buf, static_cast<size_t>(n));
      close(c);
    });
  }
  ~EchoServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
  std::thread thread_;
};

int Connect(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  return fd;
}

// What arrives on `fd` within `ms`; "" on timeout, "<closed>" or "<reset>" when it ends.
std::string ReadWithin(int fd, int ms) {
  pollfd p{fd, POLLIN, 0};
  if (poll(&p, 1, ms) <= 0) return "";
  char buf[256];
  const ssize_t n = read(fd, buf, sizeof buf);
  if (n == 0) return "<closed>";
  if (n < 0) return errno == ECONNRESET ? "<reset>" : "<error>";
  return std::string(buf, static_cast<size_t>(n));
}

// An echo server behind a proxy, and a client connection through it that has carried bytes.
class TcpProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto proxy = TcpProxy::Start(echo_.port());
    ASSERT_TRUE(proxy.ok()) << proxy.status();
    proxy_ = *std::move(proxy);
    fd_ = Connect(proxy_->port());
    ASSERT_EQ(write(fd_, "ping", 4), 4);
    ASSERT_EQ(ReadWithin(fd_, 2000), "ping");
  }
  void TearDown() override { close(fd_); }

  EchoServer echo_;
  std::unique_ptr<TcpProxy> proxy_;
  int fd_ = -1;
};

TEST_F(TcpProxyTest, PauseHoldsTheBytesAndResumeDeliversThem) {
  proxy_->Pause();
  ASSERT_EQ(write(fd_, "b", 1), 1);
  EXPECT_EQ(ReadWithin(fd_, 300), "");
  proxy_->Resume();
  EXPECT_EQ(ReadWithin(fd_, 2000), "b");
}

TEST_F(TcpProxyTest, ResetCutsTheConnectionWithARst) {
  EXPECT_EQ(proxy_->Reset(), 1);
  EXPECT_EQ(ReadWithin(fd_, 2000), "<reset>");
}

TEST(TcpProxyDownTargetTest, AClientOfADownTargetIsRefused) {
  auto proxy = TcpProxy::Start(1);  // nothing listens on port 1
  ASSERT_TRUE(proxy.ok());
  const int fd = Connect((*proxy)->port());
  const std::string got = ReadWithin(fd, 2000);
  EXPECT_TRUE(got == "<reset>" || got == "<closed>") << got;
  close(fd);
}

}  // namespace
}  // namespace healthtwin::chaos
