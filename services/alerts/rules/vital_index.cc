#include "services/alerts/rules/vital_index.h"

#include <algorithm>

namespace healthtwin::alerts::rules {

std::vector<int> VitalTypesOf(const std::string& vital) {
  if (vital == "heart_rate") return {kHeartRate, kPulseRate};
  if (vital == "systolic") return {kSystolicBp};
  if (vital == "spo2") return {kSpo2};
  if (vital == "temperature") return {kBodyTemperature};
  if (vital == "weight") return {kBodyWeight};
  if (vital == "respiratory_rate") return {kRespiratoryRate};
  return {};
}

const char* UcumOf(const std::string& vital) {
  if (vital == "heart_rate" || vital == "respiratory_rate") return "/min";
  if (vital == "systolic") return "mm[Hg]";
  if (vital == "spo2") return "%";
  if (vital == "temperature") return "Cel";
  if (vital == "weight") return "kg";
  return "";
}

const char* LabelOf(const std::string& vital) {
  if (vital == "heart_rate") return "Heart rate";
  if (vital == "systolic") return "Systolic BP";
  if (vital == "spo2") return "SpO2";
  if (vital == "temperature") return "Temperature";
  if (vital == "weight") return "Weight";
  return "Respiratory rate";
}

VitalIndex::VitalIndex(std::span<const VitalPoint> vitals, int64_t now_us) {
  for (const VitalPoint& v : vitals) {
    if ((v.flags & kIgnoredFlags) || v.measured_us > now_us) continue;
    by_type_[v.vital_type].push_back(&v);
  }
}

std::span<const VitalPoint* const> VitalIndex::From(int type, int64_t from_us) const {
  auto it = by_type_.find(type);
  if (it == by_type_.end()) return {};
  const auto& all = it->second;
  auto first = std::lower_bound(all.begin(), all.end(), from_us,
                                [](const VitalPoint* v, int64_t t) { return v->measured_us < t; });
  return {all.data() + (first - all.begin()), static_cast<size_t>(all.end() - first)};
}

// Series of one type are already sorted; only a mix of types (heart rate and pulse rate) needs sorting.
int VitalIndex::TypesPresent(const std::vector<int>& types, int64_t from_us) const {
  int n = 0;
  for (int t : types) n += From(t, from_us).empty() ? 0 : 1;
  return n;
}

std::map<std::string, std::vector<TimedValue>> VitalIndex::ByDevice(const std::vector<int>& types,
                                                                    int64_t from_us) const {
  std::map<std::string, std::vector<TimedValue>> out;
  std::vector<TimedValue>* series = nullptr;  // of the previous sample's device: most often this one's
  const std::string* device = nullptr;
  for (int t : types) {
    for (const VitalPoint* v : From(t, from_us)) {
      if (device == nullptr || *device != v->device_id) {
        auto it = out.try_emplace(v->device_id).first;
        device = &it->first;
        series = &it->second;
      }
      series->push_back({v->measured_us, v->value});
    }
  }
  if (TypesPresent(types, from_us) > 1) {
    for (auto& [_, s] : out) std::stable_sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.t_us < b.t_us; });
  }
  return out;
}

std::vector<TimedValue> VitalIndex::Merged(const std::vector<int>& types, int64_t from_us) const {
  std::vector<TimedValue> out;
  for (int t : types) {
    for (const VitalPoint* v : From(t, from_us)) out.push_back({v->measured_us, v->value});
  }
  if (TypesPresent(types, from_us) > 1) {
    std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.t_us < b.t_us; });
  }
  return out;
}

int64_t VitalIndex::Newest(const std::vector<int>& types) const {
  int64_t newest = 0;
  for (int t : types) {
    auto it = by_type_.find(t);
    if (it != by_type_.end() && !it->second.empty()) newest = std::max(newest, it->second.back()->measured_us);
  }
  return newest;
}

}  // namespace healthtwin::alerts::rules
