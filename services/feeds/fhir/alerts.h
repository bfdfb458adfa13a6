// FHIR R4 resources for one alert event, in the shape of IHE ITI mACM (Mobile Alert
// Communication Management, ITI Technical Framework Supplement, Rev. 1.4, 2021-2022; ITI-84
// Mobile Report Alert): the alert is a CommunicationRequest (category alert, priority, status,
// payload text, about its evidence), the clinical finding behind it a DetectedIssue (severity,
// evidence = the triggering Observation), and each acknowledgement a Communication basedOn the
// CommunicationRequest (mACM's "response" to an alert). Pure, thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "nlohmann/json.hpp"
#include "services/feeds/fhir/views.h"

namespace healthtwin::feeds::fhir {

// R4 request-priority (routine | urgent | asap | stat) from our priority: high -> stat,
// medium -> urgent, low -> routine. asap is not used (we have three levels, FHIR four).
std::string_view RequestPriority(int priority);
// R4 detectedissue-severity (high | moderate | low) from our priority.
std::string_view IssueSeverity(int priority);
// R4 request-status: "completed" once the alert is resolved (the event is kResolved, or the
// alert's phase is 3), else "active" (active, or ended and latched awaiting acknowledgement).
std::string_view RequestStatus(const AlertEvent& event);

struct AlertResources {
  // Patient, the triggering Observation (when the rule's physiology has an R4 vital-signs
  // profile: the alert's peak value at the event time), DetectedIssue, CommunicationRequest,
  // and a Communication when the event is an acknowledgement.
  std::vector<nlohmann::json> resources;
  // The resource this event is about (notification focus): the acknowledgement's Communication,
  // else the CommunicationRequest. "Type/id".
  std::string focus;
};

AlertResources BuildAlertResources(const AlertEvent& event);

}  // namespace healthtwin::feeds::fhir
