// Fires the lifecycle's timers (escalations, shelf expiry) from PostgreSQL once a second. The
// timers are columns (alerts.next_escalation_at, alert_shelves.shelved_until), so they survive
// a restart of every replica; replicas may all run one, the alert-events lock serialises them
// and a timer already fired is found cleared.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>

#include "services/alerts/lifecycle/pg_store.h"

namespace healthtwin::alerts::lifecycle {

class Escalator {
 public:
  // `store` must outlive the escalator.
  explicit Escalator(const PgLifecycleStore& store, std::chrono::milliseconds period = std::chrono::seconds(1))
      : store_(store), period_(period) {}
  ~Escalator();  // stops the thread

  void Start();
  // Asks the thread to end after its current wait without waiting for it.
  void RequestStop() { stop_ = true; }

 private:
  void Loop();

  const PgLifecycleStore& store_;
  const std::chrono::milliseconds period_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace healthtwin::alerts::lifecycle
