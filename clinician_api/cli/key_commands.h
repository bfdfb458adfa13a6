// `healthtwin admin keys ...`: the KEKs of identifying data at rest (issue 13, item 1;
// services/common/crypto/README.md). Like `healthtwin audit`, these talk to the database
// directly (libpq conninfo, as the registry's role or the migrator) with the keyring on this
// machine, so an operator can rotate while the services keep serving.
//
//   healthtwin admin keys status --db CONNINFO --keyring DIR
//   healthtwin admin keys rotate --db CONNINFO --keyring DIR [--batch N]
//   healthtwin admin keys retire --db CONNINFO --keyring DIR --kek N
//
// (`healthtwin admin keys reencrypt`, which moves data to fresh DEKs, goes through the registry
// instead: reencrypt_command.h.)
//
// status prints the active KEK version and how many data keys each KEK version wraps. rotate
// rewraps, in batches of N (default 500) each in its own short transaction, every data key not
// under the active version (write the new version into DIR/active-kek first), then prints how
// many. retire refuses (exit 1, saying why) while KEK N is active or still wraps a data key;
// otherwise it renames DIR/kek-N.key to DIR/kek-N.key.retired, which the keyring ignores, for
// the operator to archive. Exit codes: 0 done, 1 refused or failed, 2 bad arguments, an
// unreadable keyring or an unreachable database (one line). No key or identifier is printed.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace healthtwin::cli {

class KeyCommands {
 public:
  explicit KeyCommands(CLI::App& admin);
  KeyCommands(const KeyCommands&) = delete;
  KeyCommands& operator=(const KeyCommands&) = delete;

  bool parsed() const;
  // `healthtwin admin keys`, for the commands that go through a service (reencrypt_command.h).
  CLI::App& keys() const { return *keys_; }
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  CLI::App* keys_ = nullptr;
  CLI::App* status_ = nullptr;
  CLI::App* rotate_ = nullptr;
  CLI::App* retire_ = nullptr;
  std::string db_, keyring_;
  int batch_ = 500;
  uint32_t kek_ = 0;
};

}  // namespace healthtwin::cli
