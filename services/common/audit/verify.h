// Verification of the audit chain straight from the database, for an auditor who has no
// running service: `healthtwin audit verify`.
//
// Recomputes every record's hash (record.h), checks that seq runs 1, 2, 3, ... without a gap,
// that each prev_hash is the previous record's hash, that the chain head agrees with the last
// record, that every stored checkpoint names a record whose hash it signed, with a good
// signature when a public key is given, and that checkpoints exported earlier still match.
// The last is what catches a superuser who disabled the triggers and rewrote the tail
// consistently: the chain verifies on its own, but no longer matches what was exported.
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/common/audit/record.h"
#include "services/common/audit/signing.h"

namespace healthtwin::common::audit {

struct VerifyOptions {
  std::vector<Checkpoint> exported;         // from an export file kept elsewhere
  // Without any, checkpoint signatures are not checked. With several (the old and the new key
  // after the signing key was replaced), each checkpoint must be signed by the one its key id names.
  std::vector<CheckpointKey> public_keys;
};

struct VerifyReport {
  bool ok = true;
  int64_t records = 0;
  int64_t checkpoints_stored = 0;
  int64_t checkpoints_exported = 0;
  bool signatures_checked = false;
  // When !ok: the lowest seq that is not proven good, and why.
  int64_t first_bad_seq = 0;
  std::string problem;

  std::string Summary() const;  // one line
};

// The columns RecordFromRow reads, for "SELECT <kRecordColumns> FROM audit_log ...".
extern const char kRecordColumns[];
AuditRecord RecordFromRow(const pqxx::row& row);

// Reads in REPEATABLE READ so the records, head and checkpoints are one snapshot. Throws pqxx
// exceptions for database failures (the caller translates them).
VerifyReport VerifyChain(pqxx::connection& conn, const VerifyOptions& options);

}  // namespace healthtwin::common::audit
