// The codes of the FHIR R4 vital-signs profiles, per healthtwin vital type.
//
// Source: FHIR R4 (4.0.1) Vital Signs, http://hl7.org/fhir/R4/observation-vitalsigns.html, and
// its profiles http://hl7.org/fhir/StructureDefinition/{heartrate,bp,oxygensat,bodytemp,
// bodyweight,resprate}: the LOINC codes (https://loinc.org) and the UCUM units
// (http://unitsofmeasure.org) they fix.
#pragma once

#include <optional>
#include <string_view>

#include "services/common/vital_type.h"

namespace healthtwin::feeds::fhir {

inline constexpr std::string_view kLoincSystem = "http://loinc.org";
inline constexpr std::string_view kUcumSystem = "http://unitsofmeasure.org";
// R4 Observation.category, code system observation-category
// (http://hl7.org/fhir/R4/codesystem-observation-category.html).
inline constexpr std::string_view kObservationCategorySystem =
    "http://terminology.hl7.org/CodeSystem/observation-category";
// R4 data-absent-reason (http://hl7.org/fhir/R4/codesystem-data-absent-reason.html).
inline constexpr std::string_view kDataAbsentReasonSystem = "http://terminology.hl7.org/CodeSystem/data-absent-reason";

// Blood pressure panel, R4 profile "bp": 85354-9 with components 8480-6 (systolic) and 8462-4
// (diastolic), both mm[Hg].
inline constexpr std::string_view kBpPanelLoinc = "85354-9";
inline constexpr std::string_view kSystolicLoinc = "8480-6";
inline constexpr std::string_view kDiastolicLoinc = "8462-4";
inline constexpr std::string_view kBpProfile = "http://hl7.org/fhir/StructureDefinition/bp";

struct VitalCoding {
  std::string_view loinc;
  std::string_view display;
  // A second LOINC coding the profile also requires (SpO2: 59408-5 by pulse oximetry), or "".
  std::string_view extra_loinc;
  std::string_view extra_display;
  std::string_view ucum;  // the profile's fixed unit, the same as common::CanonicalUnit(type)
  std::string_view profile;
};

// The single-valued vital types: heart rate and pulse rate (8867-4 /min: the R4 heartrate
// profile has one code for both), SpO2 (2708-6 + 59408-5, %), body temperature (8310-5 Cel),
// body weight (29463-7 kg), respiratory rate (9279-1 /min). nullopt for the BP halves (they go
// into the 85354-9 panel, see vitals.h) and for the types without an R4 vital-signs profile
// (mean arterial BP, glucose): those are not sent, and counted, never given a guessed code.
std::optional<VitalCoding> SingleVitalCoding(common::VitalType type);

}  // namespace healthtwin::feeds::fhir
