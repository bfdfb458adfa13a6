// alert_lifecycle_replica: a test driver that plays one alerts replica. It applies the same
// heart-rate verdicts for patients pat-1..pat-N, round after round, and fires due timers on a
// clock that moves one minute per round, so two of them started at once race on every
// transition (pg_store_integration_test, TwoProcesses...).
//
// Usage: alert_lifecycle_replica <conninfo> <patients> <rounds> <t0_unix_s>
// Exit 0 when every call succeeded, 1 otherwise (the error on stderr), 2 on bad arguments.
#include <cstdio>
#include <string>

#include "services/alerts/lifecycle/pg_store.h"

using namespace healthtwin::alerts;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s <conninfo> <patients> <rounds> <t0_unix_s>\n", argv[0]);
    return 2;
  }
  const int patients = std::stoi(argv[2]);
  const int rounds = std::stoi(argv[3]);
  const int64_t t0_us = std::stoll(argv[4]) * 1'000'000;
  healthtwin::common::PgPool pool(argv[1], 2);
  lifecycle::FakeClock clock(t0_us);
  lifecycle::PgLifecycleStore store(pool, lifecycle::DefaultConfig(), clock);
  for (int round = 0; round < rounds; ++round) {
    clock.Set(t0_us + round * 60'000'000LL);
    for (int p = 1; p <= patients; ++p) {
      // Rising, then a new peak, then (from round 5) the end; every round repeats them.
      for (int step = 0; step < (round >= 5 ? 3 : 2); ++step) {
        Observation o;
        o.patient_id = "pat-" + std::to_string(p);
        o.rule_id = "hr_high";
        o.priority = Priority::kHigh;
        o.active = step < 2;
        o.condition_started_us = t0_us;
        o.observed_us = t0_us + (60 + 30 * step) * 1'000'000LL;
        o.condition_ended_us = o.active ? 0 : o.observed_us;
        o.peak_value = step == 0 ? 130 : 150;
        o.ucum_unit = "/min";
        o.summary = "Heart rate high";
        o.covers = {"heart_rate"};
        if (auto n = store.Apply(o); !n.ok()) {
          std::fprintf(stderr, "apply: %s\n", std::string(n.status().message()).c_str());
          return 1;
        }
      }
    }
    if (auto fired = store.FireDue(); !fired.ok()) {
      std::fprintf(stderr, "fire: %s\n", std::string(fired.status().message()).c_str());
      return 1;
    }
  }
  return 0;
}
