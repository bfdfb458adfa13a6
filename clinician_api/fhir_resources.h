// The FHIR R4 resource bodies the read API serves, behind a small interface so the API (routing,
// auth, audit, paging, OperationOutcome) does not depend on how they are built.
//
// TEMPORARY: InterimFhirResources below is a minimal stand-in until the shared builders of
// services/feeds/fhir (library healthtwin_fhir, branch fhir-push: vital-signs profiles, BP panel,
// device, IHE mACM) are merged; then an adapter over healthtwin_fhir implements this interface
// and InterimFhirResources is deleted. Do not extend it.
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
  // Observations for stored samples of one patient, in the given order; each has an "id".
  virtual std::vector<nlohmann::json> ObservationsFor(
      const google::protobuf::RepeatedPtrField<healthtwin::vitals::v1::StoredSample>& samples) const = 0;
  virtual nlohmann::json PatientFor(const std::string& patient_id) const = 0;
  // The IHE mACM CommunicationRequest of an alert; its "status" is "active" or "completed".
  virtual nlohmann::json CommunicationRequestFor(const healthtwin::alerts::v1::Alert& alert) const = 0;
};

// TEMPORARY (see above): minimal bodies, one Observation per sample.
class InterimFhirResources final : public FhirResources {
 public:
  std::vector<nlohmann::json> ObservationsFor(
      const google::protobuf::RepeatedPtrField<healthtwin::vitals::v1::StoredSample>& samples) const override;
  nlohmann::json PatientFor(const std::string& patient_id) const override;
  nlohmann::json CommunicationRequestFor(const healthtwin::alerts::v1::Alert& alert) const override;
};

}  // namespace healthtwin::clinician
