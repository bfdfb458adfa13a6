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
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

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

struct HrPointUs {
  int64_t measured_at_us;
  double bpm;
};

// The sustained-tachycardia alerts (services/alerts/hr_rule.h) that the complete data of one
// patient implies, as episode start times: every qualifying run, less those that reopen the
// alert before them (the alarm lifecycle's deduplication, services/alerts/README.md: a run that
// starts at most `dedup_us` after the end of that alert's newest run). `points` sorted by time.
std::vector<int64_t> ExpectedTachycardiaStarts(const std::vector<HrPointUs>& points, double threshold_bpm,
                                               double min_duration_s, double max_gap_s, int64_t dedup_us);

}  // namespace healthtwin::chaos
