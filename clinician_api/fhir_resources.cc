// Patient and CommunicationRequest from healthtwin_fhir; Observations a TEMPORARY stand-in
// (fhir_resources.h says why).
#include "clinician_api/fhir_resources.h"

#include <algorithm>

#include "absl/time/time.h"
#include "clinician_api/fhir_search.h"
#include "services/feeds/fhir/alerts.h"
#include "services/feeds/fhir/vitals.h"

namespace healthtwin::clinician {
namespace {

std::string Instant(const google::protobuf::Timestamp& ts) {
  return FhirInstant(ts.seconds() * 1'000'000 + ts.nanos() / 1000);
}

}  // namespace

std::vector<nlohmann::json> FeedsFhirResources::ObservationsFor(
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

nlohmann::json FeedsFhirResources::PatientFor(const std::string& patient_id) const {
  return feeds::fhir::BuildPatient(patient_id);
}

nlohmann::json FeedsFhirResources::CommunicationRequestFor(const healthtwin::alerts::v1::Alert& alert) const {
  namespace a = healthtwin::alerts::v1;
  // The alert as its latest state: raised (phase 1 active), ended awaiting acknowledgement
  // (latched: phase 2) or resolved (phase 3), as alerts.state stores it (migration 0009).
  feeds::fhir::AlertEvent e;
  e.alert_id = alert.alert_id();
  e.kind = alerts::lifecycle::EventKind::kRaised;
  e.event_at_us = alert.raised_at().seconds() * 1'000'000 + alert.raised_at().nanos() / 1000;
  e.patient_id = alert.patient_id();
  e.rule_id = alert.rule_id();
  e.priority = static_cast<int>(alert.priority());
  e.category = alert.category() == a::ALARM_CATEGORY_TECHNICAL ? 2 : 1;
  e.phase = alert.state() == a::ALERT_STATE_RESOLVED ? 3 : alert.state() == a::ALERT_STATE_LATCHED ? 2 : 1;
  e.summary = alert.summary();
  e.peak_value = alert.peak_value();
  e.ucum_unit = alert.ucum_unit();
  const feeds::fhir::AlertResources built = feeds::fhir::BuildAlertResources(e);
  auto it = std::find_if(built.resources.begin(), built.resources.end(),
                         [](const nlohmann::json& r) { return r.value("resourceType", "") == "CommunicationRequest"; });
  return it == built.resources.end() ? nlohmann::json::object() : *it;
}

}  // namespace healthtwin::clinician
