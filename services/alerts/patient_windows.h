// The evaluator's per-patient rule inputs kept across rounds (the incremental evaluator), so
// that a round reads its new rows once instead of reloading hours of each touched patient's
// vitals. Pure: no database; evaluator.cc fills it from the round's rows and from batched loads
// (window_loader.h). patient_windows_test.cc.
//
// What a window promises. Every vitals row of the patient of a type the rules read, measured at
// or after sparse_from_us (heart rate and pulse: hr_from_us), that this process has read (in a
// round or a load) is in it, once (by ingest_seq), in (measured_at, ingest_seq) order. The
// evaluator keeps the promise true: it reloads a patient whose new rows need history before
// the window's start (a late row), and drops every window when another replica moved the
// cursor over rows this process never read. Trimming to exactly the cold load's range
// (TrimTo) makes the engine see what a per-round reload would have shown it.
//
// Memory bound: PatientWindows holds at most `max_rows` rows in all (about 100 bytes each with
// the device id inline); EvictToCap drops least-recently-used patients, who reload on their
// next touch.
//
// Thread-compatible; the evaluator thread alone uses it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "services/alerts/evaluation_plan.h"
#include "services/alerts/rules/inputs.h"
#include "services/alerts/rules/patient_trackers.h"

namespace healthtwin::alerts {

// Device id -> the periods [from, to) in which its status said sensor contact "not detected".
using LostPeriods = std::map<std::string, std::vector<std::pair<int64_t, int64_t>>>;
bool ContactLostAt(const LostPeriods& lost, const std::string& device_id, int64_t t_us);

struct CachedRow {
  rules::VitalPoint point;  // flags already translated (EngineFlags)
  int64_t ingest_seq = 0;
  uint32_t stored_flags = 0;  // vitals.flags, to translate again when the lost periods change
};

struct PatientWindow {
  std::vector<CachedRow> sparse;  // every type but heart rate and pulse
  std::vector<CachedRow> hr;      // heart rate and pulse
  int64_t sparse_from_us = 0;
  int64_t hr_from_us = 0;
  LostPeriods lost;
  uint64_t last_used = 0;  // PatientWindows' round counter
  // The engine's running state over these rows (patient_trackers.h): Add tells it of each row
  // added, SetLost clears it when the flags change.
  rules::PatientTrackers trackers;

  // Adds `row` in order unless a row with its ingest_seq is already there. Returns whether added.
  bool Add(CachedRow row);
  // Whether the window holds everything from these starts on.
  bool Covers(int64_t sparse_from, int64_t hr_from) const {
    return sparse_from_us <= sparse_from && hr_from_us <= hr_from;
  }
  // Drops rows before the starts and moves the starts there (only forward).
  void TrimTo(int64_t sparse_from, int64_t hr_from);
  // Replaces the lost periods and translates every row's flags again when they differ.
  // Returns whether they differed.
  bool SetLost(LostPeriods lost);
  size_t rows() const { return sparse.size() + hr.size(); }
  // Both series merged by (measured, ingest_seq): the engine's PatientInputs::vitals.
  std::vector<rules::VitalPoint> Merged() const;
  // Their types and times in the same order (EvaluationInstants' input).
  std::vector<SampleTime> Times() const;
};

class PatientWindows {
 public:
  explicit PatientWindows(size_t max_rows) : max_rows_(max_rows) {}

  // nullptr when `patient` has no window; marks it used in the current round.
  PatientWindow* Find(const std::string& patient);
  // Replaces the window of `patient`.
  PatientWindow& Put(const std::string& patient, PatientWindow window);
  void Clear() { windows_.clear(); }
  // Starts a round (for least-recently-used eviction).
  void NextRound() { ++round_; }
  // Evicts least recently used patients until at most max_rows rows remain; returns how many.
  int EvictToCap();

  size_t patients() const { return windows_.size(); }
  size_t rows() const;
  size_t max_rows() const { return max_rows_; }

 private:
  const size_t max_rows_;
  uint64_t round_ = 0;
  std::map<std::string, PatientWindow> windows_;
};

}  // namespace healthtwin::alerts
