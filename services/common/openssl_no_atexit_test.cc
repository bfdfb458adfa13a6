// openssl_no_atexit.cc, checked the way it failed: a thread that used OpenSSL ends after the
// atexit handlers have run. Under LeakSanitizer (the asan preset) the process reports its error
// queue and random generators as leaked, and the test fails, if OpenSSL's own atexit cleanup was
// registered; in the dev build the test only shows that such an exit is clean.
#include <gtest/gtest.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

namespace {

TEST(OpensslNoAtexitTest, AThreadEndingAfterTheExitHandlersKeepsNothing) {
  // Registered before OpenSSL's handler would be, so it runs after it: the thread below ends
  // while the process is exiting, between OpenSSL's cleanup and LeakSanitizer's check.
  ASSERT_EQ(std::atexit([] { std::this_thread::sleep_for(std::chrono::milliseconds(400)); }), 0);
  ASSERT_EQ(OPENSSL_init_crypto(0, nullptr), 1);  // what gRPC's first TLS channel does
  std::promise<bool> used;
  std::future<bool> ready = used.get_future();
  std::thread late([used = std::move(used)]() mutable {
    ERR_clear_error();
    unsigned char bytes[16];
    used.set_value(RAND_bytes(bytes, sizeof bytes) == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  });
  late.detach();
  // The thread holds its OpenSSL state before the process starts exiting.
  EXPECT_TRUE(ready.get());
}

}  // namespace
