#include "services/ingest/device_status.h"

#include <cmath>
#include <limits>

namespace healthtwin::ingest {
namespace {

constexpr std::size_t kMaxBridgeVersionLength = 64;

Rejection Reject(const IncomingDeviceStatus& in, RejectReason reason, std::string detail) {
  return Rejection{in.sender_seq, reason, std::move(detail)};
}

std::optional<Rejection> CheckTime(const IncomingDeviceStatus& in, const std::optional<int64_t>& at_us,
                                   const char* field, int64_t now_us) {
  if (!at_us) return Reject(in, RejectReason::kMissingField, std::string(field) + ": missing");
  if (*at_us > now_us + kMaxFutureUs) {
    return Reject(in, RejectReason::kFutureTimestamp, std::string(field) + ": more than 5 min in the future");
  }
  return std::nullopt;
}

}  // namespace

StatusVerdict ValidateDeviceStatus(const IncomingDeviceStatus& in, int64_t now_us) {
  if (!in.mapping_error.empty()) return Reject(in, RejectReason::kInvalidField, in.mapping_error);
  if (auto bad = CheckDeviceId(in.sender_seq, in.device_id)) return *std::move(bad);
  if (auto bad = CheckTime(in, in.observed_at_us, "observed_at", now_us)) return *std::move(bad);
  if (in.connection == 0) return Reject(in, RejectReason::kMissingField, "connection: unspecified");
  if (in.connection != kConnectionConnected && in.connection != kConnectionDisconnected) {
    return Reject(in, RejectReason::kInvalidField,
                  "connection: " + std::to_string(in.connection) + " is not a known ConnectionState");
  }
  if (auto bad = CheckTime(in, in.connection_changed_at_us, "connection_changed_at", now_us)) return *std::move(bad);
  if (*in.connection_changed_at_us > *in.observed_at_us) {
    return Reject(in, RejectReason::kInvalidField, "connection_changed_at: after observed_at");
  }
  if (in.battery_percent && (*in.battery_percent < 0 || *in.battery_percent > 100)) {
    return Reject(in, RejectReason::kImplausibleValue,
                  "battery_percent: " + std::to_string(*in.battery_percent) + " is outside 0..100");
  }
  if (in.sensor_contact < static_cast<int>(SensorContact::kUnknown) ||
      in.sensor_contact > static_cast<int>(SensorContact::kNotDetected)) {
    return Reject(in, RejectReason::kInvalidField,
                  "sensor_contact: " + std::to_string(in.sensor_contact) + " is not a known SensorContact");
  }
  if (in.clock_skew_s && !(std::isfinite(*in.clock_skew_s) && std::abs(*in.clock_skew_s) <= kMaxAbsClockSkewS)) {
    return Reject(in, RejectReason::kInvalidField, "clock_skew_s: not a finite number of at most 200 years");
  }

  ValidDeviceStatus out;
  out.sender_seq = in.sender_seq;
  out.device_id = in.device_id;
  out.observed_at_us = *in.observed_at_us;
  if (in.battery_percent) out.battery_percent = static_cast<int>(*in.battery_percent);
  out.sensor_contact = static_cast<SensorContact>(in.sensor_contact);
  out.connected = in.connection == kConnectionConnected;
  out.connection_changed_at_us = *in.connection_changed_at_us;
  out.clock_skew_s = in.clock_skew_s;
  return out;
}

absl::StatusOr<GatewayHeartbeat> ValidateHeartbeat(const IncomingHeartbeat& in, int64_t now_us) {
  if (!in.mapping_error.empty()) return absl::InvalidArgumentError("gateway." + in.mapping_error);
  if (!in.observed_at_us) return absl::InvalidArgumentError("gateway.observed_at: missing");
  if (*in.observed_at_us > now_us + kMaxFutureUs) {
    return absl::InvalidArgumentError("gateway.observed_at: more than 5 min in the future");
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (in.outbox_depth > kMax) return absl::InvalidArgumentError("gateway.outbox_depth: above 2^63 - 1");
  if (in.uptime_s > kMax) return absl::InvalidArgumentError("gateway.uptime_s: above 2^63 - 1");
  if (in.bridge_version.size() > kMaxBridgeVersionLength) {
    return absl::InvalidArgumentError("gateway.bridge_version: " + std::to_string(in.bridge_version.size()) +
                                      " characters; at most 64");
  }
  return GatewayHeartbeat{*in.observed_at_us, static_cast<int64_t>(in.outbox_depth), in.bridge_version,
                          static_cast<int64_t>(in.uptime_s)};
}

}  // namespace healthtwin::ingest
