// Stable FHIR resource ids derived from our row identities, so a resend, a replica or a replay
// produces the same ids (and the clinician API's read endpoints serve the same ones), and FHIR
// times from our microsecond timestamps. Pure functions, thread-safe.
//
// A FHIR id is 1-64 of [A-Za-z0-9.-] (R4 datatypes, "id"). Our patient ids (1-64 of
// [A-Za-z0-9._-]) and device ids (also ':') are used as they are when they already fit, else
// replaced by "h-" and 40 hex digits of their SHA-256 (same input, same id; the raw device id
// also travels as a Device.identifier so a receiver can map it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace healthtwin::feeds::fhir {

bool IsFhirId(std::string_view id);
// `raw` itself when it is a FHIR id, else "h-<sha256 hex, 40 digits>".
std::string StableId(std::string_view raw);

std::string PatientId(std::string_view patient_id);
std::string DeviceId(std::string_view device_id);
// One vitals row: "ht-obs-<ingest_seq>". A BP panel: "ht-bp-<systolic seq>-<diastolic seq>",
// with "x" for a missing half.
std::string VitalObservationId(int64_t ingest_seq);
std::string BpObservationId(int64_t systolic_seq, int64_t diastolic_seq);  // 0: missing half
// The alert's resources keep their id over its transitions (each event updates them); an
// acknowledgement's Communication is per event. alert_id is a UUID (36 characters).
std::string AlertCommunicationRequestId(std::string_view alert_id);
std::string AlertDetectedIssueId(std::string_view alert_id);
std::string AlertTriggerObservationId(std::string_view alert_id);
std::string AcknowledgementCommunicationId(int64_t event_seq);

// A UUID (RFC 4122 layout, version 8: name-based with SHA-256) derived from `name`, for
// fullUrls of entries without an id: the same name gives the same UUID.
std::string DerivedUuid(std::string_view name);

// An R4 instant / dateTime in UTC with milliseconds: "2026-12-07T01:17:43.123Z".
std::string FhirInstant(int64_t unix_us);

}  // namespace healthtwin::feeds::fhir
