// A fixed pool of threads for blocking work (database calls) that must not run on gRPC's
// callback threads. Tasks run in submission order per thread pick-up; the destructor
// finishes queued tasks and joins.
//
// The queue is bounded: TrySubmit refuses a task when `max_queued` tasks already wait, so an
// overloaded service answers "server busy" at once instead of queueing without limit or
// blocking a gRPC callback thread. There is deliberately no blocking Submit: every caller
// decides what a refusal means (RunUnary finishes the call with RESOURCE_EXHAUSTED; a stream
// ends with RESOURCE_EXHAUSTED and its client resends from its own durable state).
// Thread-safe.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace healthtwin::common {

// Tasks that may wait per executor by default: with 4-8 threads and database calls of a few
// milliseconds each, 256 waiting tasks are well under a second of work; more only adds latency
// that callers' deadlines (5-30 s) would turn into timeouts anyway.
inline constexpr std::size_t kDefaultMaxQueuedTasks = 256;

class Executor {
 public:
  explicit Executor(int threads, std::size_t max_queued = kDefaultMaxQueuedTasks);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  // Queues `task` and returns true, or returns false (and destroys `task` unrun) when
  // `max_queued` tasks already wait or the executor is stopping. Never blocks.
  [[nodiscard]] bool TrySubmit(std::function<void()> task);
  // The same, for reactors: runs `on_busy` on the calling thread when the task is refused.
  void Submit(std::function<void()> task, const std::function<void()>& on_busy);

 private:
  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace healthtwin::common
