// Signed checkpoints of the audit chain (table audit_checkpoints, migration 0016), and the
// file an auditor keeps elsewhere.
//
// Who writes them: every service that audits, with the key from its keyring
// (services/common/audit_checkpointing.h): Access calls CheckpointIfDue after each audit insert,
// and a timer calls it too. A checkpoint signs the newest record once `every_records` records
// or `every` time have passed since the last one; the time rule is looked at when something
// calls, and nothing is signed while no record is newer than the last checkpoint. Concurrent
// callers are safe: the first checkpoint of a seq wins (ON CONFLICT DO NOTHING) and all would
// sign the same hash.
//
// The export file is JSON Lines, one checkpoint per line, in seq order:
//   {"seq":42,"hash":"<64 hex>","signed_at_us":1796601234567890,"key_id":"<16 hex>",
//    "signature":"<128 hex>"}
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/audit/record.h"
#include "services/common/audit/signing.h"

namespace healthtwin::common::audit {

struct CheckpointPolicy {
  int64_t every_records = 1000;
  absl::Duration every = absl::Minutes(10);
};

// Writes a checkpoint of the newest record in `tx` when one is due under `policy`; returns
// whether it wrote one. `key` must be able to sign.
absl::StatusOr<bool> CheckpointIfDue(pqxx::work& tx, const CheckpointKey& key, const CheckpointPolicy& policy);

// Every stored checkpoint, in seq order.
std::vector<Checkpoint> ReadCheckpoints(pqxx::transaction_base& tx);

std::string CheckpointsToJsonLines(const std::vector<Checkpoint>& checkpoints);
// INVALID_ARGUMENT naming `source` and the line for anything that is not such a file.
absl::StatusOr<std::vector<Checkpoint>> CheckpointsFromJsonLines(absl::string_view text, absl::string_view source);

}  // namespace healthtwin::common::audit
