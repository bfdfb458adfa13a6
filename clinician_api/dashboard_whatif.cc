// DashboardApi: the what-if comparison and the shelve control (issue 14), through the domain
// layer's StartWhatIfAs and ShelveAlertAs. The options are validated by the simulation service
// (drugs, doses against their label, schedules, adherence, sizes), which names the bad field.
#include <google/protobuf/util/json_util.h>

#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "clinician_api/dashboard_api.h"
#include "clinician_api/dashboard_http.h"
#include "clinician_api/dashboard_query.h"
#include "clinician_api/https_listener.h"
#include "clinician_api/upstream.h"
#include "services/common/logging.h"

namespace healthtwin::clinician {
namespace {
namespace sim_v1 = healthtwin::simulation::v1;
using namespace dashboard_http;
using nlohmann::json;

constexpr std::size_t kMaxReasonChars = 500;

// One NDJSON line of the what-if stream.
std::string Line(const json& j) { return j.dump() + "\n"; }

// An event as its line: {"progress": {...}} or {"result": {...}}.
std::string EventLine(const sim_v1::WhatIfEvent& ev) {
  if (ev.has_progress()) {
    return Line({{"progress", {{"fractionDone", ev.progress().fraction_done()}, {"stage", ev.progress().stage()}}}});
  }
  auto r = ToJson(ev.result());
  if (!r.ok()) return Line({{"error", {{"status", 500}, {"message", std::string(r.status().message())}}}});
  return Line({{"result", *r}});
}

// A what-if stream registered with the dashboard (`runs`) while it is open.
struct WhatIfRun {
  std::shared_ptr<DashboardApi::WhatIfRuns> runs;  // null until registered
  std::unique_ptr<WhatIfStream> stream;
  ~WhatIfRun() {
    if (runs == nullptr) return;
    std::lock_guard lock(runs->mu);
    runs->open.erase(stream.get());
  }
};

}  // namespace

void DashboardApi::CancelWhatIfs() {
  std::lock_guard lock(whatif_runs_->mu);
  whatif_runs_->stopping = true;
  for (WhatIfStream* s : whatif_runs_->open) s->Cancel();
}

void DashboardApi::WhatIf(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  if (auto s = CheckPost(req, *caller); !s.ok()) return SendError(res, s);
  const std::string id = req.matches[1];
  if (!IsPatientId(id)) return SendError(res, 400, "patient: not a patient id ([A-Za-z0-9._-]{1,64})");
  // Role and care team before the body: a caller who may not run it is refused (403, audited)
  // whatever else is wrong with the request. StartWhatIfAs audits the allowed run.
  if (auto s = domain_.AuthorizeReadAs(*caller, "RunWhatIf", "twin.whatif", {id}); !s.ok()) return SendError(res, s);
  sim_v1::WhatIfRequest wr;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  if (auto s = google::protobuf::util::JsonStringToMessage(req.body, &wr, options); !s.ok()) {
    return SendError(res, 400, "body: not a what-if request: " + std::string(s.message()));
  }
  if (!wr.patient_id().empty() && wr.patient_id() != id) {
    return SendError(res, 400, "patientId: differs from the patient in the path");
  }
  wr.set_patient_id(id);
  auto stream = domain_.StartWhatIfAs(*caller, wr);
  if (!stream.ok()) return SendError(res, stream.status());
  auto run = std::make_shared<WhatIfRun>();
  run->stream = *std::move(stream);
  {
    std::lock_guard lock(whatif_runs_->mu);
    if (whatif_runs_->stopping) return SendError(res, 503, "server: stopping");
    run->runs = whatif_runs_;
    whatif_runs_->open.insert(run->stream.get());
  }
  // The first event, read here: a request the simulation service refuses (a bad option, an
  // unknown patient) is an HTTP error, not a line in a stream that already said 200.
  sim_v1::WhatIfEvent first;
  if (!run->stream->Read(&first)) {
    absl::Status s = run->stream->Finish();
    if (s.ok()) s = absl::UnavailableError("simulation: the stream ended without a result");
    return SendError(res, s);
  }
  common::LogInfo("dashboard.whatif_started", {{"subject", caller->identity.common_name}, {"patient", id}});
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "application/x-ndjson", [run, pending = std::make_shared<std::optional<sim_v1::WhatIfEvent>>(std::move(first))](
                                  size_t, httplib::DataSink& sink) {
        std::string out;
        if (*pending) {
          out = EventLine(**pending);
          pending->reset();
        } else if (sim_v1::WhatIfEvent ev; run->stream->Read(&ev)) {
          out = EventLine(ev);
        } else {
          if (absl::Status s = run->stream->Finish(); !s.ok()) {
            out = Line({{"error", {{"status", HttpStatus(s.code())}, {"message", std::string(s.message())}}}});
            if (!sink.write(out.data(), out.size())) return false;
          }
          sink.done();
          return true;
        }
        return sink.write(out.data(), out.size());
      });
}

void DashboardApi::Shelve(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  if (auto s = CheckPost(req, *caller); !s.ok()) return SendError(res, s);
  const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) return SendError(res, 400, "body: not a JSON object");
  for (const auto& [key, value] : body.items()) {
    if (key != "minutes" && key != "reason") return SendError(res, 400, key + ": unknown field");
  }
  if (!body.contains("minutes") || !body["minutes"].is_number_integer() || body["minutes"].get<int64_t>() < 1 ||
      body["minutes"].get<int64_t>() > 24 * 60) {
    return SendError(res, 400, "minutes: a whole number of minutes from 1 (the alerts service sets the maximum)");
  }
  if (!body.contains("reason") || !body["reason"].is_string() || body["reason"].get<std::string>().empty()) {
    return SendError(res, 400, "reason: required");
  }
  const std::string reason = body["reason"];
  if (reason.size() > kMaxReasonChars) return SendError(res, 400, "reason: longer than 500 bytes");
  v1::ShelveAlertRequest sr;
  sr.set_alert_id(req.matches[1]);
  sr.mutable_duration()->set_seconds(body["minutes"].get<int64_t>() * 60);
  sr.set_reason(reason);
  healthtwin::alerts::v1::Alert alert;
  if (auto s = domain_.ShelveAlertAs(*caller, sr, &alert); !s.ok()) return SendError(res, s);
  auto j = ToJson(alert);
  if (!j.ok()) return SendError(res, j.status());
  SendJson(res, 200, *j);
}

}  // namespace healthtwin::clinician
