// The threads behind long-lived server streams that wait on something other than gRPC (e.g.
// WatchSecurityEvents waiting on PostgreSQL notifications): one thread per stream, joined once
// it ends, and all asked to stop and joined when this is destroyed (before the service goes).
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

namespace healthtwin::clinician {

class WatcherThreads {
 public:
  WatcherThreads() = default;
  WatcherThreads(const WatcherThreads&) = delete;
  WatcherThreads& operator=(const WatcherThreads&) = delete;
  ~WatcherThreads();

  // Runs `body` on a new thread; `body` should return soon after `stopping` turns true.
  void Start(std::function<void(const std::atomic<bool>& stopping)> body);

 private:
  struct Watcher {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };

  std::mutex mu_;
  std::list<Watcher> watchers_;
  std::atomic<bool> stopping_{false};
};

}  // namespace healthtwin::clinician
