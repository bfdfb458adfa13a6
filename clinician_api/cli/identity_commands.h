// Patients' identifying data from the command line (issue 13, item 1):
//
//   healthtwin patient show --patient ID [--json]
//       the decrypted name, birth date, MRN, phone, email and address, through clinician_api:
//       for the patient's care team or a break-glass holder (audited; others PERMISSION_DENIED)
//   healthtwin admin update-patient --patient ID [--given G] [--family F] [--birth-date YYYY-MM-DD]
//       [--mrn MRN] [--mrn-system URI] [--phone P] [--email E] [--address A]
//       changes only the fields given (the registry encrypts the identity again); an empty value
//       clears an optional field
//
// Exit codes: 0 success, 1 the server refused or failed, 2 bad arguments.
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

#include "clinician_api/cli/api_access.h"

namespace healthtwin::cli {

class IdentityCommands {
 public:
  // Adds `show` under the existing `patient` subcommand of `app` and `update-patient` under
  // `admin`; `api` reaches clinician_api, `registry` the registry.
  IdentityCommands(CLI::App& app, CLI::App& admin, ApiAccess api, ApiAccess registry);
  IdentityCommands(const IdentityCommands&) = delete;
  IdentityCommands& operator=(const IdentityCommands&) = delete;

  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int Show(std::ostream& out) const;
  int Update(std::ostream& out, std::ostream& err) const;

  ApiAccess api_, registry_;
  CLI::App* show_ = nullptr;
  CLI::App* update_ = nullptr;
  std::string patient_;
  bool json_ = false;
  // update-patient: each option's value; only options given are sent.
  std::string given_, family_, birth_date_, mrn_, mrn_system_, phone_, email_, address_;
};

}  // namespace healthtwin::cli
