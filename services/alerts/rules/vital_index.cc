#include "services/alerts/rules/vital_index.h"

#include <algorithm>
#include <limits>

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

PreparedVitals::PreparedVitals(std::span<const VitalPoint> vitals) : vitals_(vitals) {
  for (const VitalPoint& v : vitals) {
    if (!(v.flags & kIgnoredFlags)) by_type_[v.vital_type].push_back(&v);
  }
}

const PreparedVitals::Series& PreparedVitals::Of(const std::vector<int>& types) const {
  auto [it, added] = series_.try_emplace(types);
  Series& s = it->second;
  if (!added) return s;
  int present = 0;
  std::vector<TimedValue>* series = nullptr;  // of the previous sample's device: most often this one's
  const std::string* device = nullptr;
  for (int t : types) {
    auto of_type = by_type_.find(t);
    if (of_type == by_type_.end() || of_type->second.empty()) continue;
    ++present;
    for (const VitalPoint* v : of_type->second) {
      s.merged.push_back({v->measured_us, v->value});
      if (device == nullptr || *device != v->device_id) {
        auto d = s.by_device.try_emplace(v->device_id).first;
        device = &d->first;
        series = &d->second;
      }
      series->push_back({v->measured_us, v->value});
    }
  }
  // A series of one type is already sorted (the input is); a mix (heart rate and pulse rate)
  // is sorted stably, so that samples at the same time keep the types' order. Cutting a range
  // of time out of the result gives what sorting that range alone gives.
  if (present > 1) {
    const auto by_time = [](const TimedValue& a, const TimedValue& b) { return a.t_us < b.t_us; };
    std::stable_sort(s.merged.begin(), s.merged.end(), by_time);
    for (auto& [_, d] : s.by_device) std::stable_sort(d.begin(), d.end(), by_time);
  }
  return s;
}

VitalIndex::VitalIndex(std::span<const VitalPoint> vitals, int64_t now_us)
    : owned_(std::make_unique<PreparedVitals>(vitals)),
      prepared_(*owned_),
      first_us_(std::numeric_limits<int64_t>::min()),
      now_us_(now_us) {}

VitalIndex::VitalIndex(const PreparedVitals& prepared, int64_t first_us, int64_t now_us)
    : prepared_(prepared), first_us_(first_us), now_us_(now_us) {}

std::span<const TimedValue> VitalIndex::Within(const std::vector<TimedValue>& s, int64_t from_us) const {
  const int64_t from = std::max(from_us, first_us_);
  auto first = std::lower_bound(s.begin(), s.end(), from, [](const TimedValue& v, int64_t t) { return v.t_us < t; });
  auto last = std::upper_bound(first, s.end(), now_us_, [](int64_t t, const TimedValue& v) { return t < v.t_us; });
  return {s.data() + (first - s.begin()), static_cast<size_t>(last - first)};
}

std::map<std::string, std::span<const TimedValue>> VitalIndex::ByDevice(const std::vector<int>& types,
                                                                        int64_t from_us) const {
  std::map<std::string, std::span<const TimedValue>> out;
  for (const auto& [device, series] : prepared_.Of(types).by_device) {
    if (auto s = Within(series, from_us); !s.empty()) out.emplace_hint(out.end(), device, s);
  }
  return out;
}

std::span<const TimedValue> VitalIndex::Merged(const std::vector<int>& types, int64_t from_us) const {
  return Within(prepared_.Of(types).merged, from_us);
}

int64_t VitalIndex::Newest(const std::vector<int>& types) const {
  const auto s = Within(prepared_.Of(types).merged, std::numeric_limits<int64_t>::min());
  return s.empty() ? 0 : s.back().t_us;
}

}  // namespace healthtwin::alerts::rules
