#include "ble_bridge/parsers/json.h"

#include <cmath>
#include <string>

namespace healthtwin::ble {
namespace {

using nlohmann::json;

double Round3(double x) {
  const double r = std::round(x * 1000.0) / 1000.0;
  return std::isfinite(r) ? r : x;
}

// Builds one object and its "special" map together, so a null can never lack its reason.
class Out {
 public:
  template <typename T>
  void Set(const char* key, T value) {
    obj_[key] = std::move(value);
  }
  void Special(const char* key, absl::string_view reason) {
    obj_[key] = nullptr;
    special_[key] = std::string(reason);
  }
  // The float as sent, or null with its special reason.
  void Float(const char* key, const MderFloat& f) {
    if (f.is_special()) return Special(key, MderSpecialName(f.special));
    obj_[key] = f.value();
  }
  // A decimal unit change (extra_exponent) of the float, or null with the same special reason.
  void FloatScaled(const char* key, const MderFloat& f, int extra_exponent) {
    if (f.is_special()) return Special(key, MderSpecialName(f.special));
    obj_[key] = f.Scaled(extra_exponent);
  }
  // A converted value, rounded to 3 decimals, or null with the same special reason.
  template <typename Fn>
  void FloatConverted(const char* key, const MderFloat& f, Fn convert) {
    if (f.is_special()) return Special(key, MderSpecialName(f.special));
    obj_[key] = Round3(convert(f.value()));
  }
  void Time(const char* key, const DateTime& dt) {
    if (auto iso = dt.ToIso8601()) {
      obj_[key] = *iso;
    } else {
      Special(key, "Unknown");
    }
  }
  void UserId(const char* key, uint8_t id) {
    if (id == kUnknownUserId) return Special(key, "Unknown");
    obj_[key] = id;
  }
  json Finish() && {
    if (!special_.empty()) obj_["special"] = std::move(special_);
    return std::move(obj_);
  }

 private:
  json obj_ = json::object();
  json special_ = json::object();
};

const char* PulseRateRangeName(PulseRateRange r) {
  switch (r) {
    case PulseRateRange::kWithin:
      return "within_range";
    case PulseRateRange::kExceedsUpper:
      return "exceeds_upper_limit";
    case PulseRateRange::kBelowLower:
      return "below_lower_limit";
    case PulseRateRange::kReserved:
      return "reserved";
  }
  return "reserved";
}

void PutBloodPressureExtras(Out& out, const BloodPressureExtras& e) {
  if (e.timestamp) out.Time("timestamp", *e.timestamp);
  if (e.pulse_rate_bpm) out.Float("pulse_rate_bpm", *e.pulse_rate_bpm);
  if (e.user_id) out.UserId("user_id", *e.user_id);
  if (e.status) {
    const BloodPressureStatus& s = *e.status;
    out.Set("measurement_status", json{{"raw", s.raw},
                                       {"body_movement_detected", s.body_movement_detected},
                                       {"cuff_too_loose", s.cuff_too_loose},
                                       {"irregular_pulse_detected", s.irregular_pulse_detected},
                                       {"pulse_rate_range", PulseRateRangeName(s.pulse_rate_range)},
                                       {"improper_measurement_position", s.improper_measurement_position}});
  }
}

json Convert(const HeartRateMeasurement& m) {
  Out out;
  out.Set("heart_rate_bpm", m.heart_rate_bpm);
  out.Set("sensor_contact", m.sensor_contact ? json(*m.sensor_contact) : json(nullptr));
  if (m.energy_expended_kj) out.Set("energy_expended_kj", *m.energy_expended_kj);
  if (m.rr_intervals_1024ths) {
    json rr = json::array();
    for (uint16_t v : *m.rr_intervals_1024ths) rr.push_back(v / 1024.0);  // exact in binary
    out.Set("rr_intervals_s", std::move(rr));
  }
  return std::move(out).Finish();
}

json Convert(const BloodPressureMeasurement& m) {
  Out out;
  const bool kpa = m.unit == PressureUnit::kKPa;
  const auto to_mmhg = [kpa](double v) { return kpa ? v * kMmHgPerKPa : v; };
  out.Set("unit", kpa ? "kPa" : "mmHg");
  out.Float("systolic", m.systolic);
  out.Float("diastolic", m.diastolic);
  out.Float("mean_arterial", m.mean_arterial);
  if (kpa) {
    out.FloatConverted("systolic_mmhg", m.systolic, to_mmhg);
    out.FloatConverted("diastolic_mmhg", m.diastolic, to_mmhg);
    out.FloatConverted("mean_arterial_mmhg", m.mean_arterial, to_mmhg);
  } else {
    out.Float("systolic_mmhg", m.systolic);
    out.Float("diastolic_mmhg", m.diastolic);
    out.Float("mean_arterial_mmhg", m.mean_arterial);
  }
  PutBloodPressureExtras(out, m.extras);
  return std::move(out).Finish();
}

json Convert(const IntermediateCuffPressure& m) {
  Out out;
  const bool kpa = m.unit == PressureUnit::kKPa;
  out.Set("unit", kpa ? "kPa" : "mmHg");
  out.Float("cuff_pressure", m.cuff_pressure);
  if (kpa) {
    out.FloatConverted("cuff_pressure_mmhg", m.cuff_pressure, [](double v) { return v * kMmHgPerKPa; });
  } else {
    out.Float("cuff_pressure_mmhg", m.cuff_pressure);
  }
  PutBloodPressureExtras(out, m.extras);
  return std::move(out).Finish();
}

json Convert(const PlxSpotCheckMeasurement& m) {
  Out out;
  out.Float("spo2_percent", m.spo2_percent);
  out.Float("pulse_rate_bpm", m.pulse_rate_bpm);
  if (m.timestamp) out.Time("timestamp", *m.timestamp);
  if (m.measurement_status) out.Set("measurement_status", *m.measurement_status);
  if (m.device_and_sensor_status) out.Set("device_and_sensor_status", *m.device_and_sensor_status);
  if (m.pulse_amplitude_index_percent) out.Float("pulse_amplitude_index_percent", *m.pulse_amplitude_index_percent);
  out.Set("device_clock_not_set", m.device_clock_not_set);
  return std::move(out).Finish();
}

json Convert(const PlxContinuousMeasurement& m) {
  Out out;
  out.Float("spo2_percent", m.spo2_percent);
  out.Float("pulse_rate_bpm", m.pulse_rate_bpm);
  if (m.spo2_fast_percent) out.Float("spo2_fast_percent", *m.spo2_fast_percent);
  if (m.pulse_rate_fast_bpm) out.Float("pulse_rate_fast_bpm", *m.pulse_rate_fast_bpm);
  if (m.spo2_slow_percent) out.Float("spo2_slow_percent", *m.spo2_slow_percent);
  if (m.pulse_rate_slow_bpm) out.Float("pulse_rate_slow_bpm", *m.pulse_rate_slow_bpm);
  if (m.measurement_status) out.Set("measurement_status", *m.measurement_status);
  if (m.device_and_sensor_status) out.Set("device_and_sensor_status", *m.device_and_sensor_status);
  if (m.pulse_amplitude_index_percent) out.Float("pulse_amplitude_index_percent", *m.pulse_amplitude_index_percent);
  return std::move(out).Finish();
}

json Convert(const TemperatureMeasurement& m) {
  Out out;
  const bool f = m.unit == TemperatureUnit::kFahrenheit;
  out.Float("temperature", m.temperature);
  out.Set("unit", f ? "F" : "C");
  if (f) {
    out.FloatConverted("temperature_c", m.temperature, [](double v) { return (v - 32.0) * 5.0 / 9.0; });
  } else {
    out.Float("temperature_c", m.temperature);
  }
  if (m.timestamp) out.Time("timestamp", *m.timestamp);
  if (m.temperature_type) out.Set("temperature_type", TemperatureTypeName(*m.temperature_type));
  return std::move(out).Finish();
}

json Convert(const WeightMeasurement& m) {
  Out out;
  if (m.measurement_unsuccessful()) {
    out.Special("weight", "MeasurementUnsuccessful");
    out.Set("unit", m.imperial ? "lb" : "kg");
    out.Special("weight_kg", "MeasurementUnsuccessful");
  } else {
    out.Set("weight", m.weight());
    out.Set("unit", m.imperial ? "lb" : "kg");
    out.Set("weight_kg", m.imperial ? Round3(m.weight_kg()) : m.weight_kg());
  }
  if (m.timestamp) out.Time("timestamp", *m.timestamp);
  if (m.user_id) out.UserId("user_id", *m.user_id);
  if (m.bmi_raw) out.Set("bmi", *m.bmi_raw / 10.0);
  if (m.height_raw) {
    out.Set("height", m.imperial ? *m.height_raw / 10.0 : *m.height_raw / 1000.0);
    out.Set("height_unit", m.imperial ? "in" : "m");
    out.Set("height_m", m.imperial ? Round3(*m.height_raw * 0.00254) : *m.height_raw / 1000.0);
  }
  return std::move(out).Finish();
}

json Convert(const GlucoseMeasurement& m) {
  Out out;
  out.Set("sequence_number", m.sequence_number);
  out.Time("base_time", m.base_time);
  if (m.time_offset_min) out.Set("time_offset_min", *m.time_offset_min);
  if (m.concentration) {
    const bool molar = m.unit == GlucoseUnit::kMolPerL;
    out.Float("concentration", *m.concentration);
    out.Set("unit", molar ? "mol/L" : "kg/L");
    if (molar) {
      out.FloatScaled("glucose_mmol_l", *m.concentration, 3);  // mol/L -> mmol/L
    } else {
      out.FloatScaled("glucose_mg_dl", *m.concentration, 5);  // kg/L -> mg/dL
    }
  }
  if (m.type) out.Set("type", GlucoseTypeName(*m.type));
  if (m.sample_location) out.Set("sample_location", GlucoseSampleLocationName(*m.sample_location));
  if (m.sensor_status_annunciation) out.Set("sensor_status_annunciation", *m.sensor_status_annunciation);
  out.Set("context_information_follows", m.context_information_follows);
  return std::move(out).Finish();
}

json Convert(const GlucoseMeasurementContext& c) {
  Out out;
  out.Set("sequence_number", c.sequence_number);
  if (c.extended_flags) out.Set("extended_flags", *c.extended_flags);
  if (c.carbohydrate_id) out.Set("carbohydrate", CarbohydrateName(*c.carbohydrate_id));
  if (c.carbohydrate_kg) out.FloatScaled("carbohydrate_g", *c.carbohydrate_kg, 3);
  if (c.meal) out.Set("meal", MealName(*c.meal));
  if (c.tester) out.Set("tester", TesterName(*c.tester));
  if (c.health) out.Set("health", HealthName(*c.health));
  if (c.exercise_duration_s) {
    if (*c.exercise_duration_s == kExerciseDurationOverrun) {
      out.Special("exercise_duration_s", "Overrun");
    } else {
      out.Set("exercise_duration_s", *c.exercise_duration_s);
    }
  }
  if (c.exercise_intensity_percent) out.Set("exercise_intensity_percent", *c.exercise_intensity_percent);
  if (c.medication_id) out.Set("medication", MedicationName(*c.medication_id));
  if (c.medication) {
    if (c.medication_unit == MedicationUnit::kLiters) {
      out.FloatScaled("medication_ml", *c.medication, 3);
    } else {
      out.FloatScaled("medication_mg", *c.medication, 6);
    }
  }
  if (c.hba1c_percent) out.Float("hba1c_percent", *c.hba1c_percent);
  return std::move(out).Finish();
}

json Convert(const BatteryLevel& b) { return json{{"battery_percent", b.battery_percent}}; }

json Convert(const RacpMessage& m) {
  Out out;
  out.Set("op_code", std::string(RacpOpCodeName(m.op_code)));
  out.Set("operator", std::string(RacpOperatorName(m.op)));
  if (m.filter) {
    out.Set("filter_type", m.filter->type == RacpFilterType::kSequenceNumber ? "sequence_number" : "user_facing_time");
    json operand = json::array();
    for (uint16_t s : m.filter->sequence_numbers) operand.push_back(s);
    for (const DateTime& t : m.filter->user_facing_times) {
      auto iso = t.ToIso8601();
      operand.push_back(iso ? json(*iso) : json(nullptr));
    }
    out.Set("operand", std::move(operand));
  }
  if (m.number_of_records) out.Set("number_of_records", *m.number_of_records);
  if (m.request_op_code) {
    const uint8_t req = *m.request_op_code;
    out.Set("request_op_code",
            req >= 1 && req <= 6 ? json(std::string(RacpOpCodeName(static_cast<RacpOpCode>(req)))) : json(req));
  }
  if (m.response_code) out.Set("response_code", std::string(RacpResponseCodeName(*m.response_code)));
  if (m.response_code) out.Set("response_code_value", *m.response_code);
  return std::move(out).Finish();
}

json Convert(const CurrentTime& t) {
  static constexpr const char* kDays[] = {"",         "monday", "tuesday",  "wednesday",
                                          "thursday", "friday", "saturday", "sunday"};
  Out out;
  out.Time("date_time", t.date_time);
  if (t.day_of_week == 0) {
    out.Special("day_of_week", "Unknown");
  } else {
    out.Set("day_of_week", kDays[t.day_of_week]);
  }
  out.Set("fractions256", t.fractions256);
  out.Set("adjust_reason", json{{"raw", t.adjust_reason},
                                {"manual_time_update", (t.adjust_reason & kAdjustManual) != 0},
                                {"external_reference_time_update", (t.adjust_reason & kAdjustExternalReference) != 0},
                                {"change_of_time_zone", (t.adjust_reason & kAdjustTimeZoneChange) != 0},
                                {"change_of_dst", (t.adjust_reason & kAdjustDstChange) != 0}});
  return std::move(out).Finish();
}

const char* DeviceInfoKey(Characteristic c) {
  switch (c) {
    case Characteristic::kManufacturerNameString:
      return "manufacturer_name";
    case Characteristic::kModelNumberString:
      return "model_number";
    case Characteristic::kSerialNumberString:
      return "serial_number";
    case Characteristic::kFirmwareRevisionString:
      return "firmware_revision";
    default:
      return "value";
  }
}

}  // namespace

nlohmann::json ToJson(const Decoded& decoded) {
  return std::visit(
      [&decoded](const auto& v) -> json {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, DeviceInfoString>) {
          return json{{DeviceInfoKey(decoded.characteristic), v.value}};
        } else {
          return Convert(v);
        }
      },
      decoded.value);
}

}  // namespace healthtwin::ble
