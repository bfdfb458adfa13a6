// A fake encoder (and a callback transport) for the feed tests and the kill -9 replica driver: payloads name what they
// carry ("ALERT|<id>|<patient>|<event_seq>|<priority>|<summary>",
// "VITALS|<id>|<patient>|<seq>=<value>,..."), so a test can check what was sent.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/feeds/message_encoder.h"
#include "services/feeds/transport.h"

namespace healthtwin::feeds::fakes {

class FakeEncoder : public MessageEncoder {
 public:
  absl::StatusOr<std::string> EncodeAlertEvent(const Feed&, const AlertEventRow& e, const std::string& message_id,
                                               EventNumbers&) const override {
    return absl::StrCat("ALERT|", message_id, "|", e.patient_id, "|", e.event_seq, "|", e.priority, "|", e.summary);
  }
  absl::StatusOr<std::string> EncodeVitals(const Feed&, std::span<const VitalRow> samples,
                                           const std::string& message_id, EventNumbers&) const override {
    std::vector<std::string> seqs;
    for (const auto& s : samples) seqs.push_back(absl::StrCat(s.ingest_seq, "=", s.value));
    return absl::StrCat("VITALS|", message_id, "|", samples.front().patient_id, "|", absl::StrJoin(seqs, ","));
  }
};

// A transport that hands every send to a function (e.g. a recorder several transports share).
class CallbackTransport : public Transport {
 public:
  using Fn = std::function<SendResult(const std::string& payload, const std::string& message_id)>;
  explicit CallbackTransport(Fn fn) : fn_(std::move(fn)) {}
  SendResult Send(const std::string& payload, const std::string& message_id) override {
    return fn_(payload, message_id);
  }

 private:
  Fn fn_;
};

}  // namespace healthtwin::feeds::fakes
