// The chaos harness's judge: pure functions that compare what the simulated wearables emitted
// with what the pipeline stored, and what alerts the stored data implies with what was raised.
// No I/O; the harness reads PostgreSQL and hands the rows in.
//
// The rules it applies (tests/chaos/README.md explains why):
//   - A record the device keeps (a glucose meter's RACP store) must be stored exactly once,
//     whatever failed: a bridge that missed it live fetches it by RACP from its cursor.
//   - A heart-rate notification has no record behind it: BLE delivers it only to a subscribed
//     client, so one sent while no bridge was subscribed (a blind window: bridge down, bus or
//     bluetoothd restarting) is gone by design. Every other one must be stored exactly once;
//     nothing may be stored that was not emitted, and nothing twice.
//   - The alerts are those the alerts service's own rule engine finds in the final stored data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "services/alerts/rules/engine.h"

namespace healthtwin::chaos {

struct HrEmission {
  std::string device;
  int64_t emitted_at_us = 0;  // wall clock just before the notification was sent
  int bpm = 0;
};

// A stored heart rate: the bridge stamps notifications on receipt, so measured_at is when the
// bridge got it.
struct StoredHr {
  std::string device;
  int64_t measured_at_us = 0;
  int bpm = 0;
};

// [from_us, to_us]: no bridge was subscribed to `device` (or may not have been).
struct BlindWindow {
  std::string device;
  int64_t from_us = 0;
  int64_t to_us = 0;
};

struct HrVerdict {
  int64_t emitted = 0;
  int64_t stored = 0;
  int64_t matched = 0;
  int64_t missed_blind = 0;           // emitted inside a blind window, not stored: allowed
  std::vector<HrEmission> missed;     // emitted outside every blind window, not stored
  std::vector<StoredHr> unexplained;  // stored, but matching no emission (fabricated or twice)
  bool ok() const { return missed.empty() && unexplained.empty(); }
};

// Matches stored rows to emissions of the same device and value whose emission lies at most
// `max_latency_us` before the stored time (and at most `clock_slack_us` after it: the two
// stamps come from one host clock, read in two processes). Greedy by time, which gives a
// largest matching because every emission's window has the same length.
HrVerdict JudgeHeartRates(std::vector<HrEmission> emitted, std::vector<StoredHr> stored,
                          const std::vector<BlindWindow>& blind, int64_t max_latency_us, int64_t clock_slack_us);

struct Record {
  std::string device;
  int64_t record_seq = 0;
  double value = 0;
};

struct RecordVerdict {
  int64_t emitted = 0;
  int64_t stored = 0;
  std::vector<Record> missing;     // emitted, never stored
  std::vector<Record> duplicated;  // stored more than once (each extra copy)
  std::vector<Record> unexpected;  // stored, never emitted, or with another value
  bool ok() const { return missing.empty() && duplicated.empty() && unexpected.empty(); }
};

// Every emitted record stored exactly once with its value; nothing else stored.
RecordVerdict JudgeRecords(const std::vector<Record>& emitted, const std::vector<Record>& stored);

struct ExpectedAlert {
  std::string rule_id;
  int64_t condition_started_us = 0;
  bool operator==(const ExpectedAlert&) const = default;
  auto operator<=>(const ExpectedAlert&) const = default;
};

// The alerts of the rules the evaluator judges at data instants (evaluation_plan.h) that one
// patient's complete stored data implies, by (rule, episode start): `engine` (the alerts
// service's catalogue) evaluated over `in` at each of `instants`; every episode a verdict
// shows (active, or ended with its start) is one, less those that reopen the alert before
// them (the alarm lifecycle: an episode starting at most `reopen_window_us` after the end of
// that alert's newest episode). Sorted. Timer rules (technical, twin drift) are not judged:
// their verdicts follow the wall clock, not the data.
std::vector<ExpectedAlert> ExpectedAlerts(const alerts::rules::RuleEngine& engine,
                                          const alerts::rules::PatientInputs& in, const std::vector<int64_t>& instants,
                                          int64_t reopen_window_us);

}  // namespace healthtwin::chaos
