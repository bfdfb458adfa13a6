#include "clinician_api/dashboard_api.h"

#include <openssl/crypto.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <map>
#include <nlohmann/json.hpp>

#include "clinician_api/dashboard_assets.h"
#include "clinician_api/dashboard_http.h"
#include "clinician_api/dashboard_query.h"
#include "clinician_api/https_listener.h"
#include "clinician_api/news2_summary.h"
#include "services/common/logging.h"
#include "services/common/time_util.h"

namespace healthtwin::clinician {
namespace {

namespace alerts_v1 = healthtwin::alerts::v1;
namespace vitals_v1 = healthtwin::vitals::v1;
using nlohmann::json;
using namespace dashboard_http;

// Raw samples one vitals request returns at most (then "truncated": true); pages of the
// vitals query's maximum size.
constexpr int kMaxRawSamples = 50'000;
constexpr uint32_t kPageSize = 10'000;
// Alerts read per patient list or alert list: pages of the alerts API's maximum size.
constexpr int kMaxAlertPages = 5;
// Window and bucket width for "latest vitals" on the patient list: the last 5-minute mean of
// each type within 24 h (the vitals API has no "latest" query; buckets keep this one call).
constexpr int64_t kLatestWindowUs = int64_t{24} * 3600 * 1'000'000;
constexpr uint32_t kLatestBucketS = 300;
constexpr std::size_t kMaxNoteChars = 500;

void SendAsset(httplib::Response& res, std::string_view name) {
  const EmbeddedAsset* a = FindAsset(name);
  if (a == nullptr) return SendPage(res, 404, "404 Not found", "No such page.");
  res.status = 200;
  res.set_content(reinterpret_cast<const char*>(a->data), a->size, a->content_type);
}

bool IsOpen(alerts_v1::AlertState s) {
  return s == alerts_v1::ALERT_STATE_OPEN || s == alerts_v1::ALERT_STATE_ACKNOWLEDGED ||
         s == alerts_v1::ALERT_STATE_ESCALATED || s == alerts_v1::ALERT_STATE_LATCHED;
}
bool NeedsAcknowledgement(alerts_v1::AlertState s) {
  return s == alerts_v1::ALERT_STATE_OPEN || s == alerts_v1::ALERT_STATE_ESCALATED ||
         s == alerts_v1::ALERT_STATE_LATCHED;
}

// Every page of ListAlertsAs up to kMaxAlertPages; `truncated` when more were left.
absl::Status ListAllAlerts(ClinicianServiceImpl& domain, const common::Caller& caller, alerts_v1::ListAlertsRequest req,
                           alerts_v1::ListAlertsResponse* all, bool* truncated) {
  req.set_page_size(1000);
  for (int page = 0; page < kMaxAlertPages; ++page) {
    alerts_v1::ListAlertsResponse r;
    if (auto s = domain.ListAlertsAs(caller, req, &r); !s.ok()) return s;
    for (auto& a : *r.mutable_alerts()) *all->add_alerts() = std::move(a);
    if (r.next_page_token().empty()) return absl::OkStatus();
    req.set_page_token(r.next_page_token());
  }
  *truncated = true;
  return absl::OkStatus();
}

}  // namespace

DashboardApi::DashboardApi(ClinicianServiceImpl& domain, std::function<int64_t()> now_us)
    : domain_(domain), now_us_(now_us), live_(domain, now_us) {
  if (RAND_bytes(csrf_key_.data(), static_cast<int>(csrf_key_.size())) != 1) {
    common::LogError("dashboard.csrf_key", {{"error", "RAND_bytes failed"}});
    std::abort();  // cannot happen on a seeded OpenSSL; a guessable key must never be used
  }
}

std::string DashboardApi::CsrfToken(const std::string& common_name) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), csrf_key_.data(), static_cast<int>(csrf_key_.size()),
       reinterpret_cast<const unsigned char*>(common_name.data()), common_name.size(), mac, &len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 15];
  }
  return out;
}

void DashboardApi::Register(httplib::Server& server) {
  server.set_pre_routing_handler([](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Security-Policy",
                   "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                   "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
                   "frame-ancestors 'none'");
    res.set_header("Strict-Transport-Security", "max-age=31536000");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("Referrer-Policy", "no-referrer");
    res.set_header("X-Frame-Options", "DENY");
    // Patient data in pages and JSON: never stored by the browser or a proxy.
    res.set_header("Cache-Control", "no-store");
    return httplib::Server::HandlerResponse::Unhandled;
  });

  const auto page = [this](const char* asset) {
    return [this, asset](const httplib::Request& req, httplib::Response& res) {
      if (auto caller = HttpsListener::CallerOf(req); !caller.ok()) return SendPageError(res, caller.status());
      SendAsset(res, asset);
    };
  };
  // Researchers have no care team: their landing page is the cohort view.
  server.Get("/", [](const httplib::Request& req, httplib::Response& res) {
    auto caller = HttpsListener::CallerOf(req);
    if (!caller.ok()) return SendPageError(res, caller.status());
    SendAsset(res, caller->identity.role == common::Role::kResearcher ? "cohorts.html" : "index.html");
  });
  server.Get("/cohorts", page("cohorts.html"));
  server.Get("/patients", page("index.html"));
  server.Get(R"(/patients/([^/]+))", [this](const auto& req, auto& res) { PatientPage(req, res); });
  server.Get(R"(/assets/([A-Za-z0-9._-]+))",
             [](const httplib::Request& req, httplib::Response& res) { SendAsset(res, req.matches[1].str()); });
  server.Get("/api/session", [this](const httplib::Request& req, httplib::Response& res) {
    auto caller = HttpsListener::CallerOf(req);
    if (!caller.ok()) return SendError(res, caller.status());
    SendJson(res, 200,
             {{"subject", caller->identity.common_name},
              {"role", std::string(common::RoleName(caller->identity.role))},
              {"csrfToken", CsrfToken(caller->identity.common_name)}});
  });
  server.Get("/api/patients", [this](const auto& req, auto& res) { Patients(req, res); });
  server.Get(R"(/api/patients/([^/]+)/vitals)", [this](const auto& req, auto& res) { Vitals(req, res); });
  server.Get(R"(/api/patients/([^/]+)/alerts)", [this](const auto& req, auto& res) { Alerts(req, res); });
  server.Get(R"(/api/patients/([^/]+)/twin)", [this](const auto& req, auto& res) { Twin(req, res); });
  server.Get("/api/cohorts", [this](const auto& req, auto& res) { CohortJobs(req, res); });
  server.Get(R"(/api/cohorts/([^/]+))", [this](const auto& req, auto& res) { CohortResults(req, res); });
  server.Get(R"(/api/cohorts/([^/]+)/csv)", [this](const auto& req, auto& res) { CohortCsv(req, res); });
  live_.Register(server);
  server.Post(R"(/api/alerts/([^/]+)/acknowledge)", [this](const auto& req, auto& res) { Acknowledge(req, res); });
  server.Post(R"(/api/alerts/([^/]+)/shelve)", [this](const auto& req, auto& res) { Shelve(req, res); });
  server.Post(R"(/api/patients/([^/]+)/whatif)", [this](const auto& req, auto& res) { WhatIf(req, res); });

  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req,
                                                                   httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const bool api = req.path.rfind("/api/", 0) == 0;
    if (res.status == 404) {
      api ? SendError(res, 404, "path: nothing at " + req.path) : SendPage(res, 404, "404 Not found", "No such page.");
    } else if (res.status == 413) {
      SendError(res, 413, "body: larger than this server accepts");
    } else if (res.status == 400) {
      SendError(res, 400, "request: malformed HTTP request (a POST needs Content-Length)");
    } else {
      SendError(res, res.status, "HTTP status " + std::to_string(res.status));
    }
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    common::LogError("dashboard.exception", {{"error", HttpsListener::ExceptionMessage(ep)}});
    SendError(res, 500, "internal error");
  });
}

void DashboardApi::PatientPage(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendPageError(res, caller.status());
  const std::string id = req.matches[1];
  if (!IsPatientId(id)) return SendPageError(res, absl::InvalidArgumentError("patient: not a patient id"));
  if (auto s = domain_.ReadPatientAs(*caller, id); !s.ok()) return SendPageError(res, s);
  SendAsset(res, "patient.html");
}

void DashboardApi::Patients(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  v1::ListMyPatientsResponse mine;
  if (auto s = domain_.ListMyPatientsAs(*caller, &mine); !s.ok()) return SendError(res, s);

  // Open alerts of the whole care team in one call (the domain layer fills in the care team).
  alerts_v1::ListAlertsResponse alerts;
  bool alerts_truncated = false;
  if (!mine.patients().empty()) {
    if (auto s = ListAllAlerts(domain_, *caller, {}, &alerts, &alerts_truncated); !s.ok()) return SendError(res, s);
  }
  struct Counts {
    int open[4] = {0, 0, 0, 0};  // by Priority number
    int unacked[4] = {0, 0, 0, 0};
    int drift = 0;  // open alerts of the twin_drift rule: the twin's drift events not yet closed
  };
  std::map<std::string, Counts> counts;
  for (const auto& a : alerts.alerts()) {
    const int p = std::clamp(static_cast<int>(a.priority()), 0, 3);
    if (IsOpen(a.state())) counts[a.patient_id()].open[p]++;
    if (NeedsAcknowledgement(a.state())) counts[a.patient_id()].unacked[p]++;
    if (IsOpen(a.state()) && a.rule_id() == "twin_drift") counts[a.patient_id()].drift++;
  }

  const int64_t now = now_us_();
  json rows = json::array();
  for (const auto& patient : mine.patients()) {
    vitals_v1::QueryVitalsRequest vr;
    vr.set_patient_id(patient.patient_id());
    *vr.mutable_start() = common::FromUnixMicros(now - kLatestWindowUs);
    *vr.mutable_end() = common::FromUnixMicros(now + 1);
    vr.set_bucket_s(kLatestBucketS);
    vr.set_page_size(kPageSize);
    vitals_v1::QueryVitalsResponse vitals;
    if (auto s = domain_.GetVitalsAs(*caller, vr, &vitals); !s.ok()) return SendError(res, s);
    std::map<int, const vitals_v1::Bucket*> latest;
    for (const auto& b : vitals.buckets()) {
      auto& slot = latest[b.type()];
      if (slot == nullptr || Micros(b.bucket_start()) > Micros(slot->bucket_start())) {
        slot = &b;
      }
    }
    auto p = ToJson(patient);
    if (!p.ok()) return SendError(res, p.status());
    json row = {{"patient", *p}, {"latest", json::array()}};
    std::vector<LatestVital> for_news2;
    for (const auto& [type, b] : latest) {
      auto j = ToJson(*b);
      if (!j.ok()) return SendError(res, j.status());
      // Age of the bucket's end (the newest sample in it is at most that old).
      const int64_t end_us = Micros(b->bucket_start()) + int64_t{kLatestBucketS} * 1'000'000;
      const int64_t age_s = std::max<int64_t>(0, (now - end_us) / 1'000'000);
      (*j)["ageS"] = age_s;
      row["latest"].push_back(*j);
      for_news2.push_back({type, b->mean(), age_s});
    }
    const std::optional<News2Summary> news2 = SummarizeNews2(for_news2);
    row["news2"] = news2 ? json{{"score", news2->score},
                                {"risk", news2->risk},
                                {"partial", news2->partial},
                                {"missing", news2->missing},
                                {"oldestAgeS", news2->oldest_age_s}}
                         : json(nullptr);
    row["twin"] = TwinStatus(*caller, patient.patient_id());
    const Counts& c = counts[patient.patient_id()];
    row["openAlerts"] = {{"high", c.open[3]}, {"medium", c.open[2]}, {"low", c.open[1]}};
    row["unacknowledged"] = {{"high", c.unacked[3]}, {"medium", c.unacked[2]}, {"low", c.unacked[1]}};
    row["twin"]["driftEvents"] = c.drift;
    // Acuity (higher sorts first): unacknowledged high and medium alerts, then the NEWS2 score
    // (RCP 2017: the aggregate sets the urgency of the clinical response; a partial score is a
    // lower bound, still an order), then unacknowledged low alerts and the open ones.
    row["acuity"] = json::array(
        {c.unacked[3], c.unacked[2], news2 ? news2->score : -1, c.unacked[1], c.open[3], c.open[2], c.open[1]});
    rows.push_back(std::move(row));
  }
  std::stable_sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
    if (a["acuity"] != b["acuity"]) return b["acuity"] < a["acuity"];
    return a["patient"].value("patientId", "") < b["patient"].value("patientId", "");
  });
  SendJson(res, 200,
           {{"subject", caller->identity.common_name},
            {"patients", std::move(rows)},
            {"alertsTruncated", alerts_truncated}});
}

void DashboardApi::Vitals(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  const std::string id = req.matches[1];
  if (!IsPatientId(id)) return SendError(res, 400, "patient: not a patient id ([A-Za-z0-9._-]{1,64})");
  auto q = ParseVitalsQuery(std::multimap<std::string, std::string>(req.params.begin(), req.params.end()), now_us_());
  if (!q.ok()) return SendError(res, q.status());
  vitals_v1::QueryVitalsRequest vr;
  vr.set_patient_id(id);
  for (int t : q->types) vr.add_types(static_cast<vitals_v1::VitalType>(t));
  *vr.mutable_start() = common::FromUnixMicros(q->from_us);
  *vr.mutable_end() = common::FromUnixMicros(q->to_us);
  vr.set_bucket_s(q->bucket_s);
  vr.set_page_size(kPageSize);
  vitals_v1::QueryVitalsResponse all;
  bool truncated = false;
  for (;;) {
    vitals_v1::QueryVitalsResponse page;
    if (auto s = domain_.GetVitalsAs(*caller, vr, &page); !s.ok()) return SendError(res, s);
    for (auto& s : *page.mutable_samples()) *all.add_samples() = std::move(s);
    for (auto& b : *page.mutable_buckets()) *all.add_buckets() = std::move(b);
    if (page.next_page_token().empty()) break;
    if (all.samples_size() + all.buckets_size() >= kMaxRawSamples) {
      truncated = true;
      break;
    }
    vr.set_page_token(page.next_page_token());
  }
  auto j = ToJson(all);
  if (!j.ok()) return SendError(res, j.status());
  j->erase("nextPageToken");
  (*j)["mode"] = q->bucket_s == 0 ? "raw" : "bucketed";
  (*j)["bucketS"] = q->bucket_s;
  (*j)["from"] = Rfc3339(q->from_us);
  (*j)["to"] = Rfc3339(q->to_us);
  (*j)["truncated"] = truncated;
  SendJson(res, 200, *j);
}

void DashboardApi::Alerts(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  const std::string id = req.matches[1];
  if (!IsPatientId(id)) return SendError(res, 400, "patient: not a patient id ([A-Za-z0-9._-]{1,64})");
  if (!req.params.empty()) return SendError(res, 400, req.params.begin()->first + ": unknown parameter");
  alerts_v1::ListAlertsRequest lr;
  lr.set_patient_id(id);
  alerts_v1::ListAlertsResponse all;
  bool truncated = false;
  if (auto s = ListAllAlerts(domain_, *caller, lr, &all, &truncated); !s.ok()) return SendError(res, s);
  auto j = ToJson(all);
  if (!j.ok()) return SendError(res, j.status());
  j->erase("nextPageToken");
  (*j)["truncated"] = truncated;
  SendJson(res, 200, *j);
}

absl::Status DashboardApi::CheckPost(const httplib::Request& req, const Caller& caller) const {
  // A form or script of another site cannot set this header, nor read the token.
  const std::string origin = req.get_header_value("Origin");
  if (!origin.empty() && origin != "https://" + req.get_header_value("Host")) {
    return absl::PermissionDeniedError("origin: cross-site request refused");
  }
  const std::string token = req.get_header_value("X-CSRF-Token");
  const std::string want = CsrfToken(caller.identity.common_name);
  if (token.size() != want.size() || CRYPTO_memcmp(token.data(), want.data(), want.size()) != 0) {
    return absl::PermissionDeniedError("X-CSRF-Token: missing or wrong (GET /api/session gives it)");
  }
  return absl::OkStatus();
}

void DashboardApi::Acknowledge(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  if (auto s = CheckPost(req, *caller); !s.ok()) return SendError(res, s);
  v1::AcknowledgeAlertRequest ar;
  ar.set_alert_id(req.matches[1]);
  if (!req.body.empty()) {
    const json body = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) return SendError(res, 400, "body: not a JSON object");
    if (body.contains("note")) {
      if (!body["note"].is_string()) return SendError(res, 400, "note: not a string");
      const std::string note = body["note"];
      if (note.size() > kMaxNoteChars) return SendError(res, 400, "note: longer than 500 bytes");
      ar.set_note(note);
    }
  }
  alerts_v1::Alert alert;
  if (auto s = domain_.AcknowledgeAlertAs(*caller, ar, &alert); !s.ok()) return SendError(res, s);
  auto j = ToJson(alert);
  if (!j.ok()) return SendError(res, j.status());
  SendJson(res, 200, *j);
}

}  // namespace healthtwin::clinician
