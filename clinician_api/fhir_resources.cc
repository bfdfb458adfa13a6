// Every resource from the shared builders of services/feeds/fhir (healthtwin_fhir).
#include "clinician_api/fhir_resources.h"

#include <algorithm>

#include "services/common/logging.h"
#include "services/feeds/fhir/alerts.h"
#include "services/feeds/fhir/vitals.h"

namespace healthtwin::clinician {

std::vector<nlohmann::json> FeedsFhirResources::ObservationsFor(
    const google::protobuf::RepeatedPtrField<healthtwin::vitals::v1::StoredSample>& samples) const {
  std::vector<feeds::fhir::VitalSample> rows;
  rows.reserve(samples.size());
  for (const auto& s : samples) {
    rows.push_back({.ingest_seq = s.ingest_seq(),
                    .patient_id = s.patient_id(),
                    .device_id = s.device_id(),
                    .type = static_cast<common::VitalType>(s.type()),
                    .value = s.value(),
                    .ucum_unit = s.ucum_unit(),
                    .measured_at_us = s.measured_at().seconds() * 1'000'000 + s.measured_at().nanos() / 1000});
  }
  feeds::fhir::VitalObservations built = feeds::fhir::BuildVitalObservations(rows);
  if (built.skipped_without_profile > 0 || built.skipped_unit_mismatch > 0) {
    // The search asks only for served types, stored in their canonical (profile) units, so this
    // means a row the vitals query should not have returned.
    common::LogWarn("fhir.observations_skipped", {{"without_profile", built.skipped_without_profile},
                                                  {"unit_mismatch", built.skipped_unit_mismatch}});
  }
  return std::move(built.observations);
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
