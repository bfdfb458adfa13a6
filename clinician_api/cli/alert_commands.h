// `healthtwin alerts list|show|shelve|stats` and `healthtwin patient alert-settings get|set`:
// the alerts API of ClinicianService from the command line.
//
//   healthtwin alerts list [--patient ID ...] [--state open|acknowledged|escalated|resolved|latched|suppressed]
//                          [--priority low|medium|high] [--rule RULE] [--since 7d] [--limit 50]
//                          [--page-token T] [--all] [--json]
//   healthtwin alerts show ALERT_ID [--json]                 the alert and its event log
//   healthtwin alerts shelve ALERT_ID --for 30m --reason TEXT [--json]
//   healthtwin alerts stats [--patient ID ...] [--by team|patient|rule] [--since 7d] [--json]
//   healthtwin patient alert-settings get --patient ID [--json]
//   healthtwin patient alert-settings set --patient ID [--threshold RULE=VALUE ...] [--clear-threshold RULE ...]
//                                         [--scale2 on|off] [--oxygen air|supplemental] [--json]
//
// `set` reads the current settings, applies the changes and writes them back over the version
// it read, so a concurrent change is refused (exit 1) rather than overwritten. The server
// validates against the rule catalogue and names the bad field. Exit codes: 0 success, 1 the
// server refused or failed, 2 bad arguments (one line naming the argument).
#pragma once

#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "clinician_api/cli/api_access.h"

namespace healthtwin::cli {

class AlertCommands {
 public:
  // Adds list, show, shelve and stats under `alerts`, and `patient alert-settings` under `app`.
  AlertCommands(CLI::App& app, CLI::App& alerts, ApiAccess api);
  AlertCommands(const AlertCommands&) = delete;
  AlertCommands& operator=(const AlertCommands&) = delete;

  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int List(std::ostream& out, std::ostream& err) const;
  int Show(std::ostream& out, std::ostream& err) const;
  int Shelve(std::ostream& out, std::ostream& err) const;
  int Stats(std::ostream& out, std::ostream& err) const;
  int SettingsGet(std::ostream& out, std::ostream& err) const;
  int SettingsSet(std::ostream& out, std::ostream& err) const;

  ApiAccess api_;
  CLI::App* list_ = nullptr;
  CLI::App* show_ = nullptr;
  CLI::App* shelve_ = nullptr;
  CLI::App* stats_ = nullptr;
  CLI::App* settings_get_ = nullptr;
  CLI::App* settings_set_ = nullptr;
  std::vector<std::string> patients_;
  std::string patient_;
  std::string state_, priority_, rule_, since_, page_token_;
  int limit_ = 50;
  bool all_ = false;
  std::string alert_id_;
  std::string shelve_for_, reason_;
  std::string by_ = "team";
  std::vector<std::string> thresholds_, clear_thresholds_;
  std::string scale2_, oxygen_;
  bool json_ = false;
};

}  // namespace healthtwin::cli
