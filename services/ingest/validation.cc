#include "services/ingest/validation.h"

#include <cctype>
#include <cmath>
#include <cstdio>

namespace healthtwin::ingest {
namespace {

// Limits in canonical units. "Possible" bounds what a living person can show and a device
// can measure; outside it a value is an artefact and is rejected. "Likely" bounds what is
// usual even in acute illness; outside it a value is stored but flagged for review.
// The likely bands follow the extremes of the NEWS2 scoring bands (Royal College of
// Physicians, National Early Warning Score 2, 2017: HR <=40 / >=131, SBP <=90 / >=220,
// SpO2 <=91, temperature <=35.0 / >=39.1, RR <=8 / >=25) widened to where even a score
// of 3 is unusual; the possible bounds are device measuring ranges (e.g. ISO 81060-2 cuffs
// 0-300 mmHg, GATT 2A37 uint8 HR up to 255 with uint16 beyond) and survival limits.
struct Limits {
  double possible_min, possible_max, likely_min, likely_max;
};

Limits LimitsFor(VitalType type) {
  switch (type) {
    case VitalType::kHeartRate:
    case VitalType::kPulseRate:
      return {1, 300, 30, 220};
    case VitalType::kSystolicBp:
      return {30, 300, 70, 250};
    case VitalType::kDiastolicBp:
      return {10, 200, 35, 150};
    case VitalType::kMeanArterialBp:
      return {20, 250, 50, 180};
    case VitalType::kSpo2:
      return {30, 100, 70, 100};
    case VitalType::kBodyTemperature:
      return {25, 45, 34, 42};
    case VitalType::kBodyWeight:
      return {0.5, 500, 20, 300};
    case VitalType::kGlucose:
      return {10, 2000, 40, 500};
    case VitalType::kRespiratoryRate:
      return {1, 80, 6, 40};
    case VitalType::kUnspecified:
      break;
  }
  return {0, 0, 0, 0};
}

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

Rejection Reject(const IncomingSample& in, RejectReason reason, std::string detail) {
  return Rejection{in.sender_seq, reason, std::move(detail)};
}

}  // namespace

std::optional<double> ToCanonicalUnit(VitalType type, double value, std::string_view u) {
  switch (type) {
    case VitalType::kHeartRate:
    case VitalType::kPulseRate:
    case VitalType::kRespiratoryRate:
      if (u == "/min" || u == "{beats}/min" || u == "{breaths}/min") return value;
      return std::nullopt;
    case VitalType::kSystolicBp:
    case VitalType::kDiastolicBp:
    case VitalType::kMeanArterialBp:
      if (u == "mm[Hg]") return value;
      // 1 mmHg = 13.5951 g/cm3 x 9.80665 m/s2 x 1 mm = 133.322387415 Pa (the conventional
      // millimetre of mercury; not the torr, 101325/760 Pa, which is 1.4 ppm smaller).
      if (u == "kPa") return value * (1000.0 / 133.322387415);
      return std::nullopt;
    case VitalType::kSpo2:
      if (u == "%") return value;
      return std::nullopt;
    case VitalType::kBodyTemperature:
      if (u == "Cel") return value;
      if (u == "[degF]") return (value - 32.0) * 5.0 / 9.0;
      return std::nullopt;
    case VitalType::kBodyWeight:
      if (u == "kg") return value;
      if (u == "[lb_av]") return value * 0.45359237;  // exact, by definition of the pound
      return std::nullopt;
    case VitalType::kGlucose:
      if (u == "mg/dL") return value;
      // Glucose molar mass 180.156 g/mol: 1 mmol/L = 18.0156 mg/dL.
      if (u == "mmol/L") return value * 18.0156;
      return std::nullopt;
    case VitalType::kUnspecified:
      break;
  }
  return std::nullopt;
}

std::optional<Rejection> CheckDeviceId(uint64_t sender_seq, const std::string& device_id) {
  if (device_id.empty()) return Rejection{sender_seq, RejectReason::kMissingField, "device_id: empty"};
  if (device_id.size() > kMaxDeviceIdLength) {
    return Rejection{sender_seq, RejectReason::kInvalidDeviceId,
                     "device_id: " + std::to_string(device_id.size()) + " characters; at most " +
                         std::to_string(kMaxDeviceIdLength)};
  }
  for (char c : device_id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == ':')) {
      return Rejection{sender_seq, RejectReason::kInvalidDeviceId,
                       "device_id: may contain only letters, digits and . _ - :"};
    }
  }
  return std::nullopt;
}

Verdict ValidateSample(const IncomingSample& in, int64_t now_us) {
  if (!in.mapping_error.empty()) return Reject(in, RejectReason::kInvalidField, in.mapping_error);
  if (in.device_record_seq > kMaxDeviceRecordSeq) {
    return Reject(in, RejectReason::kInvalidField,
                  "device_record_seq: " + std::to_string(in.device_record_seq) + " is above " +
                      std::to_string(kMaxDeviceRecordSeq));
  }
  if (auto bad = CheckDeviceId(in.sender_seq, in.device_id)) return *std::move(bad);
  if (!common::IsKnownVitalType(in.type)) {
    return Reject(in, RejectReason::kMissingField, "type: " + std::to_string(in.type) + " is not a known VitalType");
  }
  const auto type = static_cast<VitalType>(in.type);
  if (!in.measured_at_us) return Reject(in, RejectReason::kMissingField, "measured_at: missing");
  if (in.ucum_unit.empty()) return Reject(in, RejectReason::kMissingField, "ucum_unit: empty");
  if (!std::isfinite(in.value)) {
    return Reject(in, RejectReason::kImplausibleValue, "value: not a finite number");
  }
  auto canonical = ToCanonicalUnit(type, in.value, in.ucum_unit);
  if (!canonical) {
    return Reject(in, RejectReason::kUnknownUnit,
                  "ucum_unit: '" + in.ucum_unit + "' is not accepted for " + std::string(VitalTypeName(type)) +
                      " (canonical '" + std::string(common::CanonicalUnit(type)) + "')");
  }

  const int64_t reference_us = in.received_at_us.value_or(now_us);
  if (*in.measured_at_us > reference_us + kMaxFutureUs || *in.measured_at_us > now_us + kMaxFutureUs) {
    return Reject(in, RejectReason::kFutureTimestamp, "measured_at: more than 5 min in the future");
  }
  if (in.received_at_us && *in.received_at_us > now_us + kMaxFutureUs) {
    return Reject(in, RejectReason::kFutureTimestamp, "received_at: more than 5 min in the future");
  }

  const Limits lim = LimitsFor(type);
  if (*canonical < lim.possible_min || *canonical > lim.possible_max) {
    return Reject(in, RejectReason::kImplausibleValue,
                  "value: " + std::string(VitalTypeName(type)) + " " + Fmt(*canonical) + " " +
                      std::string(common::CanonicalUnit(type)) + " is outside the possible range " +
                      Fmt(lim.possible_min) + ".." + Fmt(lim.possible_max));
  }

  ValidSample out;
  out.sender_seq = in.sender_seq;
  out.device_id = in.device_id;
  out.type = type;
  out.value = *canonical;
  out.measured_at_us = *in.measured_at_us;
  out.received_at_us = in.received_at_us;
  out.device_record_seq = in.device_record_seq;
  if (*canonical < lim.likely_min || *canonical > lim.likely_max) out.flags |= kFlagUnlikelyValue;
  // A device clock ahead of the gateway's is skew for certain; one behind is normal for
  // stored records fetched later, so only the forward direction is flagged here.
  if (in.received_at_us && *in.measured_at_us > *in.received_at_us + kClockSkewFlagUs) out.flags |= kFlagClockSkew;
  return out;
}

}  // namespace healthtwin::ingest
