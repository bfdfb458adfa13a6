#include "clinician_api/watcher_threads.h"

namespace healthtwin::clinician {

void WatcherThreads::Start(std::function<void(const std::atomic<bool>& stopping)> body) {
  std::lock_guard lock(mu_);
  for (auto it = watchers_.begin(); it != watchers_.end();) {  // join the ones that ended
    if (it->done->load()) {
      it->thread.join();
      it = watchers_.erase(it);
    } else {
      ++it;
    }
  }
  auto done = std::make_shared<std::atomic<bool>>(false);
  watchers_.push_back({std::thread([this, body = std::move(body), done] {
                         body(stopping_);
                         *done = true;
                       }),
                       done});
}

WatcherThreads::~WatcherThreads() {
  stopping_ = true;
  std::lock_guard lock(mu_);
  for (auto& w : watchers_) w.thread.join();
}

}  // namespace healthtwin::clinician
