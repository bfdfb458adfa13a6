// The clinician web dashboard (issue 14, first slice) on its own HTTPS listener of
// healthtwin-clinician-api (--dashboard-port): pages, their embedded assets and a JSON API, a
// thin HTTP adapter over ClinicianServiceImpl's *As domain operations, so the policy, care-team
// checks and audit rows are the gRPC edge's own.
//
//   GET  /, /patients                   "My patients" page (dashboard/index.html)
//   GET  /patients/{id}                 "Patient" page; 403/404 page first when the caller may not
//                                       read the patient (ReadPatientAs: audited as patient.read)
//   GET  /assets/{name}                 embedded HTML/JS/CSS and uPlot (dashboard_assets.h)
//   GET  /api/session                   {subject, role, csrfToken}
//   GET  /api/patients                  the caller's care team, one row each, sorted by acuity
//   GET  /api/patients/{id}/vitals?type=&from=&to=&bucket_s=
//                                       QueryVitalsResponse (raw, or min/max/mean buckets for long
//                                       ranges) plus mode, bucketS, truncated
//   GET  /api/patients/{id}/alerts      ListAlertsResponse of that patient
//   GET  /api/patients/{id}/twin?horizon_h=
//                                       {twin: TwinSnapshot or null ("no twin yet"), prediction:
//                                       PredictResponse (90 % intervals, hourly, default 24 h ahead
//                                       of the twin's state) or null with predictionError}
//   POST /api/alerts/{id}/acknowledge   X-CSRF-Token required (403 without); body {"note": "..."}
//   POST /api/alerts/{id}/shelve        the same; body {"minutes": N, "reason": "..."} (ShelveAlertAs)
//   POST /api/patients/{id}/whatif      the same; body a WhatIfRequest in protobuf's JSON mapping
//                                       (options, days, target, ensembleSize, seed), validated by
//                                       the simulation service (400 naming the field); StartWhatIfAs
//                                       (403 off the care team, audited as twin.whatif). 200 streams
//                                       NDJSON lines: {"progress": {fractionDone, stage}} ..., then
//                                       {"result": WhatIfResult} or {"error": {status, message}}
//                                       (dashboard_whatif.cc)
//   GET  /api/events                    server-sent events (dashboard_live.h)
//   GET  /cohorts                       the researcher view (dashboard/cohorts.html); researchers
//                                       landing on / get it, everyone else "My patients"
//   GET  /api/cohorts                   ListCohortJobsResponse: the caller's own cohort jobs, newest
//                                       first, with state and progress (researchers; 403 audited)
//   GET  /api/cohorts/{job}             CohortResults without the CSV (per-arm summaries), plus csvUrl
//   GET  /api/cohorts/{job}/csv         the per-patient CSV as a download (Content-Disposition);
//                                       all three relayed to the simulation service naming the
//                                       person, which returns only that person's jobs
//                                       (dashboard_cohorts.cc, clinician_cohort.cc)
//
// The patient list's rows carry NEWS2 from the latest vitals (news2_summary.h, partial when it
// is) and the twin's status (GetTwinAs), and open twin_drift alerts count as drift events.
//
// Proto messages are rendered with protobuf's JSON mapping (lowerCamel names, enum names,
// RFC 3339 times). Errors are {"error": {"status", "field", "message"}} with 400 naming the bad
// field, 401, 403 (audited by the domain layer), 404, 413, 503; pages get an HTML error page.
//
// Every response carries the security headers (CSP without inline script, HSTS, nosniff,
// frame-ancestors none, no-referrer) and Cache-Control: no-store.
//
// CSRF: the token is HMAC-SHA256(per-process random key, certificate CN), handed out by
// /api/session; a POST must echo it in X-CSRF-Token, and a POST whose Origin is not this host
// is refused. The client certificate authenticates; the token proves the page is ours.
//
// Thread safety: after construction every method is safe from the listener's worker threads.
#pragma once

#include <httplib.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "clinician_api/clinician_service.h"
#include "clinician_api/dashboard_live.h"

namespace healthtwin::clinician {

class DashboardApi {
 public:
  // `domain` is not owned and must outlive the server the routes are registered on. `now_us`
  // is the clock for default time ranges and ages (tests inject one).
  DashboardApi(ClinicianServiceImpl& domain, std::function<int64_t()> now_us);

  void Register(httplib::Server& server);

  // The CSRF token of the person named `common_name` (stable for this process).
  std::string CsrfToken(const std::string& common_name) const;

  // Ends the open event streams and what-if runs: call before stopping the listener
  // (DashboardLive::Stop).
  void StopStreams() {
    live_.Stop();
    CancelWhatIfs();
  }

  // The what-if streams in flight (dashboard_whatif.cc).
  struct WhatIfRuns {
    std::mutex mu;
    std::set<WhatIfStream*> open;
    bool stopping = false;
  };

 private:
  void Patients(const httplib::Request& req, httplib::Response& res);
  void Vitals(const httplib::Request& req, httplib::Response& res);
  void Alerts(const httplib::Request& req, httplib::Response& res);
  void Acknowledge(const httplib::Request& req, httplib::Response& res);
  void PatientPage(const httplib::Request& req, httplib::Response& res);
  void Twin(const httplib::Request& req, httplib::Response& res);    // dashboard_twin.cc
  void WhatIf(const httplib::Request& req, httplib::Response& res);  // dashboard_whatif.cc
  void Shelve(const httplib::Request& req, httplib::Response& res);  // dashboard_whatif.cc
  void CancelWhatIfs();                                              // dashboard_whatif.cc
  // The researcher view (dashboard_cohorts.cc).
  void CohortJobs(const httplib::Request& req, httplib::Response& res);
  void CohortResults(const httplib::Request& req, httplib::Response& res);
  void CohortCsv(const httplib::Request& req, httplib::Response& res);
  // OK when a state-changing request is same-origin and carries the caller's CSRF token.
  absl::Status CheckPost(const httplib::Request& req, const Caller& caller) const;
  // {state: calibrated|uncalibrated|none|error, ...} for the patient list (dashboard_twin.cc).
  nlohmann::json TwinStatus(const Caller& caller, const std::string& patient_id);

  ClinicianServiceImpl& domain_;
  const std::function<int64_t()> now_us_;
  std::array<unsigned char, 32> csrf_key_{};
  DashboardLive live_;
  const std::shared_ptr<WhatIfRuns> whatif_runs_ = std::make_shared<WhatIfRuns>();
};

}  // namespace healthtwin::clinician
