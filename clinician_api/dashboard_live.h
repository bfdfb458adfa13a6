// The dashboard's live updates (issue 14): server-sent events on the dashboard listener.
//
//   GET /api/events                   alert events of every patient on the caller's care team
//   GET /api/events?patient=ID&since=T   alert events of that patient, and its new vitals
//
// Alert events come from the domain layer's alert subscription (ClinicianServiceImpl::
// SubscribeAlertsAs: the gRPC SubscribeAlerts' policy, care-team check and audit), replayed from
// the stream's start so nothing raised while it was being set up is lost. Vitals have no push
// source: the stream polls GetVitalsAs (audited per poll, like any other read) with a cursor on
// measured_at, from `since` (RFC 3339, at most an hour ago; default now). A sample that arrives
// later than newer ones (a bridge's outbox draining) is not pushed; the page's next load has it.
//
// Frames: "event: ready" once, "event: alert" (data: AlertEvent in protobuf's JSON mapping),
// "event: vitals" (data: {"samples": [...]}), "event: end" (data: {"status", "message"}) when
// the stream ends from our side (care team removed, upstream gone, server stopping), and a
// comment every heartbeat so idle proxies and the browser see the connection alive.
//
// Each stream holds one listener worker and one reader thread for its lifetime, so streams are
// capped per caller and in total (429 past either cap); a disconnected browser is noticed at the
// next write (a heartbeat at the latest) and its stream released.
//
// Thread safety: Register once; handlers run on the listener's workers; Stop from any thread.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "clinician_api/clinician_service.h"

namespace healthtwin::clinician {

struct LiveOptions {
  int heartbeat_s = 10;
  int vitals_poll_s = 5;
  // HttpsOptions::workers is 8: at most half of them stream, so pages and the JSON API keep
  // workers. A page navigation opens the new stream before the old one's next write fails.
  int max_streams = 4;
  int max_streams_per_caller = 3;
};

class DashboardLive {
 public:
  // `domain` is not owned and must outlive the server the route is registered on.
  DashboardLive(ClinicianServiceImpl& domain, std::function<int64_t()> now_us, LiveOptions options = {});
  ~DashboardLive();

  void Register(httplib::Server& server);

  // Ends every open stream (with an "end" frame) and refuses new ones (503): call before
  // HttpsListener::Stop, which waits for requests in flight. Idempotent.
  void Stop();

  struct Stream;

 private:
  void Events(const httplib::Request& req, httplib::Response& res);
  // One step of a stream on its worker: waits for alert frames, a vitals poll or the heartbeat,
  // and writes what there is. False when the browser has gone.
  bool Pump(Stream& stream, httplib::DataSink& sink);
  // New samples since the stream's cursor as a "vitals" frame appended to `out`.
  absl::Status PollVitals(Stream& stream, std::string* out);
  void Release(const std::shared_ptr<Stream>& stream);

  ClinicianServiceImpl& domain_;
  const std::function<int64_t()> now_us_;
  const LiveOptions options_;
  std::mutex mu_;
  bool stopping_ = false;
  std::set<std::shared_ptr<Stream>> open_;
  std::map<std::string, int> per_caller_;
};

}  // namespace healthtwin::clinician
