#include "services/feeds/fhir/codes.h"

namespace healthtwin::feeds::fhir {

std::optional<VitalCoding> SingleVitalCoding(common::VitalType type) {
  using common::VitalType;
  switch (type) {
    case VitalType::kHeartRate:
    case VitalType::kPulseRate:
      // R4 heartrate profile: LOINC 8867-4 "Heart rate", UCUM /min.
      return VitalCoding{"8867-4", "Heart rate", "", "", "/min", "http://hl7.org/fhir/StructureDefinition/heartrate"};
    case VitalType::kSpo2:
      // R4 oxygensat profile: LOINC 2708-6 plus 59408-5 "by Pulse oximetry", UCUM %.
      return VitalCoding{"2708-6",  "Oxygen saturation in Arterial blood",
                         "59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry",
                         "%",       "http://hl7.org/fhir/StructureDefinition/oxygensat"};
    case VitalType::kBodyTemperature:
      // R4 bodytemp profile: LOINC 8310-5, UCUM Cel (or [degF]; we store Cel).
      return VitalCoding{
          "8310-5", "Body temperature", "", "", "Cel", "http://hl7.org/fhir/StructureDefinition/bodytemp"};
    case VitalType::kBodyWeight:
      // R4 bodyweight profile: LOINC 29463-7, UCUM kg (or g, [lb_av]; we store kg).
      return VitalCoding{"29463-7", "Body weight", "", "", "kg", "http://hl7.org/fhir/StructureDefinition/bodyweight"};
    case VitalType::kRespiratoryRate:
      // R4 resprate profile: LOINC 9279-1, UCUM /min.
      return VitalCoding{
          "9279-1", "Respiratory rate", "", "", "/min", "http://hl7.org/fhir/StructureDefinition/resprate"};
    case VitalType::kSystolicBp:
    case VitalType::kDiastolicBp:
    case VitalType::kMeanArterialBp:
    case VitalType::kGlucose:
    case VitalType::kUnspecified:
      break;
  }
  return std::nullopt;
}

}  // namespace healthtwin::feeds::fhir
