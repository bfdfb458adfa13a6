// The patient's valid vital samples, grouped by type and device, so each rule reads only its
// own series. Samples flagged with kIgnoredFlags are left out here, once, for every rule.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "services/alerts/rules/inputs.h"
#include "services/alerts/rules/sustained.h"

namespace healthtwin::alerts::rules {

// "heart_rate" -> {kHeartRate, kPulseRate}, "systolic" -> {kSystolicBp}, "spo2" -> {kSpo2},
// "temperature" -> {kBodyTemperature}.
std::vector<int> VitalTypesOf(const std::string& vital);
// UCUM unit and a human name of a vital ("/min", "heart rate").
const char* UcumOf(const std::string& vital);
const char* LabelOf(const std::string& vital);

// One patient's valid samples (kIgnoredFlags left out) as the rules read them: for each list
// of types a rule asks for, the samples of those types merged by time, and the same split by
// device. Built once (each list on its first use) and shared by the evaluations of many
// instants: a VitalIndex at an instant is a view of it, so an evaluation no longer copies the
// patient's window into new series for every rule at every instant (issue 11). Holds pointers
// into `vitals`, which must outlive it and be sorted by measured_us. Not thread-safe (the lazy
// cache); one per evaluating thread.
class PreparedVitals {
 public:
  explicit PreparedVitals(std::span<const VitalPoint> vitals);

  struct Series {
    // Sorted by time; of samples at the same time, the types' order, then the input's.
    std::vector<TimedValue> merged;
    std::map<std::string, std::vector<TimedValue>> by_device;  // each sorted as `merged`
  };
  const Series& Of(const std::vector<int>& types) const;

 private:
  std::span<const VitalPoint> vitals_;
  std::map<int, std::vector<const VitalPoint*>> by_type_;  // valid samples, in input order
  mutable std::map<std::vector<int>, Series> series_;
};

class VitalIndex {
 public:
  // Keeps the samples measured at or before now_us.
  VitalIndex(std::span<const VitalPoint> vitals, int64_t now_us);
  // A view of `prepared` holding its samples measured in [first_us, now_us].
  VitalIndex(const PreparedVitals& prepared, int64_t first_us, int64_t now_us);

  // Device id -> that device's series of the given types, sorted by time, up to now.
  // Only samples at or after from_us; a device without any is absent.
  std::map<std::string, std::span<const TimedValue>> ByDevice(const std::vector<int>& types, int64_t from_us) const;
  // All devices merged, sorted by time, at or after from_us.
  std::span<const TimedValue> Merged(const std::vector<int>& types, int64_t from_us) const;
  // Newest valid sample time of any of the types; 0 when none.
  int64_t Newest(const std::vector<int>& types) const;

 private:
  std::span<const TimedValue> Within(const std::vector<TimedValue>& s, int64_t from_us) const;
  std::unique_ptr<PreparedVitals> owned_;  // the first constructor's
  const PreparedVitals& prepared_;
  int64_t first_us_;
  int64_t now_us_;
};

}  // namespace healthtwin::alerts::rules
