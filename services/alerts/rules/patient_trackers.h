// What the rule engine keeps for one patient across instants and rounds so that an instant
// costs in proportion to the samples new since the last one (issue 11, round 3): a
// SustainedTracker per (threshold rule, device) and, per NEWS2 rule, the scores of the
// 5-minute steps already computed. The caller keeps it with the patient's window and tells it
// of every sample that joins the window (SampleAdded) and of every other change (Clear);
// dropping samples before the window's start needs nothing. Verdicts are the same with or
// without it (sustained_tracker_test.cc). Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "models/scores/news2.h"
#include "services/alerts/rules/sustained_tracker.h"

namespace healthtwin::alerts::rules {

// The NEWS2 of each step time a rule computed, with what it read: a step's score depends only
// on samples at or before it and on the window's start when it read back that far.
struct News2Step {
  int64_t from_us = 0;                                // the window start it was computed with
  int64_t oldest_read_us = 0;                         // the oldest sample it read (INT64_MAX when none)
  std::optional<models::scores::News2Result> result;  // none: no fresh parameter, or not scorable
};

struct News2Steps {
  bool spo2_scale2 = false;
  bool supplemental_oxygen = false;
  std::map<int64_t, News2Step> by_time;
};

class PatientTrackers {
 public:
  SustainedTracker& Of(const std::string& rule_id, const std::string& device_id) {
    return trackers_[{rule_id, device_id}];
  }
  News2Steps& News2Of(const std::string& rule_id) { return news2_[rule_id]; }

  // A sample of `device_id` measured at t_us joined the patient's series: what read that time
  // is forgotten (the device's trackers that judged it start again; NEWS2 steps from then on).
  void SampleAdded(const std::string& device_id, int64_t t_us);
  void Clear() {
    trackers_.clear();
    news2_.clear();
  }

 private:
  std::map<std::pair<std::string, std::string>, SustainedTracker> trackers_;
  std::map<std::string, News2Steps> news2_;
};

}  // namespace healthtwin::alerts::rules
