// FHIR R4 resources for our vitals rows: vital-signs Observations (codes.h), the pseudonymous
// Patient and the Device. Pure, thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "services/feeds/fhir/views.h"

namespace healthtwin::feeds::fhir {

// {"reference": "<type>/<id>"}.
nlohmann::json Reference(std::string_view type, std::string_view id);

// A Patient with only its pseudonymous id (our patient id, ids.h): no identifier, name or
// birth date, because the system holds no identifying data.
nlohmann::json BuildPatient(std::string_view patient_id);
// A Device with our device id (a BLE address or registry id) as identifier
// urn:healthtwin:device-id, and its patient.
nlohmann::json BuildDevice(std::string_view device_id, std::string_view patient_id);

struct VitalObservations {
  std::vector<nlohmann::json> observations;  // in the order of the samples
  // Per observation: the ingest_seq and measured_at of its first row (a notification's event).
  std::vector<int64_t> first_ingest_seq;
  std::vector<int64_t> measured_at_us;
  // Samples of a type without an R4 vital-signs profile (mean arterial BP, glucose).
  int skipped_without_profile = 0;
  // Samples whose stored unit is not the profile's fixed unit (never converted or relabelled).
  int skipped_unit_mismatch = 0;
};

// One Observation per sample, except blood pressure: a systolic and a diastolic row of the same
// patient, device and measured_at (how a cuff reading is stored: two rows) become ONE 85354-9
// panel with both components; the first unpaired systolic pairs with the first unpaired
// diastolic of that key. A half whose partner is not in `samples` still makes a panel, the
// missing component carrying dataAbsentReason "unknown" (the R4 bp profile requires both
// components, each with a value or a dataAbsentReason).
VitalObservations BuildVitalObservations(std::span<const VitalSample> samples);

// A single vital-signs Observation with the given id (the alert's triggering observation);
// nullopt when the type has no profile or the unit is not the profile's. device_id may be "".
std::optional<nlohmann::json> BuildVitalObservation(std::string_view id, const VitalSample& sample);

}  // namespace healthtwin::feeds::fhir
