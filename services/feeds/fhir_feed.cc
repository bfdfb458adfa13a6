#include "services/feeds/fhir_feed.h"

#include <httplib.h>

#include <chrono>
#include <fstream>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/feeds/fhir/alerts.h"
#include "services/feeds/fhir/notification.h"
#include "services/feeds/fhir/vitals.h"
#include "services/feeds/temp_pem.h"

namespace healthtwin::feeds {
namespace {

using nlohmann::json;

constexpr char kAlertTopic[] = "urn:healthtwin:topic:alert-events";
constexpr char kVitalsTopic[] = "urn:healthtwin:topic:vitals";
constexpr char kFhirJson[] = "application/fhir+json";

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The notification of one message of `feed` to its subscription `what` ("alerts", "vitals").
fhir::Notification NotificationOf(const Feed& feed, const std::string& base_url, const char* what, const char* topic,
                                  const std::string& message_id) {
  fhir::Notification n;
  n.bundle_id = message_id;
  n.base_url = base_url;
  n.subscription_id = absl::StrCat("ht-feed-", feed.feed_id, "-", what);
  n.topic_url = topic;
  n.timestamp_us = NowUs();
  return n;
}

// Owns the client and the temporary CA file it reads.
class HttpsTransport : public Transport {
 public:
  HttpsTransport(std::unique_ptr<httplib::Client> client, std::string path, TempPemFile ca_file, std::string token_file)
      : client_(std::move(client)),
        path_(std::move(path)),
        ca_file_(std::move(ca_file)),
        token_file_(std::move(token_file)) {}

  SendResult Send(const std::string& payload, const std::string& message_id) override {
    httplib::Headers headers = {{"Accept", kFhirJson}};
    if (!token_file_.empty()) {
      std::ifstream in(token_file_);
      std::string token;
      std::getline(in, token);
      token = std::string(absl::StripAsciiWhitespace(token));
      if (token.empty()) {
        return {SendResult::Outcome::kRetry, absl::StrCat("bearer token file ", token_file_, " missing or empty"), ""};
      }
      headers.emplace("Authorization", absl::StrCat("Bearer ", token));
    }
    auto res = client_->Post(path_, headers, payload, kFhirJson);
    if (!res && reused_) {
      // The kept-alive connection was closed by the receiver while idle (its keep-alive timeout):
      // httplib finds out only when the request fails. Send once more on a fresh connection
      // rather than wait a backoff; a receiver that did get the first copy sees the same Bundle id.
      res = client_->Post(path_, headers, payload, kFhirJson);
    }
    reused_ = static_cast<bool>(res);
    if (!res) {
      // No HTTP answer: connection refused, timeout, TLS handshake or certificate failure.
      return {SendResult::Outcome::kRetry, absl::StrCat("https: ", httplib::to_string(res.error())), ""};
    }
    const std::string ack = absl::StrCat("HTTP ", res->status, "\n", res->body.substr(0, 2000));
    const SendResult::Outcome outcome = HttpOutcome(res->status);
    if (outcome == SendResult::Outcome::kDelivered) return {outcome, "", ack};
    return {outcome, absl::StrCat("HTTP ", res->status, " for ", message_id), ack};
  }

 private:
  std::unique_ptr<httplib::Client> client_;
  std::string path_;
  TempPemFile ca_file_;
  std::string token_file_;
  bool reused_ = false;  // the last request got an answer, so the next one reuses its connection
};

}  // namespace

fhir::AlertEvent FhirAlertEventOf(const AlertEventRow& row) {
  fhir::AlertEvent e;
  e.event_seq = row.event_seq;
  e.alert_id = row.alert_id;
  e.kind = static_cast<alerts::lifecycle::EventKind>(row.kind);
  e.actor = row.actor;
  e.event_at_us = row.event_at_us;
  e.patient_id = row.patient_id;
  e.rule_id = row.rule_id;
  e.priority = row.priority;
  e.category = row.category;
  e.phase = row.phase;
  e.summary = row.summary;
  e.peak_value = row.peak_value;
  e.ucum_unit = row.ucum_unit;
  e.covers = row.covers;
  return e;
}

fhir::VitalSample FhirVitalSampleOf(const VitalRow& row) {
  return {row.ingest_seq, row.patient_id, row.device_id,     static_cast<common::VitalType>(row.vital_type),
          row.value,      row.ucum_unit,  row.measured_at_us};
}

absl::StatusOr<std::string> FhirEncoder::EncodeAlertEvent(const Feed& feed, const AlertEventRow& event,
                                                          const std::string& message_id, EventNumbers& numbers) const {
  fhir::AlertResources r = fhir::BuildAlertResources(FhirAlertEventOf(event));
  fhir::Notification n = NotificationOf(feed, base_url_, "alerts", kAlertTopic, message_id);
  numbers.count = 1;
  n.events = {{numbers.before + 1, event.event_at_us, r.focus}};
  n.events_since_start = numbers.before + 1;
  n.resources = std::move(r.resources);
  return fhir::BuildNotificationBundle(std::move(n)).dump();
}

absl::StatusOr<std::string> FhirEncoder::EncodeVitals(const Feed& feed, std::span<const VitalRow> samples,
                                                      const std::string& message_id, EventNumbers& numbers) const {
  if (samples.empty()) return absl::InvalidArgumentError("vitals: an empty batch");
  std::vector<fhir::VitalSample> rows;
  rows.reserve(samples.size());
  for (const VitalRow& s : samples) rows.push_back(FhirVitalSampleOf(s));
  fhir::VitalObservations built = fhir::BuildVitalObservations(rows);
  if (built.skipped_without_profile > 0 || built.skipped_unit_mismatch > 0) {
    common::LogWarn("feeds.fhir_samples_skipped", {{"feed_id", feed.feed_id},
                                                   {"message_id", message_id},
                                                   {"without_vital_signs_profile", built.skipped_without_profile},
                                                   {"unit_not_the_profile_unit", built.skipped_unit_mismatch}});
  }
  fhir::Notification n = NotificationOf(feed, base_url_, "vitals", kVitalsTopic, message_id);
  // One event per Observation (a BP panel of two rows is one); a batch whose rows all lack a
  // profile is a heartbeat that repeats the count so far.
  numbers.count = static_cast<int64_t>(built.observations.size());
  n.events_since_start = numbers.before + numbers.count;
  n.resources.push_back(fhir::BuildPatient(samples.front().patient_id));
  std::set<std::string> devices;
  for (const VitalRow& s : samples) {
    if (!s.device_id.empty() && devices.insert(s.device_id).second) {
      n.resources.push_back(fhir::BuildDevice(s.device_id, s.patient_id));
    }
  }
  for (size_t i = 0; i < built.observations.size(); ++i) {
    n.events.push_back({numbers.before + 1 + static_cast<int64_t>(i), built.measured_at_us[i],
                        absl::StrCat("Observation/", built.observations[i]["id"].get<std::string>())});
    n.resources.push_back(std::move(built.observations[i]));
  }
  return fhir::BuildNotificationBundle(std::move(n)).dump();
}

SendResult::Outcome HttpOutcome(int status) {
  if (status >= 200 && status < 300) return SendResult::Outcome::kDelivered;
  if (status == 408 || status == 429) return SendResult::Outcome::kRetry;
  if (status >= 400 && status < 500) return SendResult::Outcome::kPermanent;
  return SendResult::Outcome::kRetry;
}

absl::StatusOr<std::unique_ptr<Transport>> MakeFhirTransport(const Feed& feed, const FhirTransportOptions& options) {
  // https://host[:port][/path], checked by the registry (CheckFeedTarget) when the feed was added.
  const std::string& target = feed.config.target;
  constexpr absl::string_view kScheme = "https://";
  if (!absl::StartsWith(target, kScheme) || target.size() == kScheme.size()) {
    return absl::InvalidArgumentError(absl::StrCat("feed.target: '", target, "' is not an https:// URL"));
  }
  const size_t slash = target.find('/', kScheme.size());
  const std::string origin = slash == std::string::npos ? target : target.substr(0, slash);
  const std::string path = slash == std::string::npos ? "/" : target.substr(slash);

  std::unique_ptr<httplib::Client> client;
  if (feed.config.tls_client_cert) {
    client = std::make_unique<httplib::Client>(origin, options.identity.cert_path, options.identity.key_path);
  } else {
    client = std::make_unique<httplib::Client>(origin);
  }
  if (!client->is_valid()) {
    return absl::InvalidArgumentError(absl::StrCat("feed.target: cannot make an HTTPS client for '", origin,
                                                   "' (or our client certificate is unusable)"));
  }
  TempPemFile ca_file;
  if (feed.config.tls_ca_pem.empty()) {
    client->set_ca_cert_path("/etc/ssl/certs/ca-certificates.crt");
  } else {
    auto written = TempPemFile::Write(feed.config.tls_ca_pem);
    if (!written.ok()) return written.status();
    ca_file = std::move(written).value();
    client->set_ca_cert_path(ca_file.path());
  }
  client->enable_server_certificate_verification(true);
  client->set_connection_timeout(static_cast<time_t>(options.connect_timeout.count()));
  client->set_read_timeout(static_cast<time_t>(options.read_timeout.count()));
  client->set_write_timeout(static_cast<time_t>(options.read_timeout.count()));
  client->set_follow_location(false);
  // One connection per feed, kept between messages, so a feed does not pay a mutual TLS
  // handshake (two certificate chains) per Bundle.
  client->set_keep_alive(true);
  // httplib writes the headers and the body separately: with Nagle's algorithm the body waits
  // for the receiver's delayed ACK (about 40 ms on Linux) on every request of a kept connection.
  client->set_tcp_nodelay(true);
  if (!options.host_addresses.empty()) client->set_hostname_addr_map(options.host_addresses);
  std::string token_file;
  if (!options.bearer_token_dir.empty()) {
    token_file = absl::StrCat(options.bearer_token_dir, "/", feed.config.name, ".token");
  }
  return std::make_unique<HttpsTransport>(std::move(client), path, std::move(ca_file), std::move(token_file));
}

}  // namespace healthtwin::feeds
