#include "ble_bridge/cli/to_samples.h"

#include <cmath>
#include <ctime>
#include <type_traits>

namespace healthtwin::ble {
namespace {

using common::VitalType;

// Glucose: mg/dL per mmol/L (molar mass of glucose 180.16 g/mol).
constexpr double kMgPerDlPerMmolPerL = 18.016;

class Builder {
 public:
  Builder(const std::string& device_id, int64_t measured_at_us, int64_t received_at_us)
      : device_id_(device_id), measured_at_us_(measured_at_us), received_at_us_(received_at_us) {}

  void Add(VitalType type, double value, uint64_t record_seq = 0) {
    if (!std::isfinite(value)) return;
    out_.push_back({device_id_, type, value, std::string(common::CanonicalUnit(type)), measured_at_us_,
                    received_at_us_, record_seq});
  }
  void Add(VitalType type, const MderFloat& f, double factor = 1.0) {
    if (f.is_special()) return;
    Add(type, f.value() * factor);
  }
  std::vector<Measurement> Take() { return std::move(out_); }

 private:
  const std::string& device_id_;
  const int64_t measured_at_us_;
  const int64_t received_at_us_;
  std::vector<Measurement> out_;
};

double PressureFactor(PressureUnit unit) { return unit == PressureUnit::kKPa ? kMmHgPerKPa : 1.0; }

}  // namespace

SampleConversion ToSamples(const std::string& device_id, const Decoded& decoded,
                           const std::optional<DateTime>& device_time, int64_t received_at_unix_us) {
  SampleConversion result;
  int64_t measured_at_us = received_at_unix_us;
  if (device_time) {
    if (auto device_us = LocalDateTimeToUnixMicros(*device_time)) {
      result.skew_us = *device_us - received_at_unix_us;
      if (*device_us <= received_at_unix_us) measured_at_us = *device_us;
    }
  }
  Builder b(device_id, measured_at_us, received_at_unix_us);
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, HeartRateMeasurement>) {
          b.Add(VitalType::kHeartRate, static_cast<double>(v.heart_rate_bpm));
        } else if constexpr (std::is_same_v<T, BloodPressureMeasurement>) {
          const double f = PressureFactor(v.unit);
          b.Add(VitalType::kSystolicBp, v.systolic, f);
          b.Add(VitalType::kDiastolicBp, v.diastolic, f);
          b.Add(VitalType::kMeanArterialBp, v.mean_arterial, f);
          if (v.extras.pulse_rate_bpm) b.Add(VitalType::kPulseRate, *v.extras.pulse_rate_bpm);
        } else if constexpr (std::is_same_v<T, PlxSpotCheckMeasurement> ||
                             std::is_same_v<T, PlxContinuousMeasurement>) {
          b.Add(VitalType::kSpo2, v.spo2_percent);
          b.Add(VitalType::kPulseRate, v.pulse_rate_bpm);
        } else if constexpr (std::is_same_v<T, TemperatureMeasurement>) {
          if (!v.temperature.is_special()) {
            const double t = v.temperature.value();
            b.Add(VitalType::kBodyTemperature, v.unit == TemperatureUnit::kFahrenheit ? (t - 32.0) * 5.0 / 9.0 : t);
          }
        } else if constexpr (std::is_same_v<T, WeightMeasurement>) {
          if (!v.measurement_unsuccessful()) b.Add(VitalType::kBodyWeight, v.weight_kg());
        } else if constexpr (std::is_same_v<T, GlucoseMeasurement>) {
          if (v.concentration && !v.concentration->is_special()) {
            // kg/L -> mg/dL is 10^5; mol/L -> mmol/L is 10^3, then mmol/L -> mg/dL.
            const double mg_dl = v.unit == GlucoseUnit::kKgPerL ? v.concentration->Scaled(5)
                                                                 : v.concentration->Scaled(3) * kMgPerDlPerMmolPerL;
            b.Add(VitalType::kGlucose, mg_dl, v.sequence_number);
          }
        }
        // IntermediateCuffPressure is a cuff inflating, not a reading; the rest are no vital sign.
      },
      decoded.value);
  result.samples = b.Take();
  return result;
}

}  // namespace healthtwin::ble
