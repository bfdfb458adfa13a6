// Device and gateway status as ingest receives them (healthtwin.vitals.v1.DeviceStatus and
// GatewayStatus), and the checks each passes before it is stored: the input of technical
// alarms. Pure and deterministic: the current time is an argument. No gRPC here.
//
// A device status shares the samples' sequence space: its sender_seq is acknowledged by the
// same watermark, and a bad one is rejected with a Rejection naming the field, like a sample.
// A gateway heartbeat has no sequence number; a bad one is dropped (and logged by the caller):
// the next heartbeat replaces it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/statusor.h"
#include "services/ingest/validation.h"

namespace healthtwin::ingest {

// Values match healthtwin.vitals.v1.SensorContact; stored as is (smallint).
enum class SensorContact { kUnknown = 0, kNotSupported = 1, kDetected = 2, kNotDetected = 3 };
// Values match healthtwin.vitals.v1.ConnectionState.
inline constexpr int kConnectionConnected = 1;
inline constexpr int kConnectionDisconnected = 2;

// A device clock can be off by years (a clock never set starts in 2000 or 1970); beyond this
// the number is no clock at all.
inline constexpr double kMaxAbsClockSkewS = 200.0 * 365.25 * 86'400;

struct IncomingDeviceStatus {
  uint64_t sender_seq = 0;
  std::string device_id;
  std::optional<int64_t> observed_at_us;
  std::optional<int64_t> battery_percent;  // raw wire value; may be out of range
  int sensor_contact = 0;                  // raw wire value; may be unknown
  int connection = 0;                      // raw wire value; 0 is missing
  std::optional<int64_t> connection_changed_at_us;
  std::optional<double> clock_skew_s;
  // Set by the proto mapping when a Timestamp cannot be represented; names the field.
  std::string mapping_error;
};

struct ValidDeviceStatus {
  uint64_t sender_seq = 0;
  std::string device_id;
  int64_t observed_at_us = 0;
  std::optional<int> battery_percent;  // 0..100
  SensorContact sensor_contact = SensorContact::kUnknown;
  bool connected = false;
  int64_t connection_changed_at_us = 0;
  std::optional<double> clock_skew_s;
};

using StatusVerdict = std::variant<ValidDeviceStatus, Rejection>;

// Required: device_id (as for samples), observed_at and connection_changed_at (not more than
// kMaxFutureUs after `now_us`, the same tolerance as samples; connection_changed_at not after
// observed_at), connection (CONNECTED or DISCONNECTED). battery_percent, when present, 0..100;
// sensor_contact a known SensorContact; clock_skew_s, when present, finite and within
// kMaxAbsClockSkewS.
StatusVerdict ValidateDeviceStatus(const IncomingDeviceStatus& in, int64_t now_us);

struct IncomingHeartbeat {
  std::optional<int64_t> observed_at_us;
  uint64_t outbox_depth = 0;
  std::string bridge_version;
  uint64_t uptime_s = 0;
  std::string mapping_error;
};

struct GatewayHeartbeat {
  int64_t observed_at_us = 0;  // gateway clock
  int64_t outbox_depth = 0;
  std::string bridge_version;
  int64_t uptime_s = 0;
};

// InvalidArgument naming the field: observed_at missing or more than kMaxFutureUs ahead of
// `now_us`, outbox_depth or uptime_s above INT64_MAX, bridge_version longer than 64 characters.
absl::StatusOr<GatewayHeartbeat> ValidateHeartbeat(const IncomingHeartbeat& in, int64_t now_us);

}  // namespace healthtwin::ingest
