#include "services/feeds/disclosure_audit.h"

#include "absl/strings/str_cat.h"
#include "services/common/access.h"

namespace healthtwin::feeds {
namespace {

// The first line of what the receiver answered (the MSA segment, the HTTP status line), cut.
std::string FirstLine(const std::string& ack) {
  constexpr std::size_t kMax = 120;
  std::string line = ack.substr(0, ack.find_first_of("\r\n"));
  if (line.size() > kMax) line = line.substr(0, kMax) + "...";
  return line;
}

}  // namespace

bool IsDisclosure(const SendResult& result) {
  return result.outcome == SendResult::Outcome::kDelivered || !result.ack.empty();
}

std::string DisclosureDetail(const Feed& feed, const Disclosure& disclosure) {
  const bool accepted = disclosure.outcome == SendResult::Outcome::kDelivered;
  return absl::StrCat(std::string(registry::FeedKindName(feed.config.kind)), " feed \"", feed.config.name, "\" to ",
                      feed.config.target, ": ", accepted ? "acknowledged" : "not accepted", " (",
                      FirstLine(disclosure.ack), ")");
}

void AuditDisclosures(pqxx::work& tx, const common::PeerIdentity& agent, const Feed& feed,
                      const std::vector<Disclosure>& disclosures) {
  common::Caller caller{.identity = agent, .peer_address = feed.config.target, .on_behalf_of = {}};
  for (const Disclosure& d : disclosures) {
    const bool accepted = d.outcome == SendResult::Outcome::kDelivered;
    common::Access::AuditInTransaction(tx, caller, "feed.export", d.patient_id, accepted ? "allowed" : "rejected",
                                       DisclosureDetail(feed, d),
                                       {.event_type = "110106",  // DICOM PS3.16 CID 400: Export
                                        .purpose_of_use = "TREAT",
                                        .entity_what = "feed_message/" + d.message_id,
                                        .outcome_code = accepted ? "0" : "4"});
  }
}

}  // namespace healthtwin::feeds
