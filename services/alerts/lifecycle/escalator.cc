#include "services/alerts/lifecycle/escalator.h"

#include "services/common/logging.h"

namespace healthtwin::alerts::lifecycle {

Escalator::~Escalator() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Escalator::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Escalator::Loop() {
  using namespace std::chrono_literals;
  while (!stop_) {
    auto fired = store_.FireDue();
    if (!fired.ok()) common::LogWarn("alerts.timers_failed", {{"error", fired.status().message()}});
    // Something fired: look again at once, as more may be due (each alert moves at most one
    // tier per round, and a batch holds at most 200 alerts).
    if (fired.ok() && *fired > 0) continue;
    for (auto waited = 0ms; waited < period_ && !stop_; waited += 100ms) std::this_thread::sleep_for(100ms);
  }
}

}  // namespace healthtwin::alerts::lifecycle
