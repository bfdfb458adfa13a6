#include "services/feeds/fhir/ids.h"

#include <openssl/sha.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace healthtwin::feeds::fhir {

bool IsFhirId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (const char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return false;
  }
  return true;
}

std::string StableId(std::string_view raw) {
  if (IsFhirId(raw)) return std::string(raw);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(raw.data()), raw.size(), digest);
  const std::string hex = absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 20));
  return absl::StrCat("h-", hex);
}

std::string PatientId(std::string_view patient_id) { return StableId(patient_id); }
std::string DeviceId(std::string_view device_id) { return StableId(device_id); }

std::string VitalObservationId(int64_t ingest_seq) { return absl::StrCat("ht-obs-", ingest_seq); }

std::string BpObservationId(int64_t systolic_seq, int64_t diastolic_seq) {
  auto part = [](int64_t seq) { return seq > 0 ? absl::StrCat(seq) : std::string("x"); };
  return absl::StrCat("ht-bp-", part(systolic_seq), "-", part(diastolic_seq));
}

std::string AlertCommunicationRequestId(std::string_view alert_id) {
  return StableId("ht-cr-" + std::string(alert_id));
}
std::string AlertDetectedIssueId(std::string_view alert_id) { return StableId("ht-di-" + std::string(alert_id)); }
std::string AlertTriggerObservationId(std::string_view alert_id) { return StableId("ht-trg-" + std::string(alert_id)); }
std::string AcknowledgementCommunicationId(int64_t event_seq) { return absl::StrCat("ht-ack-", event_seq); }

std::string DerivedUuid(std::string_view name) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), d);
  d[6] = static_cast<unsigned char>((d[6] & 0x0f) | 0x80);  // version 8 (RFC 9562 section 5.8)
  d[8] = static_cast<unsigned char>((d[8] & 0x3f) | 0x80);  // variant 10
  const std::string hex = absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(d), 16));
  return absl::StrCat(hex.substr(0, 8), "-", hex.substr(8, 4), "-", hex.substr(12, 4), "-", hex.substr(16, 4), "-",
                      hex.substr(20, 12));
}

std::string FhirInstant(int64_t unix_us) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
}

}  // namespace healthtwin::feeds::fhir
