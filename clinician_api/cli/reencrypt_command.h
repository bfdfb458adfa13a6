// `healthtwin admin keys reencrypt [--patient P] [--batch N] [--run ID]`: moves patients' identifying data
// to fresh data keys through the registry (RegistryService.ReencryptDataKeys; admins only, each
// call and each patient moved audited). Use it when a data key (DEK) may have been exposed, e.g.
// a memory dump of a registry host or a leaked backup together with its keyring: `keys rotate`
// only rewraps the same DEKs under a new KEK, which does not help once a DEK itself is known.
//
// Each patient (or only P) whose DEK predates the run gets a new DEK and every identity column
// encrypted again under it, in one transaction per patient; the old wrapped DEK is deleted.
// Readers keep working throughout. A run is named by its cutoff (µs since the epoch, database
// clock): the patients whose DEK is older. After a failure or an interrupt every patient stays
// readable; `--run ID` (the id the failure printed) finishes that run without moving anyone twice,
// and a plain rerun starts a new run (moving everyone again, which is harmless). Prints how many
// patients moved. Exit codes: 0 done, 1 the registry refused or failed, 2 bad arguments.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "clinician_api/cli/api_access.h"

namespace healthtwin::cli {

class ReencryptCommand {
 public:
  // Adds `reencrypt` under `keys` (`healthtwin admin keys`); `registry` reaches the registry.
  ReencryptCommand(CLI::App& keys, ApiAccess registry);
  ReencryptCommand(const ReencryptCommand&) = delete;
  ReencryptCommand& operator=(const ReencryptCommand&) = delete;

  bool parsed() const { return command_->parsed(); }
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  ApiAccess registry_;
  CLI::App* command_ = nullptr;
  std::string patient_;
  int batch_ = 100;
  int64_t run_ = 0;
};

}  // namespace healthtwin::cli
