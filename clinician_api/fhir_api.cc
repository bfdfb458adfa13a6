#include "clinician_api/fhir_api.h"

#include "clinician_api/fhir_search.h"
#include "clinician_api/https_listener.h"
#include "services/common/logging.h"
#include "services/common/time_util.h"

namespace healthtwin::clinician {
namespace {

namespace alerts_v1 = healthtwin::alerts::v1;
namespace vitals_v1 = healthtwin::vitals::v1;

struct HttpError {
  int status;
  const char* issue_code;  // http://hl7.org/fhir/R4/valueset-issue-type.html
};

HttpError ToHttp(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kOutOfRange:
      return {400, "invalid"};
    case absl::StatusCode::kUnauthenticated:
      return {401, "login"};
    case absl::StatusCode::kPermissionDenied:
      return {403, "forbidden"};
    case absl::StatusCode::kNotFound:
      return {404, "not-found"};
    case absl::StatusCode::kResourceExhausted:
      return {429, "throttled"};
    case absl::StatusCode::kUnavailable:
      return {503, "transient"};
    case absl::StatusCode::kDeadlineExceeded:
      return {504, "timeout"};
    default:
      return {500, "exception"};
  }
}

nlohmann::json Outcome(const char* issue_code, const std::string& diagnostics, const std::string& expression = "") {
  nlohmann::json issue = {{"severity", "error"}, {"code", issue_code}, {"diagnostics", diagnostics}};
  if (!expression.empty()) issue["expression"] = {expression};
  return {{"resourceType", "OperationOutcome"}, {"issue", {issue}}};
}

void Send(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(body.dump(), kFhirContentType);
}

// The upstream queries name their own fields; a FHIR client knows the search parameters.
std::string AsSearchParameter(std::string message) {
  static const std::pair<std::string_view, std::string_view> kNames[] = {
      {"page_token:", "_cursor:"}, {"page_size:", "_count:"}, {"end:", "date:"},
      {"start:", "date:"},         {"types:", "code:"},       {"patient_id:", "patient:"},
  };
  for (const auto& [from, to] : kNames) {
    if (message.rfind(from, 0) == 0) return std::string(to) + message.substr(from.size());
  }
  return message;
}

void SendError(httplib::Response& res, const absl::Status& status) {
  const HttpError e = ToHttp(status.code());
  std::string message(status.message());
  std::string expression;
  if (e.status == 400) {
    message = AsSearchParameter(std::move(message));
    expression = message.substr(0, message.find(':'));
  }
  if (e.status >= 500) common::LogWarn("fhir.error", {{"status", e.status}, {"error", status.message()}});
  Send(res, e.status, Outcome(e.issue_code, message, expression));
}

QueryParams ParamsOf(const httplib::Request& req) { return QueryParams(req.params.begin(), req.params.end()); }

std::string Base(const httplib::Request& req) {
  const std::string host = req.get_header_value("Host");
  return "https://" + (host.empty() ? std::string("localhost") : host) + "/fhir/r4";
}

std::string Query(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string q;
  for (const auto& [k, v] : params) {
    if (v.empty()) continue;
    q += (q.empty() ? "?" : "&") + UrlEncode(k) + "=" + UrlEncode(v);
  }
  return q;
}

std::string SelfLink(const httplib::Request& req, std::string_view type) {
  return Base(req) + "/" + std::string(type) +
         Query(std::vector<std::pair<std::string, std::string>>(req.params.begin(), req.params.end()));
}

// The link to the page after this one (empty when `token` is): the search as resolved (with
// explicit bounds, so it continues exactly this one whatever "now" is then) and the token.
std::string NextLink(const httplib::Request& req, std::string_view type,
                     std::vector<std::pair<std::string, std::string>> params, uint32_t count,
                     const std::string& token) {
  if (token.empty()) return "";
  params.emplace_back("_count", std::to_string(count));
  params.emplace_back("_cursor", token);
  return Base(req) + "/" + std::string(type) + Query(params);
}

nlohmann::json Searchset(const std::string& self, const std::string& next) {
  nlohmann::json links = {{{"relation", "self"}, {"url", self}}};
  if (!next.empty()) links.push_back({{"relation", "next"}, {"url", next}});
  return {{"resourceType", "Bundle"},
          {"type", "searchset"},
          {"timestamp", FhirInstant(common::NowUnixMicros())},
          {"link", links},
          {"entry", nlohmann::json::array()}};
}

void AddEntry(nlohmann::json& bundle, const std::string& base, nlohmann::json resource) {
  const std::string url = base + "/" + resource.value("resourceType", "") + "/" + resource.value("id", "");
  bundle["entry"].push_back({{"fullUrl", url}, {"resource", std::move(resource)}, {"search", {{"mode", "match"}}}});
}

// Whether the last row is a blood pressure half whose other half is not in the page: its
// (device, measured_at) has unequal numbers of systolic and diastolic rows.
bool EndsWithOpenBpHalf(const google::protobuf::RepeatedPtrField<vitals_v1::StoredSample>& samples) {
  if (samples.empty()) return false;
  const auto& last = samples[samples.size() - 1];
  if (last.type() != vitals_v1::VITAL_TYPE_SYSTOLIC_BP && last.type() != vitals_v1::VITAL_TYPE_DIASTOLIC_BP)
    return false;
  int balance = 0;
  for (const auto& s : samples) {
    if (s.device_id() != last.device_id() || s.measured_at().seconds() != last.measured_at().seconds() ||
        s.measured_at().nanos() != last.measured_at().nanos()) {
      continue;
    }
    if (s.type() == vitals_v1::VITAL_TYPE_SYSTOLIC_BP) ++balance;
    if (s.type() == vitals_v1::VITAL_TYPE_DIASTOLIC_BP) --balance;
  }
  return balance != 0;
}

bool IsOtherHalf(const vitals_v1::StoredSample& half, const vitals_v1::StoredSample& next) {
  const auto other = half.type() == vitals_v1::VITAL_TYPE_SYSTOLIC_BP ? vitals_v1::VITAL_TYPE_DIASTOLIC_BP
                                                                      : vitals_v1::VITAL_TYPE_SYSTOLIC_BP;
  return next.type() == other && next.device_id() == half.device_id() &&
         next.measured_at().seconds() == half.measured_at().seconds() &&
         next.measured_at().nanos() == half.measured_at().nanos();
}

}  // namespace

nlohmann::json FhirApi::CapabilityStatement() {
  const auto param = [](const char* name, const char* type, const char* doc) {
    return nlohmann::json{{"name", name}, {"type", type}, {"documentation", doc}};
  };
  const nlohmann::json patient = param("patient", "reference", "Patient/<id> or <id>");
  const nlohmann::json subject = param("subject", "reference", "the same as patient");
  const nlohmann::json count = param("_count", "number", "1 to 1000, default 100");
  const nlohmann::json cursor = param("_cursor", "string", "opaque keyset position from a Bundle's next link");
  const auto search = [](const char* type, nlohmann::json params) {
    return nlohmann::json{{"type", type},
                          {"interaction", nlohmann::json::array({{{"code", "search-type"}}})},
                          {"searchParam", std::move(params)}};
  };
  nlohmann::json resources = nlohmann::json::array();
  resources.push_back({{"type", "Patient"}, {"interaction", nlohmann::json::array({{{"code", "read"}}})}});
  resources.push_back(search(
      "Observation",
      nlohmann::json::array({patient, subject, param("code", "token", "vital-signs LOINC codes, comma-separated"),
                             param("date", "date", "prefixes ge, gt, le, lt; at most one bound each way"), count,
                             cursor})));
  resources.push_back(search(
      "CommunicationRequest",
      nlohmann::json::array({patient, subject, param("status", "token", "active or completed"), count, cursor})));
  nlohmann::json rest = {
      {"mode", "server"},
      {"security",
       {{"cors", false},
        {"description",
         "Mutual TLS with a client certificate from the healthtwin CA; access limited to the caller's care team and "
         "audited."}}},
      {"resource", std::move(resources)},
  };
  return {
      {"resourceType", "CapabilityStatement"},
      {"status", "active"},
      {"date", "2026-12-07"},
      {"publisher", "healthtwin"},
      {"kind", "instance"},
      {"software", {{"name", "healthtwin-clinician-api"}}},
      {"implementation", {{"description", "healthtwin clinician API, FHIR R4 read API (mutual TLS)"}}},
      {"fhirVersion", "4.0.1"},
      {"format", nlohmann::json::array({kFhirContentType})},
      {"rest", nlohmann::json::array({std::move(rest)})},
  };
}

void FhirApi::Register(httplib::Server& server) {
  server.Get("/fhir/r4/metadata", [](const httplib::Request& req, httplib::Response& res) {
    // No patient data: any verified certificate (the handshake required one) may read it.
    if (auto caller = HttpsListener::CallerOf(req); !caller.ok()) return SendError(res, caller.status());
    Send(res, 200, CapabilityStatement());
  });
  server.Get("/fhir/r4/Observation", [this](const auto& req, auto& res) { Observation(req, res); });
  server.Get(R"(/fhir/r4/Patient/([^/]+))", [this](const auto& req, auto& res) { Patient(req, res); });
  server.Get("/fhir/r4/CommunicationRequest", [this](const auto& req, auto& res) { CommunicationRequest(req, res); });

  // The API is read-only: every other method on it is 405.
  const auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    res.set_header("Allow", "GET");
    Send(res, 405, Outcome("not-supported", "method " + req.method + ": this FHIR API is read-only (GET)"));
  };
  const std::string any = R"(/fhir/r4(/.*)?)";
  server.Post(any, not_allowed).Put(any, not_allowed).Patch(any, not_allowed).Delete(any, not_allowed);

  // Statuses httplib sets itself (404 no route, 413 body too large, 400 unparsable request)
  // get an OperationOutcome too; bodies we wrote are kept.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
        switch (res.status) {
          case 404:
            Send(res, 404, Outcome("not-found", "no resource or operation at " + req.path));
            break;
          case 413:
            Send(res, 413, Outcome("too-long", "request body larger than this server accepts"));
            break;
          default:
            Send(res, res.status,
                 Outcome(res.status >= 500 ? "exception" : "invalid", "HTTP status " + std::to_string(res.status)));
        }
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    common::LogError("fhir.exception", {{"error", HttpsListener::ExceptionMessage(ep)}});
    Send(res, 500, Outcome("exception", "internal error"));
  });
}

void FhirApi::Observation(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  // Role and care team before the parameters: a caller who may not read the patient gets 403
  // (audited), not a 400 that tells it how to shape the request.
  if (auto s = domain_.AuthorizeReadAs(*caller, "GetVitals", "vitals.read", PatientsNamed(ParamsOf(req))); !s.ok()) {
    return SendError(res, s);
  }
  auto q = ParseObservationSearch(ParamsOf(req), common::NowUnixMicros());
  if (!q.ok()) return SendError(res, q.status());
  vitals_v1::QueryVitalsRequest vr;
  vr.set_patient_id(q->patient_id);
  for (auto t : q->types) vr.add_types(static_cast<vitals_v1::VitalType>(t));
  *vr.mutable_start() = common::FromUnixMicros(q->start_us);
  *vr.mutable_end() = common::FromUnixMicros(q->end_us);
  vr.set_page_size(q->count);
  vr.set_page_token(q->cursor);
  vitals_v1::QueryVitalsResponse page;
  if (auto s = domain_.GetVitalsAs(*caller, vr, &page); !s.ok()) return SendError(res, s);
  if (auto s = CompleteLastBpReading(*caller, vr, page); !s.ok()) return SendError(res, s);

  const std::string next = NextLink(req, "Observation",
                                    {{"patient", q->patient_id},
                                     {"code", q->code},
                                     {"date", "ge" + FhirInstant(q->start_us)},
                                     {"date", "lt" + FhirInstant(q->end_us)}},
                                    q->count, page.next_page_token());
  nlohmann::json bundle = Searchset(SelfLink(req, "Observation"), next);
  const std::string base = Base(req);
  for (auto& o : resources_.ObservationsFor(page.samples())) AddEntry(bundle, base, std::move(o));
  Send(res, 200, bundle);
}

absl::Status FhirApi::CompleteLastBpReading(const Caller& caller, vitals_v1::QueryVitalsRequest request,
                                            vitals_v1::QueryVitalsResponse& page) {
  if (page.next_page_token().empty() || !EndsWithOpenBpHalf(page.samples())) return absl::OkStatus();
  request.set_page_size(1);
  request.set_page_token(page.next_page_token());
  vitals_v1::QueryVitalsResponse next;
  if (auto s = domain_.GetVitalsAs(caller, request, &next); !s.ok()) return s;
  if (next.samples_size() == 1 && IsOtherHalf(page.samples(page.samples_size() - 1), next.samples(0))) {
    *page.add_samples() = next.samples(0);
    page.set_next_page_token(next.next_page_token());
  }
  return absl::OkStatus();
}

void FhirApi::Patient(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  const std::string id = req.matches[1];
  if (id.size() > 64 || !std::all_of(id.begin(), id.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      })) {
    return SendError(res, absl::InvalidArgumentError("id: not a patient id ([A-Za-z0-9._-]{1,64})"));
  }
  if (auto s = domain_.ReadPatientAs(*caller, id); !s.ok()) return SendError(res, s);
  Send(res, 200, resources_.PatientFor(id));
}

void FhirApi::CommunicationRequest(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  if (auto s = domain_.AuthorizeReadAs(*caller, "ListAlerts", "alerts.list", PatientsNamed(ParamsOf(req))); !s.ok()) {
    return SendError(res, s);
  }
  auto q = ParseCommunicationRequestSearch(ParamsOf(req));
  if (!q.ok()) return SendError(res, q.status());
  alerts_v1::ListAlertsRequest lr;
  lr.set_patient_id(q->patient_id);
  // completed = resolved, one state the alerts query filters on; active is every other state
  // (fhir_resources.h), which ListAlerts cannot ask for in one filter. So for active, pages are
  // read until `count` active alerts or the end, each page no larger than what is still missing:
  // a Bundle is never short while more exist, never over `count`, and its next link continues
  // right after the last alert looked at. At most kMaxUpstreamPages per request (each is one
  // audited ListAlerts call); past that the Bundle may be short, with a next link.
  constexpr int kMaxUpstreamPages = 20;
  if (q->status == "completed") lr.set_state(alerts_v1::ALERT_STATE_RESOLVED);
  std::vector<nlohmann::json> matched;
  std::string token = q->cursor;
  for (int pages = 0; pages < kMaxUpstreamPages; ++pages) {
    lr.set_page_size(q->count - static_cast<uint32_t>(matched.size()));
    lr.set_page_token(token);
    alerts_v1::ListAlertsResponse page;
    if (auto s = domain_.ListAlertsAs(*caller, lr, &page); !s.ok()) return SendError(res, s);
    for (const auto& alert : page.alerts()) {
      nlohmann::json cr = resources_.CommunicationRequestFor(alert);
      if (q->status.empty() || cr.value("status", "") == q->status) matched.push_back(std::move(cr));
    }
    token = page.next_page_token();
    if (token.empty() || matched.size() >= q->count) break;
  }
  const std::string next =
      NextLink(req, "CommunicationRequest", {{"patient", q->patient_id}, {"status", q->status}}, q->count, token);
  nlohmann::json bundle = Searchset(SelfLink(req, "CommunicationRequest"), next);
  const std::string base = Base(req);
  for (auto& cr : matched) AddEntry(bundle, base, std::move(cr));
  Send(res, 200, bundle);
}

}  // namespace healthtwin::clinician
