#include "services/feeds/fhir/alerts.h"

#include "absl/strings/str_cat.h"
#include "services/feeds/fhir/ids.h"
#include "services/feeds/fhir/vitals.h"

namespace healthtwin::feeds::fhir {
namespace {

using alerts::lifecycle::EventKind;
using nlohmann::json;

// R4 communication-category (http://terminology.hl7.org/CodeSystem/communication-category):
// "alert", which mACM uses for its alert CommunicationRequests.
json AlertCategory() {
  return json::array(
      {json{{"coding", json::array({json{{"system", "http://terminology.hl7.org/CodeSystem/communication-category"},
                                         {"code", "alert"},
                                         {"display", "Alert"}}})}}});
}

json AlertIdentifier(const AlertEvent& e) {
  return json::array({json{{"system", "urn:healthtwin:alert-id"}, {"value", e.alert_id}}});
}

// Our rule as the reason: a local code system, never a guessed SNOMED/LOINC code.
json RuleConcept(const AlertEvent& e) {
  return json{{"coding", json::array({json{{"system", "urn:healthtwin:alert-rule"}, {"code", e.rule_id}}})},
              {"text", e.category == 2 ? absl::StrCat("technical alert ", e.rule_id)
                                       : absl::StrCat("physiological alert ", e.rule_id)}};
}

}  // namespace

std::string_view RequestPriority(int priority) {
  switch (priority) {
    case 3:
      return "stat";
    case 2:
      return "urgent";
    default:
      return "routine";
  }
}

std::string_view IssueSeverity(int priority) {
  switch (priority) {
    case 3:
      return "high";
    case 2:
      return "moderate";
    default:
      return "low";
  }
}

std::string_view RequestStatus(const AlertEvent& event) {
  if (event.kind == EventKind::kResolved) return "completed";
  if (event.kind == EventKind::kReopened) return "active";
  return event.phase == 3 ? "completed" : "active";
}

AlertResources BuildAlertResources(const AlertEvent& e) {
  AlertResources out;
  const std::string patient = PatientId(e.patient_id);
  const std::string when = FhirInstant(e.event_at_us);
  out.resources.push_back(BuildPatient(e.patient_id));

  json evidence_refs = json::array();
  if (const auto type = common::VitalTypeFromName(e.covers)) {
    VitalSample peak{0, e.patient_id, "", *type, e.peak_value, e.ucum_unit, e.event_at_us};
    if (auto o = BuildVitalObservation(AlertTriggerObservationId(e.alert_id), peak)) {
      out.resources.push_back(std::move(*o));
      evidence_refs.push_back(Reference("Observation", AlertTriggerObservationId(e.alert_id)));
    }
  }

  const std::string issue_id = AlertDetectedIssueId(e.alert_id);
  json issue = {{"resourceType", "DetectedIssue"},
                {"id", issue_id},
                {"identifier", AlertIdentifier(e)},
                {"status", "final"},
                {"code", RuleConcept(e)},
                {"severity", IssueSeverity(e.priority)},
                {"patient", Reference("Patient", patient)},
                {"identifiedDateTime", when},
                {"detail", e.summary}};
  if (!evidence_refs.empty()) issue["evidence"] = json::array({json{{"detail", evidence_refs}}});
  out.resources.push_back(std::move(issue));

  json about = evidence_refs;
  about.push_back(Reference("DetectedIssue", issue_id));
  const std::string request_id = AlertCommunicationRequestId(e.alert_id);
  out.resources.push_back({{"resourceType", "CommunicationRequest"},
                           {"id", request_id},
                           {"identifier", AlertIdentifier(e)},
                           {"status", RequestStatus(e)},
                           {"category", AlertCategory()},
                           {"priority", RequestPriority(e.priority)},
                           {"subject", Reference("Patient", patient)},
                           {"about", about},
                           {"payload", json::array({json{{"contentString", e.summary}}})},
                           {"authoredOn", when},
                           {"reasonCode", json::array({RuleConcept(e)})}});
  out.focus = absl::StrCat("CommunicationRequest/", request_id);

  if (e.kind == EventKind::kAcknowledged) {
    const std::string ack_id = AcknowledgementCommunicationId(e.event_seq);
    out.resources.push_back(
        {{"resourceType", "Communication"},
         {"id", ack_id},
         {"basedOn", json::array({Reference("CommunicationRequest", request_id)})},
         {"status", "completed"},
         {"category", AlertCategory()},
         {"subject", Reference("Patient", patient)},
         {"sent", when},
         // The care-team member who acknowledged, by our pseudonymous member id (there is no
         // Practitioner resource for them yet).
         {"sender", {{"identifier", {{"system", "urn:healthtwin:care-team-member"}, {"value", e.actor}}}}},
         {"payload", json::array({json{{"contentString", absl::StrCat("acknowledged by ", e.actor)}}})}});
    out.focus = absl::StrCat("Communication/", ack_id);
  }
  return out;
}

}  // namespace healthtwin::feeds::fhir
