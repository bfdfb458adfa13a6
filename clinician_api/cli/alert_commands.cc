#include "clinician_api/cli/alert_commands.h"

#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "clinician_api/cli/time_args.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "services/common/time_util.h"

namespace healthtwin::cli {
namespace {

namespace clin = healthtwin::clinician::v1;
namespace alr = healthtwin::alerts::v1;

// A bad argument: one line naming it, exit 2 (the CLI's contract).
struct BadArgument {
  std::string message;
};

// "90s", "30m", "2h" (absl::ParseDuration) or "7d"; positive.
absl::Duration ParseSpan(const std::string& flag, const std::string& text) {
  auto d = ParseSpanArg(flag, text);
  if (!d.ok()) throw BadArgument{std::string(d.status().message())};
  return *d;
}

google::protobuf::Timestamp Ago(const std::string& flag, const std::string& text) {
  return common::FromUnixMicros(common::NowUnixMicros() - absl::ToInt64Microseconds(ParseSpan(flag, text)));
}

// `value` of `flag` as the enum value named PREFIX_VALUE (case-insensitive), not UNSPECIFIED.
template <typename Enum>
Enum ParseEnumFlag(const std::string& flag, const std::string& value, const std::string& prefix,
                   bool (*parse)(const std::string&, Enum*), const char* choices) {
  Enum e{};
  if (!parse(prefix + absl::AsciiStrToUpper(value), &e) || static_cast<int>(e) == 0) {
    throw BadArgument{flag + ": expected one of " + choices + ", got '" + value + "'"};
  }
  return e;
}

std::string Lower(const std::string& enum_name, std::size_t prefix_len) {
  return absl::AsciiStrToLower(enum_name.substr(prefix_len));
}
std::string PriorityName(alr::Priority p) { return Lower(alr::Priority_Name(p), 9); }              // PRIORITY_
std::string StateName(alr::AlertState s) { return Lower(alr::AlertState_Name(s), 12); }            // ALERT_STATE_
std::string KindName(alr::AlertEvent::Kind k) { return Lower(alr::AlertEvent::Kind_Name(k), 5); }  // KIND_

std::string When(const google::protobuf::Timestamp& ts) { return common::FormatTimestamp(ts); }

std::string AlertLine(const alr::Alert& a) {
  std::string line = "[" + When(a.raised_at()) + "] " + PriorityName(a.priority()) + " " + StateName(a.state()) + " " +
                     a.patient_id() + " " + a.rule_id() + ": " + a.summary() + " (id " + a.alert_id() + ")";
  if (a.has_shelved_until()) line += " shelved until " + When(a.shelved_until());
  return line;
}

void PrintSettings(std::ostream& out, const alr::PatientAlertSettings& s, bool json) {
  if (json) {
    nlohmann::json overrides = nlohmann::json::object();
    for (const auto& [rule, value] : s.threshold_overrides()) overrides[rule] = value;
    nlohmann::json j{{"patient_id", s.patient_id()},   {"threshold_overrides", overrides},
                     {"spo2_scale2", s.spo2_scale2()}, {"supplemental_oxygen", s.supplemental_oxygen()},
                     {"version", s.version()},         {"updated_by", s.updated_by()}};
    if (s.has_updated_at()) j["updated_at"] = When(s.updated_at());
    out << j.dump() << "\n";
    return;
  }
  out << "alert settings of " << s.patient_id() << ": version " << s.version();
  if (s.version() == 0) out << " (catalogue defaults)";
  if (!s.updated_by().empty()) out << ", changed by " << s.updated_by() << " at " << When(s.updated_at());
  out << "\nSpO2 scale: " << (s.spo2_scale2() ? "2 (hypercapnic respiratory failure)" : "1")
      << "\noxygen: " << (s.supplemental_oxygen() ? "supplemental" : "air") << "\n";
  std::map<std::string, double> sorted(s.threshold_overrides().begin(), s.threshold_overrides().end());
  if (sorted.empty()) out << "no threshold overrides\n";
  for (const auto& [rule, value] : sorted) out << "threshold " << rule << " = " << value << "\n";
}

bool ParseOnOff(const std::string& flag, const std::string& value) {
  if (value == "on") return true;
  if (value == "off") return false;
  throw BadArgument{flag + ": expected on or off, got '" + value + "'"};
}

}  // namespace

AlertCommands::AlertCommands(CLI::App& app, CLI::App& alerts, ApiAccess api) : api_(std::move(api)) {
  list_ = alerts.add_subcommand("list", "list alerts of your patients, newest first");
  list_->add_option("--patient", patients_, "only these patients (default: all of yours)");
  list_->add_option("--state", state_, "open, acknowledged, escalated, resolved, latched or suppressed");
  list_->add_option("--priority", priority_, "low, medium or high");
  list_->add_option("--rule", rule_, "rule id, e.g. hr_high");
  list_->add_option("--since", since_, "only alerts raised this long ago or later, e.g. 2h, 7d");
  list_->add_option("--limit", limit_, "alerts per page")->check(CLI::Range(1, 1000));
  list_->add_option("--page-token", page_token_, "continue after a previous page");
  list_->add_flag("--all", all_, "follow next_page_token to the end");
  list_->add_flag("--json", json_, "one JSON object: alerts and next_page_token");

  show_ = alerts.add_subcommand("show", "show one alert with its event log");
  show_->add_option("alert_id", alert_id_, "alert id")->required();
  show_->add_flag("--json", json_, "one JSON object");

  shelve_ = alerts.add_subcommand("shelve", "pause an alert's notifications to you for a limited time");
  shelve_->add_option("alert_id", alert_id_, "alert id")->required();
  shelve_->add_option("--for", shelve_for_, "how long, e.g. 15m (at most the server's maximum, 60m by default)")
      ->required();
  shelve_->add_option("--reason", reason_, "why, for the record")->required();
  shelve_->add_flag("--json", json_, "one JSON object");

  stats_ = alerts.add_subcommand("stats", "alarm burden: alerts per patient-day, acknowledged, escalated");
  stats_->add_option("--patient", patients_, "only these patients (default: all of yours)");
  stats_->add_option("--by", by_, "team (all together), patient or rule")
      ->check(CLI::IsMember({"team", "patient", "rule"}));
  stats_->add_option("--since", since_, "window start, this long ago (default 7d)");
  stats_->add_flag("--json", json_, "one JSON object");

  auto* patient = app.add_subcommand("patient", "per-patient settings (through clinician_api)");
  patient->require_subcommand(1);
  auto* settings = patient->add_subcommand("alert-settings", "a patient's alert thresholds, NEWS2 scale 2, oxygen");
  settings->require_subcommand(1);
  settings_get_ = settings->add_subcommand("get", "show the settings");
  settings_get_->add_option("--patient", patient_, "patient id")->required();
  settings_get_->add_flag("--json", json_, "one JSON object");
  settings_set_ = settings->add_subcommand("set", "change the settings (read, change, write back)");
  settings_set_->add_option("--patient", patient_, "patient id")->required();
  settings_set_->add_option("--threshold", thresholds_, "RULE=VALUE, e.g. hr_high=110; repeat for several");
  settings_set_->add_option("--clear-threshold", clear_thresholds_, "RULE: back to the catalogue's threshold");
  settings_set_->add_option("--scale2", scale2_, "on or off: NEWS2 SpO2 scale 2");
  settings_set_->add_option("--oxygen", oxygen_, "air or supplemental");
  settings_set_->add_flag("--json", json_, "one JSON object");
}

bool AlertCommands::parsed() const {
  return list_->parsed() || show_->parsed() || shelve_->parsed() || stats_->parsed() || settings_get_->parsed() ||
         settings_set_->parsed();
}

int AlertCommands::Run(std::ostream& out, std::ostream& err) const {
  try {
    if (list_->parsed()) return List(out, err);
    if (show_->parsed()) return Show(out, err);
    if (shelve_->parsed()) return Shelve(out, err);
    if (stats_->parsed()) return Stats(out, err);
    if (settings_get_->parsed()) return SettingsGet(out, err);
    return SettingsSet(out, err);
  } catch (const BadArgument& e) {
    err << "healthtwin: " << e.message << "\n";
    return 2;
  }
}

int AlertCommands::List(std::ostream& out, std::ostream& err) const {
  alr::ListAlertsRequest req;
  for (const auto& p : patients_) req.add_patient_ids(p);
  if (!state_.empty()) {
    req.set_state(ParseEnumFlag<alr::AlertState>("--state", state_, "ALERT_STATE_", alr::AlertState_Parse,
                                                 "open, acknowledged, escalated, resolved, latched, suppressed"));
  }
  if (!priority_.empty()) {
    req.set_priority(
        ParseEnumFlag<alr::Priority>("--priority", priority_, "PRIORITY_", alr::Priority_Parse, "low, medium, high"));
  }
  req.set_rule_id(rule_);
  if (!since_.empty()) *req.mutable_since() = Ago("--since", since_);
  req.set_page_size(limit_);
  req.set_page_token(page_token_);
  nlohmann::json all = nlohmann::json::array();
  std::string next;
  do {
    alr::ListAlertsResponse resp;
    if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::ListAlerts, req, &resp); rc != 0) return rc;
    for (const auto& a : resp.alerts()) {
      if (json_) {
        all.push_back(ProtoToJson(a));
      } else {
        out << AlertLine(a) << "\n";
      }
    }
    next = resp.next_page_token();
    req.set_page_token(next);
  } while (all_ && !next.empty());
  if (json_) {
    out << nlohmann::json{{"alerts", all}, {"next_page_token", next}}.dump() << "\n";
  } else if (!next.empty()) {
    err << "healthtwin: more alerts: --page-token " << next << "\n";
  }
  return 0;
}

int AlertCommands::Show(std::ostream& out, std::ostream&) const {
  alr::GetAlertRequest req;
  req.set_alert_id(alert_id_);
  alr::Alert a;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::GetAlert, req, &a); rc != 0) return rc;
  if (json_) {
    out << ProtoToJson(a).dump() << "\n";
    return 0;
  }
  out << AlertLine(a) << "\n";
  out << "phase " << Lower(alr::AlertPhase_Name(a.phase()), 12) << ", tier " << a.tier() << ", peak " << a.peak_value()
      << " " << a.ucum_unit() << ", " << a.duration_s() << " s\n";
  for (const auto& ack : a.acknowledgements()) {
    out << "acknowledged by " << ack.recipient() << " at " << When(ack.acknowledged_at()) << "\n";
  }
  for (const auto& s : a.shelves()) {
    out << "shelved by " << s.recipient() << " until " << When(s.shelved_until()) << ": " << s.reason() << "\n";
  }
  out << "events:\n";
  for (const auto& e : a.events()) {
    out << "  #" << e.event_seq() << " " << When(e.at()) << " " << KindName(e.kind()) << " by " << e.actor();
    if (!e.reason().empty()) out << ": " << e.reason();
    out << "\n";
  }
  return 0;
}

int AlertCommands::Shelve(std::ostream& out, std::ostream&) const {
  clin::ShelveAlertRequest req;
  req.set_alert_id(alert_id_);
  const absl::Duration d = ParseSpan("--for", shelve_for_);
  req.mutable_duration()->set_seconds(absl::ToInt64Seconds(d));
  req.set_reason(reason_);
  alr::Alert a;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::ShelveAlert, req, &a); rc != 0) return rc;
  out << (json_ ? ProtoToJson(a).dump() : AlertLine(a)) << "\n";
  return 0;
}

int AlertCommands::Stats(std::ostream& out, std::ostream&) const {
  alr::GetAlarmBurdenRequest req;
  for (const auto& p : patients_) req.add_patient_ids(p);
  req.set_group_by(by_ == "patient" ? alr::GetAlarmBurdenRequest::GROUP_BY_PATIENT
                   : by_ == "rule"  ? alr::GetAlarmBurdenRequest::GROUP_BY_RULE
                                    : alr::GetAlarmBurdenRequest::GROUP_BY_PATIENTS);
  if (!since_.empty()) *req.mutable_start() = Ago("--since", since_);
  alr::GetAlarmBurdenResponse resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::GetAlarmBurden, req, &resp); rc != 0) return rc;
  if (json_) {
    nlohmann::json rows = nlohmann::json::array();
    for (const auto& r : resp.rows()) {
      rows.push_back({{"key", r.key()},
                      {"alerts", r.alerts()},
                      {"patient_days", r.patient_days()},
                      {"alerts_per_patient_day", r.alerts_per_patient_day()},
                      {"share_acknowledged", r.share_acknowledged()},
                      {"median_time_to_acknowledge_s", r.median_time_to_acknowledge_s()},
                      {"share_escalated", r.share_escalated()}});
    }
    out << nlohmann::json{{"by", by_}, {"start", When(resp.start())}, {"end", When(resp.end())}, {"rows", rows}}.dump()
        << "\n";
    return 0;
  }
  out << "alarm burden " << When(resp.start()) << " .. " << When(resp.end()) << " by " << by_ << "\n";
  out << "key                      alerts  per patient-day  acknowledged  median to ack  escalated\n";
  for (const auto& r : resp.rows()) {
    char line[256];
    const std::string median = r.median_time_to_acknowledge_s() < 0
                                   ? "-"
                                   : std::to_string(static_cast<int64_t>(r.median_time_to_acknowledge_s())) + " s";
    std::snprintf(line, sizeof line, "%-24s %6lld  %15.2f  %11.0f %%  %13s  %8.0f %%",
                  r.key().empty() ? "(all)" : r.key().c_str(), static_cast<long long>(r.alerts()),
                  r.alerts_per_patient_day(), 100 * r.share_acknowledged(), median.c_str(), 100 * r.share_escalated());
    out << line << "\n";
  }
  return 0;
}

int AlertCommands::SettingsGet(std::ostream& out, std::ostream&) const {
  alr::GetPatientAlertSettingsRequest req;
  req.set_patient_id(patient_);
  alr::PatientAlertSettings s;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::GetPatientAlertSettings, req, &s); rc != 0) return rc;
  PrintSettings(out, s, json_);
  return 0;
}

int AlertCommands::SettingsSet(std::ostream& out, std::ostream&) const {
  // Arguments first, so that a bad one exits 2 before anything is read or written.
  std::map<std::string, double> set;
  for (const auto& t : thresholds_) {
    const auto eq = t.find('=');
    double value = 0;
    if (eq == std::string::npos || eq == 0 || !absl::SimpleAtod(t.substr(eq + 1), &value)) {
      throw BadArgument{"--threshold: expected RULE=VALUE like hr_high=110, got '" + t + "'"};
    }
    set[t.substr(0, eq)] = value;
  }
  std::optional<bool> scale2;
  if (!scale2_.empty()) scale2 = ParseOnOff("--scale2", scale2_);
  std::optional<bool> oxygen;
  if (!oxygen_.empty()) {
    if (oxygen_ != "air" && oxygen_ != "supplemental") {
      throw BadArgument{"--oxygen: expected air or supplemental, got '" + oxygen_ + "'"};
    }
    oxygen = oxygen_ == "supplemental";
  }
  if (set.empty() && clear_thresholds_.empty() && !scale2 && !oxygen) {
    throw BadArgument{"--threshold: nothing to change (give --threshold, --clear-threshold, --scale2 or --oxygen)"};
  }
  alr::GetPatientAlertSettingsRequest get;
  get.set_patient_id(patient_);
  alr::PatientAlertSettings current;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::GetPatientAlertSettings, get, &current); rc != 0)
    return rc;
  clin::SetPatientAlertSettingsRequest req;
  alr::PatientAlertSettings& s = *req.mutable_settings();
  s = current;
  for (const auto& rule : clear_thresholds_) s.mutable_threshold_overrides()->erase(rule);
  for (const auto& [rule, value] : set) (*s.mutable_threshold_overrides())[rule] = value;
  if (scale2) s.set_spo2_scale2(*scale2);
  if (oxygen) s.set_supplemental_oxygen(*oxygen);
  // Version 0 (never set) cannot be expected; the first write is unconditional.
  req.set_expected_version(current.version());
  alr::PatientAlertSettings stored;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::SetPatientAlertSettings, req, &stored); rc != 0)
    return rc;
  PrintSettings(out, stored, json_);
  return 0;
}

}  // namespace healthtwin::cli
