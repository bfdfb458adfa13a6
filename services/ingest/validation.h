// Checks one incoming sample before it is stored: required fields, UCUM unit
// normalisation, physiological plausibility and timestamp sanity.
//
// Pure and deterministic: the current time is an argument, so tests control it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "services/common/vital_type.h"

namespace healthtwin::ingest {

using common::VitalType;

// Bits of ValidSample::flags; bit (1 << n) for healthtwin.vitals.v1.SampleFlag value n.
inline constexpr uint32_t kFlagUnlikelyValue = 1u << 1;
inline constexpr uint32_t kFlagClockSkew = 1u << 2;

// How far a device timestamp may lie in the future of the gateway's receive time (or, if
// absent, of ingest's clock) before it is rejected, and the skew beyond which it is flagged.
inline constexpr int64_t kMaxFutureUs = 5LL * 60 * 1'000'000;
inline constexpr int64_t kClockSkewFlagUs = 60LL * 1'000'000;

struct IncomingSample {
  uint64_t sender_seq = 0;
  std::string device_id;
  int type = 0;  // raw wire value; may be unknown
  double value = 0;
  std::string ucum_unit;
  std::optional<int64_t> measured_at_us;
  std::optional<int64_t> received_at_us;
  uint64_t device_record_seq = 0;
  // Set by the proto mapping when a field cannot be represented (e.g. a Timestamp outside years
  // 0001..9999); names the field. The sample is then rejected with kInvalidField.
  std::string mapping_error;
};

struct ValidSample {
  uint64_t sender_seq = 0;
  std::string device_id;
  VitalType type = VitalType::kUnspecified;
  double value = 0;  // in CanonicalUnit(type)
  int64_t measured_at_us = 0;
  std::optional<int64_t> received_at_us;
  uint64_t device_record_seq = 0;
  uint32_t flags = 0;
};

// Values match healthtwin.vitals.v1.RejectReason.
enum class RejectReason {
  kImplausibleValue = 1,
  kUnknownUnit = 2,
  kFutureTimestamp = 3,
  kMissingField = 4,
  kInvalidDeviceId = 5,
  kQuarantineFull = 6,
  kInvalidField = 7,  // a value outside what its field can represent
};

// Device ids are the bridge's stable names for a device (e.g. "hr-AA:BB:CC:DD:EE:01"); they key
// quarantine and the registry, so they are bounded exactly like the registry's ids (CheckId).
inline constexpr std::size_t kMaxDeviceIdLength = 64;

// device_record_seq is stored as a PostgreSQL bigint.
inline constexpr uint64_t kMaxDeviceRecordSeq = static_cast<uint64_t>(INT64_MAX);

struct Rejection {
  uint64_t sender_seq = 0;
  RejectReason reason = RejectReason::kMissingField;
  std::string detail;  // names the field and the value
};

using Verdict = std::variant<ValidSample, Rejection>;

Verdict ValidateSample(const IncomingSample& in, int64_t now_us);

// The rejection of a device_id that is empty, too long or has a character outside letters,
// digits and . _ - : (for the sample or status `sender_seq`); nullopt when it is well formed.
std::optional<Rejection> CheckDeviceId(uint64_t sender_seq, const std::string& device_id);

// Converts `value` in `ucum_unit` to the canonical unit of `type`; nullopt when the unit is
// not one we accept for that type.
std::optional<double> ToCanonicalUnit(VitalType type, double value, std::string_view ucum_unit);

}  // namespace healthtwin::ingest
