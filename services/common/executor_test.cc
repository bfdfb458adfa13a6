#include "services/common/executor.h"

#include <atomic>
#include <future>

#include <gtest/gtest.h>

namespace healthtwin::common {
namespace {

TEST(ExecutorTest, RefusesATaskWhenTheQueueIsFullWithoutBlocking) {
  std::promise<void> running, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  {
    Executor executor(1, /*max_queued=*/2);
    ASSERT_TRUE(executor.TrySubmit([&running, released, &ran] {
      running.set_value();
      released.wait();
      ++ran;
    }));
    running.get_future().wait();  // the thread is busy; the queue is empty
    EXPECT_TRUE(executor.TrySubmit([&ran] { ++ran; }));
    EXPECT_TRUE(executor.TrySubmit([&ran] { ++ran; }));
    EXPECT_FALSE(executor.TrySubmit([&ran] { ran += 100; }));
    bool busy = false;
    executor.Submit([&ran] { ran += 100; }, [&busy] { busy = true; });
    EXPECT_TRUE(busy);
    release.set_value();
  }  // the destructor finishes the queued tasks
  EXPECT_EQ(ran.load(), 3);
}

TEST(ExecutorTest, AcceptsAgainOnceTheQueueDrains) {
  Executor executor(1, 1);
  for (int i = 0; i < 50; ++i) {
    std::promise<void> done;
    std::future<void> f = done.get_future();
    ASSERT_TRUE(executor.TrySubmit([&done] { done.set_value(); }));
    f.wait();
  }
}

}  // namespace
}  // namespace healthtwin::common
