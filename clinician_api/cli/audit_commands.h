// `healthtwin audit ...`: the tamper-evident audit trail (issue 13, services/common/audit).
// These read and write the database directly (libpq conninfo), so an auditor needs no running
// service and no certificate.
//
//   healthtwin audit verify --db CONNINFO [--checkpoints FILE] [--public-key FILE]
//   healthtwin audit checkpoints export --db CONNINFO --out FILE
//   healthtwin audit checkpoint --db CONNINFO --keyring DIR [--every-records N] [--every-minutes M]
//   healthtwin audit export --db CONNINFO --patient ID [--since T] [--until T] --format fhir
//
// verify prints one line: "audit chain good: ..." and exits 0, or "audit chain BAD at seq N:
// why" and exits 1. `checkpoint` signs the newest record when one is due, with the keyring's
// audit-signing.key (services normally do this themselves: services/common/audit_checkpointing.h;
// this is for a timer or a one-off). The old `--key FILE` is refused with exit 2 naming --keyring.
// Exit codes: 0 success, 1 the chain is bad (verify), 2 bad arguments, an unreadable file or
// key, or a database that cannot be reached or read (one line naming the problem).
//
// `audit export` prints a patient's accounting of disclosures: every audit record naming the
// patient (allowed, denied, break-glass), in seq order, as a FHIR R4 Bundle of AuditEvents
// (services/common/audit/fhir_audit_event.h) on stdout. --since and --until (exclusive) take
// a span ago or an RFC 3339 time (time_args.h). It exits 2 for bad arguments (a --format other
// than fhir, a bad time) and 1 when the database cannot be reached or read. The export itself is
// not audited: like verify it is the auditor's path, straight to the database with no service in
// between, and the database role that may read audit_log needs no INSERT right for it.
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
  int FhirExport(std::ostream& out, std::ostream& err) const;

  CLI::App* audit_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* checkpoint_ = nullptr;
  CLI::App* fhir_export_ = nullptr;
  std::string db_, checkpoints_file_, out_file_, keyring_dir_, key_file_;
  std::vector<std::string> public_key_files_;
  int64_t every_records_ = 1000;
  int64_t every_minutes_ = 10;
  std::string patient_, since_, until_, format_;
};

}  // namespace healthtwin::cli
