// NEWS2 for the dashboard's patient list: models/scores/news2.h (RCP 2017, the scorer the
// alerts service's news2 rule uses) over each vital's newest value, a value counting only while
// it is as fresh as the news2 rule of deploy/config/alert_rules.toml requires. Never a full
// score from a wearable: consciousness is never measured, and the oxygen row is unknown here
// (the rule reads it from the patient's alert settings), so the result is partial, a lower
// bound, with the missing parameters named. Scored on SpO2 scale 1.
//
// Pure: no I/O; unit-tested in news2_summary_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace healthtwin::clinician {

// The news2 rule's freshness windows (deploy/config/alert_rules.toml, [rules.news2], "project
// defaults: how long a value may stand for now").
inline constexpr int64_t kNews2FreshHeartRateS = 900;
inline constexpr int64_t kNews2FreshSpo2S = 3600;
inline constexpr int64_t kNews2FreshSystolicS = 43200;
inline constexpr int64_t kNews2FreshTemperatureS = 43200;
inline constexpr int64_t kNews2FreshRespiratoryRateS = 3600;

struct LatestVital {
  int type = 0;  // healthtwin.vitals.v1.VitalType number
  double value = 0;
  int64_t age_s = 0;
};

struct News2Summary {
  int score = 0;     // a lower bound when partial
  std::string risk;  // "low", "low-medium", "medium", "high"; a lower bound when partial
  bool partial = true;
  std::vector<std::string> missing;  // chart parameters not scored ("consciousness", ...)
  int64_t oldest_age_s = 0;          // of the values scored
};

// Nothing when no parameter has a fresh value, or a value is impossible (the ingest rejects
// those, so such a value is not evidence).
std::optional<News2Summary> SummarizeNews2(const std::vector<LatestVital>& latest);

}  // namespace healthtwin::clinician
