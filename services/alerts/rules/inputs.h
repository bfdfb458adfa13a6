// What the rule engine reads for one patient: vitals, twin events and device status. Plain
// structs with no behaviour; the evaluator (or a test, or the alarm-burden bench) fills them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "services/alerts/rules/settings.h"

namespace healthtwin::alerts::rules {

// Numbers of healthtwin.vitals.v1.VitalType (protos/healthtwin/vitals/v1/vitals.proto).
inline constexpr int kHeartRate = 1;
inline constexpr int kSystolicBp = 2;
inline constexpr int kSpo2 = 5;
inline constexpr int kBodyTemperature = 6;
inline constexpr int kBodyWeight = 7;
inline constexpr int kRespiratoryRate = 9;
inline constexpr int kPulseRate = 10;

// VitalPoint::flags. A sample carrying any of kIgnoredFlags is not evidence of a condition
// and is skipped by every rule: the device itself says the value is not the patient's.
inline constexpr uint32_t kFlagSensorContactLost = 1u << 0;  // strap or probe off the skin
inline constexpr uint32_t kFlagMotionArtefact = 1u << 1;     // device-reported motion
inline constexpr uint32_t kFlagDeviceError = 1u << 2;        // cuff error frame, measurement status bits
inline constexpr uint32_t kIgnoredFlags = kFlagSensorContactLost | kFlagMotionArtefact | kFlagDeviceError;

// One stored vital sign in its canonical unit (see VitalType).
struct VitalPoint {
  int vital_type = 0;
  double value = 0;
  int64_t measured_us = 0;  // data time, microseconds since the Unix epoch
  uint32_t flags = 0;
  std::string device_id;
};

// One twin_events row: the twin service's verdict that the patient drifts from their model.
struct TwinEvent {
  std::string type;  // "weight_rising", "weight_gain_with_rising_hr", ...
  int64_t started_us = 0;
  int64_t detected_us = 0;
  double magnitude = 0;  // in the event type's unit (kg for weight_*)
  // Set when the twin service declared the drift over; 0 while it continues.
  int64_t ended_us = 0;
};

// Latest status of one paired device, as the device status tables keep it.
struct DeviceStatus {
  std::string device_id;
  std::string kind;                   // "hr_strap", "watch", "oximeter", "bp_cuff", "thermometer", "scale"
  int battery_percent = -1;           // -1 when the device does not report a battery level
  int64_t contact_lost_since_us = 0;  // 0 while the sensor is in contact (or does not say)
  bool connected = true;
  int64_t last_sample_us = 0;      // newest sample stored from this device; 0 never
  double expected_interval_s = 0;  // cadence the patient's plan expects; 0 = no expectation
  double clock_skew_s = 0;         // device clock minus gateway clock, latest estimate
  int64_t status_at_us = 0;        // when this status was observed
};

// The resting heart rate of one completed data-time (UTC) day, summarised where the samples
// are (the evaluator computes it in SQL): the 10th percentile by percentile_disc (the smallest
// value with at least 10 % of the day's valid samples at or below it) of the valid heart-rate
// and pulse samples of that day, and how many there were. Lets resting_hr_rise read 9 rows
// instead of 9 days of 1 Hz samples.
struct DailyRestingHr {
  int64_t day = 0;  // days since the Unix epoch (UTC)
  double p10_bpm = 0;
  int64_t samples = 0;
};

struct GatewayStatus {
  std::string gateway_id;
  int64_t last_heartbeat_us = 0;
};

// Everything Evaluate reads. The spans are views: the caller keeps the data alive for the call.
struct PatientInputs {
  std::string patient_id;
  PatientAlertSettings settings;
  // Sorted by measured_us, covering at least RuleEngine::lookback_us() before `now`; any types.
  std::span<const VitalPoint> vitals;
  std::span<const TwinEvent> twin_events;
  std::span<const DeviceStatus> devices;
  std::span<const GatewayStatus> gateways;
  // Samples the ingest quarantined for this patient in the last 24 h (implausible values,
  // unknown units, future timestamps): a sign of a misbehaving device.
  int quarantined_last_24h = 0;
  // When set, resting_hr_rise reads the completed days from resting_hr_days (any day missing
  // there has no data) instead of computing them from `vitals`; the two give the same verdict
  // (engine_test.cc, RestingHrRiseFromDailySummariesMatchesRawSamples).
  bool resting_hr_days_given = false;
  std::span<const DailyRestingHr> resting_hr_days;
};

}  // namespace healthtwin::alerts::rules
