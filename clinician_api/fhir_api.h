// The FHIR R4 read API under /fhir/r4 on clinician_api's HTTPS listener (issue 12 item 4): a
// thin HTTP adapter over the same domain operations as the gRPC edge (ClinicianServiceImpl's
// *As methods: policy, care team and audit rows are identical whichever edge asked).
//
//   GET /fhir/r4/metadata                          CapabilityStatement (what is served below)
//   GET /fhir/r4/Patient/{id}                      Patient            (audit patient.read)
//   GET /fhir/r4/Observation?patient=&code=&date=ge..&date=lt..&_count=
//                                                  searchset Bundle   (audit vitals.read)
//   GET /fhir/r4/CommunicationRequest?patient=&status=
//                                                  searchset Bundle   (audit alerts.list)
//
// Content type application/fhir+json. Every error is an OperationOutcome with its HTTP status:
// 400 naming the bad parameter, 401 (certificate without a usable identity), 403 (role or care
// team; audited), 404, 405, 413, 429/503 when overloaded or a dependency is down.
//
// Paging is by key: a Bundle's `next` link carries the resolved search (explicit date bounds)
// and `_cursor`, the owning query's opaque keyset token ((measured_at, ingest_seq) for
// vitals), never an offset, so rows stored between page fetches neither repeat nor go missing.
#pragma once

#include <httplib.h>

#include "clinician_api/clinician_service.h"
#include "clinician_api/fhir_resources.h"

namespace healthtwin::clinician {

inline constexpr char kFhirContentType[] = "application/fhir+json";

class FhirApi {
 public:
  // Neither is owned; both must outlive the server the routes are registered on.
  FhirApi(ClinicianServiceImpl& domain, const FhirResources& resources) : domain_(domain), resources_(resources) {}

  // Registers the routes, the 404/405/413 OperationOutcomes and the exception handler.
  void Register(httplib::Server& server);

  // The CapabilityStatement served at /metadata.
  static nlohmann::json CapabilityStatement();

 private:
  void Observation(const httplib::Request& req, httplib::Response& res);
  void Patient(const httplib::Request& req, httplib::Response& res);
  void CommunicationRequest(const httplib::Request& req, httplib::Response& res);
  // A page that ends between the systolic and the diastolic row of one reading takes the other
  // row from the next page (a second vitals read of one row, audited like the first), so the
  // reading is one whole panel and the next page does not start with its other half.
  absl::Status CompleteLastBpReading(const Caller& caller, healthtwin::vitals::v1::QueryVitalsRequest request,
                                     healthtwin::vitals::v1::QueryVitalsResponse& page);

  ClinicianServiceImpl& domain_;
  const FhirResources& resources_;
};

}  // namespace healthtwin::clinician
