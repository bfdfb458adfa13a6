#include "clinician_api/cli/feed_commands.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "clinician_api/cli/time_args.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/common/time_util.h"
#include "services/registry/feed_config.h"
#include "services/registry/feed_proto.h"

namespace healthtwin::cli {
namespace {

namespace reg = healthtwin::registry::v1;
namespace alr = healthtwin::alerts::v1;
using registry::FeedKind;

// A bad argument: one line naming it, exit 2 (the CLI's contract).
struct BadArgument {
  std::string message;
};

void Check(const absl::Status& s) {
  if (!s.ok()) throw BadArgument{std::string(s.message())};
}

// ValidateFeedConfig names fields as the API does ("feed.sending_facility"); say the flag.
std::string FlagOf(const std::string& message) {
  static const std::pair<const char*, const char*> kFields[] = {
      {"feed.name", "--name"},
      {"feed.target", "--target"},
      {"feed.tls.enabled", "--tls"},
      {"feed.tls.ca_pem", "--tls-ca"},
      {"feed.content", "--content"},
      {"feed.min_priority", "--min-priority"},
      {"feed.patient_ids", "--patients"},
      {"feed.care_team_of", "--care-team-of"},
      {"feed.sending_application", "--sending-app"},
      {"feed.sending_facility", "--sending-facility"},
      {"feed.receiving_application", "--receiving-app"},
      {"feed.receiving_facility", "--receiving-facility"},
  };
  for (const auto& [field, flag] : kFields) {
    const std::string prefix = std::string(field) + ":";
    if (message.starts_with(prefix)) return flag + std::string(message.substr(std::string(field).size()));
  }
  return std::string(message);
}

std::string ReadCaFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw BadArgument{"--tls-ca: cannot read '" + path + "'"};
  std::ostringstream text;
  text << in.rdbuf();
  const std::string pem = text.str();
  Check(registry::CheckCaPem("--tls-ca: '" + path + "'", pem));
  return pem;
}

std::string Lower(const std::string& enum_name, std::size_t prefix_len) {
  return absl::AsciiStrToLower(enum_name.substr(prefix_len));
}
std::string StateName(reg::FeedState s) { return Lower(reg::FeedState_Name(s), 11); }  // FEED_STATE_
std::string KindName(reg::FeedKind k) {
  return k == reg::FEED_KIND_HL7V2_MLLP ? "hl7v2-mllp" : k == reg::FEED_KIND_FHIR_REST_HOOK ? "fhir-rest-hook" : "?";
}
std::string ContentNames(const reg::Feed& f) {
  std::string out;
  for (int c : f.content()) {
    if (!out.empty()) out += ",";
    out += Lower(reg::FeedContent_Name(static_cast<reg::FeedContent>(c)), 13);  // FEED_CONTENT_
  }
  return out;
}

// "3h 12m", "45 s": how long the oldest pending message has waited.
std::string Age(double seconds) {
  char buf[64];
  if (seconds < 120) {
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  } else if (seconds < 7200) {
    std::snprintf(buf, sizeof buf, "%.0f min", seconds / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  }
  return buf;
}

void PrintFeed(std::ostream& out, const reg::Feed& f) {
  out << f.name() << "  " << KindName(f.kind()) << "  " << f.target() << "  " << StateName(f.state()) << "  "
      << ContentNames(f);
  if (f.tls().enabled()) {
    out << "  tls" << (f.tls().ca_pem().empty() ? "" : " (own CA)") << (f.tls().client_certificate() ? " mutual" : "");
  }
  if (f.min_priority() > alr::PRIORITY_LOW) out << "  min " << Lower(alr::Priority_Name(f.min_priority()), 9);
  if (f.patient_ids_size() > 0) out << "  patients " << f.patient_ids_size();
  if (!f.care_team_of().empty()) out << "  care team of " << f.care_team_of();
  out << "\n";
}

}  // namespace

FeedCommands::FeedCommands(CLI::App& admin, ApiAccess registry) : registry_(std::move(registry)) {
  auto* feed = admin.add_subcommand("feed", "hospital feeds: HL7 v2 over MLLP, FHIR R4 rest-hook");
  feed->require_subcommand(1);

  add_ = feed->add_subcommand("add", "register a feed (enabled at once)");
  add_->add_option("--name", name_, "feed name: lower-case letters, digits and . _ -")->required();
  add_->add_option("--kind", kind_, "hl7v2-mllp or fhir-rest-hook")->required();
  add_->add_option("--target", target_, "host:port for hl7v2-mllp, an https:// base URL for fhir-rest-hook")
      ->required();
  add_->add_flag("--tls", tls_, "connect over TLS (implied by --tls-ca, --client-cert and fhir-rest-hook)");
  add_->add_option("--tls-ca", tls_ca_file_, "PEM file of the CA that signs the receiver's certificate");
  add_->add_flag("--client-cert", client_cert_, "present healthtwin's client certificate (mutual TLS)");
  add_->add_option("--content", content_, "alerts, vitals or alerts,vitals")->required();
  add_->add_option("--min-priority", min_priority_, "low, medium or high (default low: every alert)");
  auto* patients = add_->add_option("--patients", patients_, "only these patients, comma-separated");
  add_->add_option("--care-team-of", care_team_of_, "only the patients of this member's care team")->excludes(patients);
  add_->add_option("--sending-app", sending_app_, "MSH-3 (default HEALTHTWIN)");
  add_->add_option("--sending-facility", sending_facility_, "MSH-4");
  add_->add_option("--receiving-app", receiving_app_, "MSH-5");
  add_->add_option("--receiving-facility", receiving_facility_, "MSH-6");

  list_ = feed->add_subcommand("list", "list the feeds");
  list_->add_flag("--json", json_, "one JSON object per feed");

  status_ = feed->add_subcommand("status", "per feed: pending, oldest pending, last acknowledged, retries, dead");
  status_->add_option("--name", name_, "only this feed");
  status_->add_flag("--json", json_, "one JSON object per feed");

  pause_ = feed->add_subcommand("pause", "stop delivering (messages keep queueing)");
  pause_->add_option("--name", name_, "feed name")->required();
  resume_ = feed->add_subcommand("resume", "deliver again, starting with what queued while paused");
  resume_->add_option("--name", name_, "feed name")->required();

  replay_ = feed->add_subcommand("replay", "send again, with their original message ids, the messages since T");
  replay_->add_option("--name", name_, "feed name")->required();
  replay_->add_option("--since", since_, "a duration ago (2h, 7d) or an RFC 3339 time")->required();
}

bool FeedCommands::parsed() const {
  return add_->parsed() || list_->parsed() || status_->parsed() || pause_->parsed() || resume_->parsed() ||
         replay_->parsed();
}

int FeedCommands::Run(std::ostream& out, std::ostream& err) const {
  try {
    if (add_->parsed()) return Add(out);
    if (list_->parsed()) return List(out);
    if (status_->parsed()) return Status(out);
    if (pause_->parsed()) return SetPaused(out, true);
    if (resume_->parsed()) return SetPaused(out, false);
    return Replay(out);
  } catch (const BadArgument& e) {
    err << "healthtwin: " << e.message << "\n";
    return 2;
  }
}

int FeedCommands::Add(std::ostream& out) const {
  registry::FeedConfig c;
  reg::AddFeedRequest req;
  Check(registry::CheckFeedName("--name", name_));
  c.name = name_;
  const auto kind = registry::ParseFeedKind(kind_);
  if (!kind) throw BadArgument{"--kind: expected hl7v2-mllp or fhir-rest-hook, got '" + kind_ + "'"};
  c.kind = *kind;
  Check(registry::CheckFeedTarget("--target", c.kind, target_));
  c.target = target_;
  if (!tls_ca_file_.empty()) c.tls_ca_pem = ReadCaFile(tls_ca_file_);
  c.tls_client_cert = client_cert_;
  c.tls = tls_ || client_cert_ || !c.tls_ca_pem.empty() || c.kind == FeedKind::kFhirRestHook;
  for (absl::string_view part : absl::StrSplit(content_, ',')) {
    const std::string item = absl::AsciiStrToLower(absl::StripAsciiWhitespace(part));
    bool* flag = item == "alerts" ? &c.send_alerts : item == "vitals" ? &c.send_vitals : nullptr;
    if (flag == nullptr)
      throw BadArgument{"--content: expected alerts, vitals or alerts,vitals, got '" + content_ + "'"};
    *flag = true;
  }
  if (!min_priority_.empty()) {
    alr::Priority p{};
    if (!alr::Priority_Parse("PRIORITY_" + absl::AsciiStrToUpper(min_priority_), &p) ||
        p == alr::PRIORITY_UNSPECIFIED) {
      throw BadArgument{"--min-priority: expected low, medium or high, got '" + min_priority_ + "'"};
    }
    c.min_priority = p;
  }
  if (!patients_.empty()) c.patient_ids = absl::StrSplit(patients_, ',');
  c.care_team_of = care_team_of_;
  if (!sending_app_.empty()) c.sending_application = sending_app_;
  c.sending_facility = sending_facility_;
  c.receiving_application = receiving_app_;
  c.receiving_facility = receiving_facility_;
  if (auto s = registry::ValidateFeedConfig(c); !s.ok()) throw BadArgument{FlagOf(std::string(s.message()))};

  registry::FeedConfigToProto(c, req.mutable_feed());
  reg::Feed resp;
  if (int rc = CallUnary(registry_, &reg::RegistryService::Stub::AddFeed, req, &resp); rc != 0) return rc;
  out << "added feed ";
  PrintFeed(out, resp);
  return 0;
}

int FeedCommands::List(std::ostream& out) const {
  reg::ListFeedsResponse resp;
  if (int rc = CallUnary(registry_, &reg::RegistryService::Stub::ListFeeds, reg::ListFeedsRequest{}, &resp); rc != 0) {
    return rc;
  }
  for (reg::Feed f : resp.feeds()) {
    if (json_) {
      // A certificate per line is noise; `has_ca` says whether there is one.
      const bool has_ca = !f.tls().ca_pem().empty();
      f.mutable_tls()->clear_ca_pem();
      nlohmann::json j = ProtoToJson(f);
      j["tls"]["has_ca"] = has_ca;
      out << j.dump() << "\n";
    } else {
      PrintFeed(out, f);
    }
  }
  if (resp.feeds_size() == 0 && !json_) out << "no feeds\n";
  return 0;
}

int FeedCommands::Status(std::ostream& out) const {
  if (!name_.empty()) Check(registry::CheckFeedName("--name", name_));
  reg::GetFeedStatusRequest req;
  req.set_name(name_);
  reg::GetFeedStatusResponse resp;
  if (int rc = CallUnary(registry_, &reg::RegistryService::Stub::GetFeedStatus, req, &resp); rc != 0) return rc;
  for (const auto& st : resp.feeds()) {
    if (json_) {
      out << ProtoToJson(st).dump() << "\n";
      continue;
    }
    out << st.name() << " (" << StateName(st.state()) << "): " << st.pending_count() << " pending";
    if (st.pending_count() > 0) out << ", oldest " << Age(st.oldest_pending_age_s());
    out << ", " << st.retries() << " retries, " << st.dead_count() << " dead, " << st.delivered_count()
        << " delivered; last acknowledged: ";
    if (st.last_acked_message_id().empty()) {
      out << "none\n";
    } else {
      out << st.last_acked_message_id() << " at " << common::FormatTimestamp(st.last_acked_at()) << "\n";
    }
    for (const auto& a : st.open_alerts()) {
      out << "  TECHNICAL ALERT "
          << (a.priority() >= 3   ? "high"
              : a.priority() == 2 ? "medium"
                                  : "low")
          << " " << a.kind() << " since " << common::FormatTimestamp(a.raised_at()) << " (" << a.event_count()
          << (a.event_count() == 1 ? " event" : " events") << ", last " << a.last_message_id() << "): " << a.summary()
          << "\n";
    }
  }
  if (resp.feeds_size() == 0 && !json_) out << "no feeds\n";
  return 0;
}

int FeedCommands::SetPaused(std::ostream& out, bool paused) const {
  Check(registry::CheckFeedName("--name", name_));
  reg::Feed resp;
  int rc = 0;
  if (paused) {
    reg::PauseFeedRequest req;
    req.set_name(name_);
    rc = CallUnary(registry_, &reg::RegistryService::Stub::PauseFeed, req, &resp);
  } else {
    reg::ResumeFeedRequest req;
    req.set_name(name_);
    rc = CallUnary(registry_, &reg::RegistryService::Stub::ResumeFeed, req, &resp);
  }
  if (rc != 0) return rc;
  out << "feed " << resp.name() << " " << StateName(resp.state()) << "\n";
  return 0;
}

int FeedCommands::Replay(std::ostream& out) const {
  Check(registry::CheckFeedName("--name", name_));
  auto since = ParseInstantArg("--since", since_, absl::Now());
  Check(since.status());
  reg::ReplayFeedRequest req;
  req.set_name(name_);
  *req.mutable_since() = common::FromUnixMicros(absl::ToUnixMicros(*since));
  reg::ReplayFeedResponse resp;
  if (int rc = CallUnary(registry_, &reg::RegistryService::Stub::ReplayFeed, req, &resp); rc != 0) return rc;
  out << "feed " << name_ << ": " << resp.requeued_count() << " messages since " << common::FormatTimestamp(req.since())
      << " queued again with their original message ids\n";
  return 0;
}

}  // namespace healthtwin::cli
