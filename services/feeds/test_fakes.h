// A fake encoder for the feed tests and the kill -9 replica driver: payloads name what they
// carry ("ALERT|<id>|<patient>|<event_seq>|<priority>|<summary>",
// "VITALS|<id>|<patient>|<seq>=<value>,..."), so a test can check what was sent.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/feeds/message_encoder.h"

namespace healthtwin::feeds::fakes {

class FakeEncoder : public MessageEncoder {
 public:
  absl::StatusOr<std::string> EncodeAlertEvent(const Feed&, const AlertEventRow& e,
                                               const std::string& message_id) const override {
    return absl::StrCat("ALERT|", message_id, "|", e.patient_id, "|", e.event_seq, "|", e.priority, "|", e.summary);
  }
  absl::StatusOr<std::string> EncodeVitals(const Feed&, std::span<const VitalRow> samples,
                                           const std::string& message_id) const override {
    std::vector<std::string> seqs;
    for (const auto& s : samples) seqs.push_back(absl::StrCat(s.ingest_seq, "=", s.value));
    return absl::StrCat("VITALS|", message_id, "|", samples.front().patient_id, "|", absl::StrJoin(seqs, ","));
  }
};

}  // namespace healthtwin::feeds::fakes
