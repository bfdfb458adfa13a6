// Research studies and de-identified reads from the command line (issue 13, item 5):
//
//   healthtwin admin study create --study S --title T
//   healthtwin admin study add-patient --study S --patient P [--consented-at 2026-01-31T12:00:00Z]
//   healthtwin admin study add-researcher --study S --researcher NAME
//   healthtwin admin study list [--json]
//       (the registry; admin certificate; each call audited)
//   healthtwin research patients --study S [--json]
//   healthtwin research vitals --study S --subject sp-... --start T --end T [--bucket-s N] [--json]
//   healthtwin research twin --study S --subject sp-... [--as-of T] [--json]
//   healthtwin research whatif --study S --subject sp-... --options OPTIONS.json [--days 30]
//       [--ensemble 50] [--seed 1] [--json]       (the options of `healthtwin whatif`)
//       (clinician_api; researcher certificate on the study; pseudonyms and SHIFTED times only:
//       --start, --end and --as-of are RFC 3339 times in the subject's shifted time)
//
// Exit codes: 0 success, 1 the server refused or failed, 2 bad arguments (one line naming the
// argument, before any server is contacted).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "clinician_api/cli/api_access.h"
#include "clinician_api/cli/whatif_options.h"

namespace healthtwin::cli {

class ResearchCommands {
 public:
  // Adds `research ...` under `app` and `study ...` under `admin`; `api` reaches clinician_api,
  // `registry` the registry.
  ResearchCommands(CLI::App& app, CLI::App& admin, ApiAccess api, ApiAccess registry);
  ResearchCommands(const ResearchCommands&) = delete;
  ResearchCommands& operator=(const ResearchCommands&) = delete;

  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int Admin(std::ostream& out, std::ostream& err) const;
  int Patients(std::ostream& out) const;
  int Vitals(std::ostream& out, std::ostream& err) const;
  int Twin(std::ostream& out, std::ostream& err) const;
  int WhatIf(std::ostream& out, std::ostream& err) const;

  ApiAccess api_, registry_;
  CLI::App *create_ = nullptr, *add_patient_ = nullptr, *add_researcher_ = nullptr, *list_ = nullptr;
  CLI::App *patients_ = nullptr, *vitals_ = nullptr, *twin_ = nullptr, *whatif_ = nullptr;
  std::string study_, title_, patient_, researcher_, consented_at_, subject_, start_, end_, as_of_;
  uint32_t bucket_s_ = 0;
  WhatIfFlags whatif_flags_;
  bool json_ = false;
};

}  // namespace healthtwin::cli
