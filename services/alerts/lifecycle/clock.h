// The wall clock of the alarm lifecycle, behind an interface so tests can move time: raise
// times, escalation timers and shelf expiry all read it. Data times come from the rules.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace healthtwin::alerts::lifecycle {

class Clock {
 public:
  virtual ~Clock() = default;
  // Microseconds since the Unix epoch. Thread-safe.
  virtual int64_t NowUs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock that moves only when told. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_us) : now_us_(now_us) {}
  int64_t NowUs() const override { return now_us_.load(); }
  void Set(int64_t now_us) { now_us_ = now_us; }
  void Advance(int64_t us) { now_us_ += us; }

 private:
  std::atomic<int64_t> now_us_;
};

}  // namespace healthtwin::alerts::lifecycle
