// `healthtwin audit ...`: the tamper-evident audit trail (issue 13, services/common/audit).
// These read and write the database directly (libpq conninfo), so an auditor needs no running
// service and no certificate.
//
//   healthtwin audit verify --db CONNINFO [--checkpoints FILE] [--public-key FILE]
//   healthtwin audit checkpoints export --db CONNINFO --out FILE
//   healthtwin audit checkpoint --db CONNINFO --keyring DIR [--every-records N] [--every-minutes M]
//
// verify prints one line: "audit chain good: ..." and exits 0, or "audit chain BAD at seq N:
// why" and exits 1. `checkpoint` signs the newest record when one is due, with the keyring's
// audit-signing.key (services normally do this themselves: services/common/audit_checkpointing.h;
// this is for a timer or a one-off). The old `--key FILE` is refused with exit 2 naming --keyring.
// Exit codes: 0 success, 1 the chain is bad (verify), 2 bad arguments, an unreadable file or
// key, or a database that cannot be reached or read (one line naming the problem).
#pragma once

#include <CLI/CLI.hpp>
#include <iosfwd>
#include <string>

namespace healthtwin::cli {

class AuditCommands {
 public:
  explicit AuditCommands(CLI::App& app);
  AuditCommands(const AuditCommands&) = delete;
  AuditCommands& operator=(const AuditCommands&) = delete;

  bool parsed() const;
  int Run(std::ostream& out, std::ostream& err) const;

 private:
  int Verify(std::ostream& out, std::ostream& err) const;
  int Export(std::ostream& out, std::ostream& err) const;
  int Checkpoint(std::ostream& out, std::ostream& err) const;

  CLI::App* audit_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* checkpoint_ = nullptr;
  std::string db_, checkpoints_file_, public_key_file_, out_file_, keyring_dir_, key_file_;
  int64_t every_records_ = 1000;
  int64_t every_minutes_ = 10;
};

}  // namespace healthtwin::cli
