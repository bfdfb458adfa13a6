// Search parameters of the FHIR read API (fhir_api.h), parsed without any I/O so the rules are
// unit-tested alone. Every error is InvalidArgument whose message starts with the parameter's
// name ("date: ..."), which the API returns as a 400 OperationOutcome.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/vital_type.h"

namespace healthtwin::clinician {

// Query parameters as received, in order, one entry per occurrence (date may repeat).
using QueryParams = std::multimap<std::string, std::string>;

// The vital types the read API serves as Observations: those with an R4 vital-signs profile
// (services/feeds/fhir/codes.h), ascending. Mean arterial BP and glucose have none and are not
// served (no guessed code), so a search without `code` asks the vitals query for these only.
std::vector<common::VitalType> ServedVitalTypes();

// A dateTime in FHIR's format, UTC with microseconds: "2026-12-07T01:02:03.000004Z".
std::string FhirInstant(int64_t unix_us);

// Observation?patient=&code=&date=ge..&date=lt..&_count=&_cursor=
struct ObservationSearch {
  std::string patient_id;
  std::vector<common::VitalType> types;  // never empty: the code's types, else ServedVitalTypes()
  std::string code;                      // as given, for the links
  int64_t start_us = 0;                  // inclusive
  int64_t end_us = 0;                    // exclusive
  uint32_t count = 0;
  std::string cursor;  // opaque: the vitals query's keyset page token
};

inline constexpr uint32_t kDefaultCount = 100;
inline constexpr uint32_t kMaxCount = 1000;

// `now_us` fills the default end (now + 1 day, so devices a little ahead are still found).
absl::StatusOr<ObservationSearch> ParseObservationSearch(const QueryParams& params, int64_t now_us);

// CommunicationRequest?patient=&status=&_count=&_cursor=
struct CommunicationRequestSearch {
  std::string patient_id;  // empty: the caller's care team
  std::string status;      // "", "active" or "completed"
  uint32_t count = 0;
  std::string cursor;
};
absl::StatusOr<CommunicationRequestSearch> ParseCommunicationRequestSearch(const QueryParams& params);

// The well-formed patient ids a search names in `patient` or `subject` (none when they are
// missing or malformed): what the role and care-team check runs on before the search is
// validated.
std::vector<std::string> PatientsNamed(const QueryParams& params);

// application/x-www-form-urlencoded component encoding, for the links we build.
std::string UrlEncode(std::string_view s);

}  // namespace healthtwin::clinician
