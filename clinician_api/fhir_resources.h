// The FHIR R4 resource bodies the read API serves, behind a small interface so the API (routing,
// auth, audit, paging, OperationOutcome) does not depend on how they are built.
//
// FeedsFhirResources builds every resource with the shared builders of services/feeds/fhir
// (healthtwin_fhir: R4 vital-signs Observations with BP panels and ids from the row's ingest_seq,
// pseudonymous Patient, IHE mACM CommunicationRequest), so the read API serves what the
// rest-hook feed pushes, with the same ids.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "healthtwin/alerts/v1/alerts.pb.h"
#include "healthtwin/vitals/v1/vitals.pb.h"

namespace healthtwin::clinician {

class FhirResources {
 public:
  virtual ~FhirResources() = default;
  // Observations for stored samples of one patient, in the given order; each has an "id". The
  // systolic and diastolic rows of one reading become one blood pressure panel.
  virtual std::vector<nlohmann::json> ObservationsFor(
      const google::protobuf::RepeatedPtrField<healthtwin::vitals::v1::StoredSample>& samples) const = 0;
  virtual nlohmann::json PatientFor(const std::string& patient_id) const = 0;
  // The IHE mACM CommunicationRequest of an alert; its "status" is "active" or "completed".
  virtual nlohmann::json CommunicationRequestFor(const healthtwin::alerts::v1::Alert& alert) const = 0;
};

// See above: every resource from healthtwin_fhir.
class FeedsFhirResources final : public FhirResources {
 public:
  std::vector<nlohmann::json> ObservationsFor(
      const google::protobuf::RepeatedPtrField<healthtwin::vitals::v1::StoredSample>& samples) const override;
  nlohmann::json PatientFor(const std::string& patient_id) const override;
  nlohmann::json CommunicationRequestFor(const healthtwin::alerts::v1::Alert& alert) const override;
};

}  // namespace healthtwin::clinician
