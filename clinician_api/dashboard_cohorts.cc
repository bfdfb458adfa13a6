// DashboardApi: the researcher view's JSON (issue 14), a thin adapter over the domain layer's
// ListCohortJobsAs and GetCohortResultsAs (clinician_cohort.cc): the caller's own cohort jobs
// with state and progress, one job's per-arm summaries, and its per-patient CSV as a download.
// Cohort jobs hold virtual patients only (no real patient data).
#include <optional>
#include <regex>
#include <utility>

#include "clinician_api/dashboard_api.h"
#include "clinician_api/dashboard_http.h"
#include "clinician_api/https_listener.h"

namespace healthtwin::clinician {
namespace {
namespace sim_v1 = healthtwin::simulation::v1;
using namespace dashboard_http;
using nlohmann::json;

// Rows of the per-patient CSV per upstream call (the simulation service's maximum page), and
// the most one download gathers (then 413, naming the limit).
constexpr uint32_t kCsvPageRows = 20'000;
constexpr uint32_t kMaxCsvRows = 1'000'000;

bool IsJobId(const std::string& id) {
  static const std::regex kUuid("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  return std::regex_match(id, kUuid);
}

// The caller and the upstream request of /api/cohorts/{job}[/csv] (rows of `limit` per page);
// nothing after sending the error.
std::optional<std::pair<Caller, sim_v1::JobRequest>> JobCall(const httplib::Request& req, httplib::Response& res,
                                                             uint32_t limit) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) {
    SendError(res, caller.status());
    return std::nullopt;
  }
  const std::string id = req.matches[1];
  if (!IsJobId(id)) {
    SendError(res, 400, "job: not a job id (a UUID)");
    return std::nullopt;
  }
  sim_v1::JobRequest jr;
  jr.set_job_id(id);
  jr.set_per_patient_limit(limit);
  return std::make_pair(*std::move(caller), std::move(jr));
}

}  // namespace

void DashboardApi::CohortJobs(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  if (!req.params.empty()) return SendError(res, 400, req.params.begin()->first + ": unknown parameter");
  sim_v1::ListCohortJobsResponse jobs;
  if (auto s = domain_.ListCohortJobsAs(*caller, {}, &jobs); !s.ok()) return SendError(res, s);
  auto j = ToJson(jobs);
  if (!j.ok()) return SendError(res, j.status());
  SendJson(res, 200, *j);
}

void DashboardApi::CohortResults(const httplib::Request& req, httplib::Response& res) {
  auto call = JobCall(req, res, /*limit=*/1);  // the summaries only; the CSV is its own download
  if (!call) return;
  const auto& [caller, jr] = *call;
  sim_v1::CohortResults results;
  if (auto s = domain_.GetCohortResultsAs(caller, jr, &results); !s.ok()) return SendError(res, s);
  results.clear_per_patient_csv();
  results.clear_per_patient_offset();
  auto j = ToJson(results);
  if (!j.ok()) return SendError(res, j.status());
  (*j)["csvUrl"] = "/api/cohorts/" + jr.job_id() + "/csv";
  SendJson(res, 200, *j);
}

void DashboardApi::CohortCsv(const httplib::Request& req, httplib::Response& res) {
  auto call = JobCall(req, res, kCsvPageRows);
  if (!call) return;
  auto& [caller, jr] = *call;
  std::string csv;
  for (uint32_t offset = 0;;) {
    jr.set_per_patient_offset(offset);
    sim_v1::CohortResults page;
    if (auto s = domain_.GetCohortResultsAs(caller, jr, &page); !s.ok()) return SendError(res, s);
    if (page.per_patient_total() > kMaxCsvRows) {
      return SendError(res, 413, "job: more than " + std::to_string(kMaxCsvRows) + " per-patient rows to download");
    }
    const std::string& text = page.per_patient_csv();
    // Every page starts with the header line: keep it from the first page only.
    const std::size_t body = offset == 0 ? 0 : std::min(text.size(), text.find('\n') + 1);
    csv.append(text, body);
    offset += kCsvPageRows;
    if (offset >= page.per_patient_total()) break;
  }
  res.set_header("Content-Disposition", "attachment; filename=\"cohort-" + jr.job_id() + ".csv\"");
  res.status = 200;
  res.set_content(csv, "text/csv; charset=utf-8");
}

}  // namespace healthtwin::clinician
