#include "services/feeds/hl7_feed.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/feeds/hl7/alarm_status.h"
#include "services/feeds/hl7/encoder.h"
#include "services/feeds/hl7/mllp_client.h"
#include "services/feeds/temp_pem.h"

namespace healthtwin::feeds {
namespace {

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

hl7::MessageContext ContextOf(const Feed& feed, const std::string& message_id) {
  hl7::MessageContext c;
  c.identity.sending_application = feed.config.sending_application;
  c.identity.sending_facility = feed.config.sending_facility;
  c.identity.receiving_application = feed.config.receiving_application;
  c.identity.receiving_facility = feed.config.receiving_facility;
  c.control_id = message_id;
  c.created_at_us = NowUs();
  return c;
}

// Owns the temporary CA file for the client's lifetime.
class MllpTransport : public Transport {
 public:
  MllpTransport(std::unique_ptr<hl7::MllpClient> client, TempPemFile ca_file)
      : client_(std::move(client)), ca_file_(std::move(ca_file)) {}

  SendResult Send(const std::string& payload, const std::string& message_id) override {
    auto ack = client_->Send(payload, message_id);
    if (!ack.ok()) return {SendResult::Outcome::kRetry, std::string(ack.status().ToString()), ""};
    // The ACK as its MSA segment says it (the library keeps the parsed fields, not the bytes).
    const std::string ack_text = absl::StrCat("MSA|", ack->code, "|", ack->control_id, "|", ack->text);
    const std::string said = absl::StrCat(ack->code, ack->text.empty() ? "" : ": ", ack->text);
    switch (ack->outcome) {
      case hl7::AckOutcome::kDelivered:
        return {SendResult::Outcome::kDelivered, "", ack_text};
      case hl7::AckOutcome::kRejected:
        return {SendResult::Outcome::kPermanent, said, ack_text};
      case hl7::AckOutcome::kRetry:
        break;
    }
    return {SendResult::Outcome::kRetry, said, ack_text};
  }

 private:
  std::unique_ptr<hl7::MllpClient> client_;
  TempPemFile ca_file_;
};

}  // namespace

hl7::AlertEventView AlertEventViewOf(const AlertEventRow& row) {
  hl7::AlertEventView v;
  v.alert_id = row.alert_id;
  v.event_seq = row.event_seq;
  v.kind = static_cast<hl7::AlertEventKind>(row.kind);
  v.actor = row.actor;
  v.event_at_us = row.event_at_us;
  v.patient_id = row.patient_id;
  v.rule_id = row.rule_id;
  v.priority = static_cast<hl7::AlertPriority>(row.priority);
  v.category = static_cast<hl7::AlertCategory>(row.category);
  v.text = row.summary;
  const hl7::AlarmStatus status = hl7::StatusAfter(v.kind, static_cast<hl7::LifecyclePhase>(row.phase),
                                                   row.any_acknowledgement, row.any_active_shelf);
  v.phase = status.phase;
  v.alarm_state = status.state;
  v.inactivation = status.inactivation;
  if (!row.covers.empty()) {
    v.trigger = hl7::TriggerObservation{row.covers, row.peak_value, row.ucum_unit, row.event_at_us};
  }
  return v;
}

absl::StatusOr<std::string> Hl7Encoder::EncodeAlertEvent(const Feed& feed, const AlertEventRow& event,
                                                         const std::string& message_id, EventNumbers&) const {
  return hl7::EncodeOruR40(AlertEventViewOf(event), ContextOf(feed, message_id));
}

absl::StatusOr<std::string> Hl7Encoder::EncodeVitals(const Feed& feed, std::span<const VitalRow> samples,
                                                     const std::string& message_id, EventNumbers&) const {
  std::vector<hl7::VitalSampleView> views;
  views.reserve(samples.size());
  for (const VitalRow& s : samples) {
    views.push_back({s.patient_id, s.device_id, static_cast<common::VitalType>(s.vital_type), s.value, s.ucum_unit,
                     s.measured_at_us});
  }
  return hl7::EncodeOruR01(views, ContextOf(feed, message_id));
}

absl::StatusOr<std::unique_ptr<Transport>> MakeMllpTransport(const Feed& feed, const ClientIdentityFiles& identity) {
  // host:port, the host possibly a [v6] literal (checked by the registry when the feed was added).
  const std::string& target = feed.config.target;
  const size_t colon = target.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(target.substr(colon + 1), &port) || port == 0 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("feed.target: '", target, "' is not host:port"));
  }
  hl7::MllpClientOptions o;
  o.host = target.substr(0, colon);
  if (o.host.size() > 2 && o.host.front() == '[' && o.host.back() == ']') o.host = o.host.substr(1, o.host.size() - 2);
  o.port = static_cast<uint16_t>(port);
  o.tls = feed.config.tls;
  TempPemFile ca_file;
  if (feed.config.tls) {
    if (feed.config.tls_ca_pem.empty()) {
      // The system trust store.
      o.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    } else {
      auto written = TempPemFile::Write(feed.config.tls_ca_pem);
      if (!written.ok()) return written.status();
      ca_file = std::move(written).value();
      o.ca_file = ca_file.path();
    }
    if (feed.config.tls_client_cert) {
      o.client_cert_file = identity.cert_path;
      o.client_key_file = identity.key_path;
    }
  }
  auto client = hl7::MllpClient::Create(std::move(o));
  if (!client.ok()) return client.status();
  return std::make_unique<MllpTransport>(std::move(client).value(), std::move(ca_file));
}

}  // namespace healthtwin::feeds
