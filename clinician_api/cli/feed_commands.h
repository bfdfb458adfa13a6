// `healthtwin admin feed ...`: hospital feeds (issue 12) through the registry's admin RPCs,
// reached at --registry (HEALTHTWIN_REGISTRY) like every other admin command.
//
//   healthtwin admin feed add --name N --kind hl7v2-mllp|fhir-rest-hook --target T
//                             [--tls] [--tls-ca FILE] [--client-cert] --content alerts[,vitals]
//                             [--min-priority low|medium|high] [--patients p1,p2 | --care-team-of MEMBER]
//                             [--sending-app A --sending-facility F --receiving-app A --receiving-facility F]
//   healthtwin admin feed list [--json]
//   healthtwin admin feed status [--name N] [--json]
//   healthtwin admin feed pause|resume --name N
//   healthtwin admin feed replay --name N --since 2h|2026-01-31T12:00:00Z
//
// The arguments are checked here with the registry's own checks (services/registry/
// feed_config.h) before any server is contacted, and --tls-ca is read and must hold PEM X.509
// certificates; its text is sent, not its path. --tls-ca or --client-cert imply --tls, and a
// fhir-rest-hook feed always uses TLS. Exit codes: 0 success, 1 the server refused or failed,
// 2 bad arguments (one line naming the argument).
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

#include "clinician_api/cli/alert_commands.h"

namespace healthtwin::cli {

class FeedCommands {
 public:
  // Adds `feed` and its subcommands under `admin`; `registry` opens the channel to the registry.
  FeedCommands(CLI::App& admin, ApiAccess registry);
  FeedCommands(const FeedCommands&) = delete;
  FeedCommands& operator=(const FeedCommands&) = delete;

  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int Add(std::ostream& out) const;
  int List(std::ostream& out) const;
  int Status(std::ostream& out) const;
  int SetPaused(std::ostream& out, bool paused) const;
  int Replay(std::ostream& out) const;

  ApiAccess registry_;
  CLI::App* add_ = nullptr;
  CLI::App* list_ = nullptr;
  CLI::App* status_ = nullptr;
  CLI::App* pause_ = nullptr;
  CLI::App* resume_ = nullptr;
  CLI::App* replay_ = nullptr;
  std::string name_, kind_, target_, tls_ca_file_, content_, min_priority_, patients_, care_team_of_;
  std::string sending_app_, sending_facility_, receiving_app_, receiving_facility_, since_;
  bool tls_ = false;
  bool client_cert_ = false;
  bool json_ = false;
};

}  // namespace healthtwin::cli
