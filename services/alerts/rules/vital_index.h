// The patient's valid vital samples, grouped once per evaluation by type and device, so
// each rule reads only its own series. Samples flagged with kIgnoredFlags are left out here,
// once, for every rule. Holds pointers into PatientInputs::vitals; lives for one Evaluate.
#pragma once

#include <map>
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

class VitalIndex {
 public:
  // Keeps the samples measured at or before now_us.
  VitalIndex(std::span<const VitalPoint> vitals, int64_t now_us);

  // Device id -> that device's series of the given types, sorted by time, up to now.
  // Only samples at or after from_us.
  std::map<std::string, std::vector<TimedValue>> ByDevice(const std::vector<int>& types, int64_t from_us) const;
  // All devices merged, sorted by time, at or after from_us.
  std::vector<TimedValue> Merged(const std::vector<int>& types, int64_t from_us) const;
  // Newest valid sample time of any of the types; 0 when none.
  int64_t Newest(const std::vector<int>& types) const;

 private:
  std::span<const VitalPoint* const> From(int type, int64_t from_us) const;
  int TypesPresent(const std::vector<int>& types, int64_t from_us) const;
  std::map<int, std::vector<const VitalPoint*>> by_type_;
};

}  // namespace healthtwin::alerts::rules
