#include "clinician_api/dashboard_live.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <thread>

#include "absl/time/time.h"
#include "clinician_api/dashboard_http.h"
#include "clinician_api/dashboard_query.h"
#include "clinician_api/https_listener.h"
#include "services/common/logging.h"
#include "services/common/time_util.h"

namespace healthtwin::clinician {

namespace {
namespace alerts_v1 = healthtwin::alerts::v1;
namespace vitals_v1 = healthtwin::vitals::v1;
using namespace dashboard_http;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// How far back `since` may reach: a page reopened after longer loads its vitals afresh.
constexpr int64_t kMaxSinceAgeUs = int64_t{3600} * 1'000'000;
// Pages of new samples one poll reads at most; the rest follow on the next poll.
constexpr int kMaxPollPages = 5;
constexpr uint32_t kPollPageSize = 10'000;
// The browser's reconnect delay after a dropped connection (EventSource "retry").
constexpr int kRetryMs = 3000;

std::string Frame(std::string_view event, const json& data) {
  return "event: " + std::string(event) + "\ndata: " + data.dump() + "\n\n";
}

json EndData(const absl::Status& s) {
  return {{"status", HttpStatus(s.code())}, {"message", std::string(s.message())}};
}
}  // namespace

struct DashboardLive::Stream {
  Caller caller;
  std::string patient;  // empty: the whole care team, alerts only
  std::unique_ptr<AlertSubscription> alerts;
  std::thread reader;

  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> frames;  // guarded by mu
  bool alerts_ended = false;       // guarded by mu
  absl::Status alerts_status;      // guarded by mu
  bool stop = false;               // guarded by mu

  // Provider state: only the worker serving the stream touches these.
  bool sent_ready = false;
  int64_t vitals_cursor_us = 0;
  Clock::time_point next_poll;

  void ReadAlerts() {
    alerts_v1::AlertEvent event;
    while (alerts->Read(&event)) {
      auto j = ToJson(event);
      std::lock_guard lock(mu);
      if (j.ok()) frames.push_back(Frame("alert", *j));
      cv.notify_all();
    }
    absl::Status s = alerts->Finish();
    std::lock_guard lock(mu);
    alerts_ended = true;
    alerts_status = s.ok() ? absl::UnavailableError("alerts: the subscription ended") : s;
    cv.notify_all();
  }
};

DashboardLive::DashboardLive(ClinicianServiceImpl& domain, std::function<int64_t()> now_us, LiveOptions options)
    : domain_(domain), now_us_(std::move(now_us)), options_(options) {}

DashboardLive::~DashboardLive() { Stop(); }

void DashboardLive::Register(httplib::Server& server) {
  server.Get("/api/events", [this](const httplib::Request& req, httplib::Response& res) { Events(req, res); });
}

void DashboardLive::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  for (const auto& s : open_) {
    std::lock_guard stream_lock(s->mu);
    s->stop = true;
    s->cv.notify_all();
  }
}

void DashboardLive::Release(const std::shared_ptr<Stream>& s) {
  if (s->alerts) s->alerts->Cancel();
  if (s->reader.joinable()) s->reader.join();
  std::lock_guard lock(mu_);
  open_.erase(s);
  if (--per_caller_[s->caller.identity.common_name] <= 0) per_caller_.erase(s->caller.identity.common_name);
}

void DashboardLive::Events(const httplib::Request& req, httplib::Response& res) {
  auto caller = HttpsListener::CallerOf(req);
  if (!caller.ok()) return SendError(res, caller.status());
  const int64_t now = now_us_();
  auto stream = std::make_shared<Stream>();
  stream->caller = *caller;
  stream->vitals_cursor_us = now;
  for (const auto& [name, value] : req.params) {
    if (name == "patient") {
      if (!IsPatientId(value)) return SendError(res, 400, "patient: not a patient id ([A-Za-z0-9._-]{1,64})");
      stream->patient = value;
    } else if (name == "since") {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, value, &t, &err)) {
        return SendError(res, 400, "since: not an RFC 3339 time");
      }
      const int64_t us = absl::ToUnixMicros(t);
      if (us > now || now - us > kMaxSinceAgeUs) return SendError(res, 400, "since: not within the last hour");
      stream->vitals_cursor_us = us;
    } else {
      return SendError(res, 400, name + ": unknown parameter");
    }
  }
  if (stream->patient.empty() && req.params.count("since") > 0) {
    return SendError(res, 400, "since: only with patient (vitals are streamed for one patient)");
  }

  {
    std::lock_guard lock(mu_);
    if (stopping_) return SendError(res, 503, "server: stopping");
    if (static_cast<int>(open_.size()) >= options_.max_streams) {
      return SendError(res, 429, "streams: the server's " + std::to_string(options_.max_streams) + " are all open");
    }
    int& mine = per_caller_[caller->identity.common_name];
    if (mine >= options_.max_streams_per_caller) {
      return SendError(
          res, 429,
          "streams: " + std::to_string(mine) + " already open for " + caller->identity.common_name + "; close a tab");
    }
    ++mine;
    open_.insert(stream);
  }
  // From here on Release undoes the registration, whatever happens.
  alerts_v1::SubscribeRequest sr;
  if (!stream->patient.empty()) sr.add_patient_ids(stream->patient);
  // Replayed from the stream's start: an event of the set-up gap arrives (the page ignores repeats).
  *sr.mutable_since() = common::FromUnixMicros(now);
  auto sub = domain_.SubscribeAlertsAs(*caller, sr);
  if (sub.ok() && !stream->patient.empty()) {
    // The vitals read is authorised (and audited) before the stream opens, so a refusal is a 403.
    if (auto s = domain_.AuthorizeReadAs(*caller, "GetVitals", "vitals.read", {stream->patient}); !s.ok()) {
      sub = s;
    }
  }
  if (!sub.ok()) {
    Release(stream);  // no subscription, no reader thread: only unregisters
    return SendError(res, sub.status());
  }
  stream->alerts = *std::move(sub);
  stream->reader = std::thread([s = stream.get()] { s->ReadAlerts(); });
  stream->next_poll = Clock::now();
  common::LogInfo("dashboard.stream_opened", {{"subject", caller->identity.common_name}, {"patient", stream->patient}});

  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [this, stream](size_t, httplib::DataSink& sink) { return Pump(*stream, sink); },
      [this, stream](bool) {
        Release(stream);
        common::LogInfo("dashboard.stream_closed",
                        {{"subject", stream->caller.identity.common_name}, {"patient", stream->patient}});
      });
}

bool DashboardLive::Pump(Stream& s, httplib::DataSink& sink) {
  std::string out;
  if (!s.sent_ready) {
    s.sent_ready = true;
    out = "retry: " + std::to_string(kRetryMs) + "\n" +
          Frame("ready", {{"subject", s.caller.identity.common_name}, {"patient", s.patient}});
    return sink.write(out.data(), out.size());
  }
  std::optional<absl::Status> end;
  {
    std::unique_lock lock(s.mu);
    auto until = Clock::now() + std::chrono::seconds(options_.heartbeat_s);
    if (!s.patient.empty()) until = std::min(until, s.next_poll);
    s.cv.wait_until(lock, until, [&] { return !s.frames.empty() || s.stop || s.alerts_ended; });
    for (; !s.frames.empty(); s.frames.pop_front()) out += s.frames.front();
    if (s.stop) {
      end = absl::UnavailableError("server: stopping");
    } else if (s.alerts_ended) {
      end = s.alerts_status;
    }
  }
  if (!end && !s.patient.empty() && Clock::now() >= s.next_poll) {
    s.next_poll = Clock::now() + std::chrono::seconds(options_.vitals_poll_s);
    if (auto st = PollVitals(s, &out); !st.ok()) end = st;
  }
  if (end) {
    out += Frame("end", EndData(*end));
  } else if (out.empty()) {
    out = ": heartbeat\n\n";
  }
  if (!sink.write(out.data(), out.size())) return false;  // the browser has gone
  if (end) sink.done();
  return true;
}

absl::Status DashboardLive::PollVitals(Stream& s, std::string* out) {
  vitals_v1::QueryVitalsRequest vr;
  vr.set_patient_id(s.patient);
  *vr.mutable_start() = common::FromUnixMicros(s.vitals_cursor_us);
  *vr.mutable_end() = common::FromUnixMicros(now_us_() + 1);
  vr.set_page_size(kPollPageSize);
  vitals_v1::QueryVitalsResponse fresh;
  int64_t newest = s.vitals_cursor_us - 1;
  absl::Status status;
  for (int page = 0; page < kMaxPollPages; ++page) {
    vitals_v1::QueryVitalsResponse r;
    // Audited like every read; a caller taken off the care team is refused here (403).
    if (status = domain_.GetVitalsAs(s.caller, vr, &r); !status.ok()) break;
    for (auto& sample : *r.mutable_samples()) {
      newest = std::max(newest, Micros(sample.measured_at()));
      *fresh.add_samples() = std::move(sample);
    }
    if (r.next_page_token().empty()) break;
    vr.set_page_token(r.next_page_token());
  }
  if (fresh.samples_size() > 0) {
    s.vitals_cursor_us = newest + 1;
    if (auto j = ToJson(fresh); j.ok()) {
      j->erase("nextPageToken");
      j->erase("buckets");
      *out += Frame("vitals", *j);
    }
  }
  return status;
}

}  // namespace healthtwin::clinician
