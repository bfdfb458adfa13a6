// TEMPORARY stand-in for healthtwin_fhir (see fhir_resources.h); replaced at the fhir-push merge.
#include "clinician_api/fhir_resources.h"

#include "absl/time/time.h"
#include "clinician_api/fhir_search.h"

namespace healthtwin::clinician {
namespace {

std::string Instant(const google::protobuf::Timestamp& ts) {
  return FhirInstant(ts.seconds() * 1'000'000 + ts.nanos() / 1000);
}

}  // namespace

std::vector<nlohmann::json> InterimFhirResources::ObservationsFor(
    const google::protobuf::RepeatedPtrField<healthtwin::vitals::v1::StoredSample>& samples) const {
  std::vector<nlohmann::json> out;
  for (const auto& s : samples) {
    const int64_t at_us = s.measured_at().seconds() * 1'000'000 + s.measured_at().nanos() / 1000;
    nlohmann::json code = {{"coding", nlohmann::json::array()}};
    if (auto loinc = LoincOf(static_cast<common::VitalType>(s.type())); !loinc.empty()) {
      code["coding"].push_back({{"system", "http://loinc.org"}, {"code", std::string(loinc)}});
    }
    out.push_back({
        {"resourceType", "Observation"},
        {"id", s.patient_id() + "-" + std::to_string(static_cast<int>(s.type())) + "-" + std::to_string(at_us)},
        {"status", "final"},
        {"category",
         {{{"coding",
            {{{"system", "http://terminology.hl7.org/CodeSystem/observation-category"}, {"code", "vital-signs"}}}}}}},
        {"code", code},
        {"subject", {{"reference", "Patient/" + s.patient_id()}}},
        {"effectiveDateTime", Instant(s.measured_at())},
        {"valueQuantity",
         {{"value", s.value()},
          {"unit", s.ucum_unit()},
          {"system", "http://unitsofmeasure.org"},
          {"code", s.ucum_unit()}}},
        {"device", {{"reference", "Device/" + s.device_id()}}},
    });
  }
  return out;
}

nlohmann::json InterimFhirResources::PatientFor(const std::string& patient_id) const {
  return {{"resourceType", "Patient"}, {"id", patient_id}, {"active", true}};
}

nlohmann::json InterimFhirResources::CommunicationRequestFor(const healthtwin::alerts::v1::Alert& alert) const {
  const bool done = alert.state() == healthtwin::alerts::v1::ALERT_STATE_RESOLVED;
  return {
      {"resourceType", "CommunicationRequest"},
      {"id", alert.alert_id()},
      {"status", done ? "completed" : "active"},
      {"priority", alert.priority() == healthtwin::alerts::v1::PRIORITY_HIGH ? "stat" : "urgent"},
      {"subject", {{"reference", "Patient/" + alert.patient_id()}}},
      {"authoredOn", Instant(alert.raised_at())},
      {"payload", {{{"contentString", alert.summary()}}}},
  };
}

}  // namespace healthtwin::clinician
