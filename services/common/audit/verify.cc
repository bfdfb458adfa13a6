#include "services/common/audit/verify.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "services/common/audit/checkpoints.h"

namespace healthtwin::common::audit {
namespace {

constexpr int kBatch = 5000;

std::string Bytes(const pqxx::field& field) { return pqxx::binarystring(field).str(); }

// Keeps the lowest bad seq found (a later, lower finding replaces an earlier, higher one).
void Fail(VerifyReport& report, int64_t seq, std::string problem) {
  if (report.ok || seq < report.first_bad_seq) {
    report.ok = false;
    report.first_bad_seq = seq;
    report.problem = std::move(problem);
  }
}

// Checks `checkpoints` (named `what`) against the recomputed hashes of the chain.
void CheckCheckpoints(const std::vector<Checkpoint>& checkpoints, absl::string_view what,
                      const std::map<int64_t, std::string>& hash_at, int64_t last_seq, const VerifyOptions& options,
                      VerifyReport& report) {
  int64_t last_good = 0;
  for (const Checkpoint& c : checkpoints) {
    if (!options.public_keys.empty()) {
      const auto key = std::find_if(options.public_keys.begin(), options.public_keys.end(),
                                    [&](const CheckpointKey& k) { return k.key_id() == c.key_id; });
      if (key == options.public_keys.end()) {
        std::vector<std::string> given;
        for (const CheckpointKey& k : options.public_keys) given.push_back(k.key_id());
        Fail(report, c.seq,
             absl::StrCat(what, " checkpoint at seq ", c.seq, " is signed by key ", c.key_id, ", not by a given key (",
                          absl::StrJoin(given, ", "), ")"));
        continue;
      }
      if (!key->Verify(CheckpointMessage(c), c.signature)) {
        Fail(report, c.seq, absl::StrCat(what, " checkpoint at seq ", c.seq, " has a bad signature"));
        continue;
      }
    }
    if (c.seq > last_seq) {
      Fail(report, last_seq + 1,
           absl::StrCat("the chain ends at seq ", last_seq, " but a ", what, " checkpoint covers seq ", c.seq,
                        ": records were removed"));
      continue;
    }
    auto it = hash_at.find(c.seq);
    if (it != hash_at.end() && it->second != c.hash) {
      // A break the chain itself shows at or before c.seq is the more precise finding.
      if (!report.ok && report.first_bad_seq <= c.seq) continue;
      Fail(report, last_good + 1,
           absl::StrCat("records ", last_good + 1, "..", c.seq, " differ from the ", what, " checkpoint at seq ", c.seq,
                        " (a consistent rewrite)"));
      continue;
    }
    last_good = c.seq;
  }
}

}  // namespace

const char kRecordColumns[] =
    "seq, prev_hash, (extract(epoch FROM at) * 1000000)::bigint AS at_us, event_type, action, action_code, outcome,"
    " outcome_code, detail, actor, role, peer, on_behalf_of, agent_token_id, patient_id, entity_what, purpose_of_use,"
    " hash";

AuditRecord RecordFromRow(const pqxx::row& row) {
  AuditRecord r;
  r.seq = row["seq"].as<int64_t>();
  r.prev_hash = Bytes(row["prev_hash"]);
  r.recorded_unix_us = row["at_us"].as<int64_t>();
  r.event_type = row["event_type"].as<std::string>();
  r.action = row["action"].as<std::string>();
  r.action_code = row["action_code"].as<std::string>();
  r.outcome = row["outcome"].as<std::string>();
  r.outcome_code = row["outcome_code"].as<std::string>();
  r.detail = row["detail"].as<std::string>();
  r.actor = row["actor"].as<std::string>();
  r.role = row["role"].as<std::string>();
  r.peer = row["peer"].as<std::string>();
  r.on_behalf_of = row["on_behalf_of"].as<std::string>();
  r.agent_token_id = row["agent_token_id"].as<std::string>();
  if (!row["patient_id"].is_null()) r.patient_id = row["patient_id"].as<std::string>();
  r.entity_what = row["entity_what"].as<std::string>();
  r.purpose_of_use = row["purpose_of_use"].as<std::string>();
  r.hash = Bytes(row["hash"]);
  return r;
}

std::string VerifyReport::Summary() const {
  if (!ok) return absl::StrCat("audit chain BAD at seq ", first_bad_seq, ": ", problem);
  return absl::StrCat("audit chain good: ", records, " records, ", checkpoints_stored, " stored checkpoints",
                      signatures_checked ? " with good signatures" : " (signatures not checked: no --public-key)", ", ",
                      checkpoints_exported, " exported checkpoints match");
}

VerifyReport VerifyChain(pqxx::connection& conn, const VerifyOptions& options) {
  VerifyReport report;
  report.signatures_checked = !options.public_keys.empty();
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(conn);

  const std::vector<Checkpoint> stored = ReadCheckpoints(tx);
  report.checkpoints_stored = static_cast<int64_t>(stored.size());
  report.checkpoints_exported = static_cast<int64_t>(options.exported.size());
  std::map<int64_t, std::string> hash_at;  // recomputed hashes at checkpointed seqs
  for (const auto& c : stored) hash_at[c.seq];
  for (const auto& c : options.exported) hash_at[c.seq];

  int64_t expected = 1;
  std::string prev(kHashSize, '\0');
  bool chain_broken = false;
  for (;;) {
    auto rows =
        tx.exec_params(absl::StrCat("SELECT ", kRecordColumns, " FROM audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2"),
                       expected, kBatch);
    for (const auto& row : rows) {
      const AuditRecord r = RecordFromRow(row);
      const std::string hash = RecordHash(r);
      if (!chain_broken) {
        if (r.seq != expected) {
          Fail(report, expected, absl::StrCat("seq ", expected, " is missing (the next record is seq ", r.seq, ")"));
          chain_broken = true;
        } else if (r.prev_hash != prev) {
          Fail(report, r.seq, absl::StrCat("prev_hash is not the hash of seq ", r.seq - 1));
          chain_broken = true;
        } else if (hash != r.hash) {
          Fail(report, r.seq, "the hash does not match the record's contents");
          chain_broken = true;
        }
      }
      if (auto it = hash_at.find(r.seq); it != hash_at.end()) it->second = hash;
      prev = hash;
      ++report.records;
      expected = r.seq + 1;
    }
    if (rows.size() < static_cast<std::size_t>(kBatch)) break;
  }
  const int64_t last_seq = expected - 1;

  auto head = tx.exec("SELECT seq, hash FROM audit_chain_head");
  if (head.size() != 1) {
    Fail(report, last_seq + 1, "the chain head row is missing");
  } else if (head[0][0].as<int64_t>() != last_seq || Bytes(head[0][1]) != prev) {
    Fail(report, std::min(last_seq, head[0][0].as<int64_t>()) + 1,
         absl::StrCat("the chain head is at seq ", head[0][0].as<int64_t>(), " but the last record is seq ", last_seq,
                      head[0][0].as<int64_t>() > last_seq ? ": records after it were removed" : ""));
  }
  for (auto it = hash_at.begin(); it != hash_at.end();) {
    it = it->second.empty() ? hash_at.erase(it) : std::next(it);
  }
  CheckCheckpoints(stored, "stored", hash_at, last_seq, options, report);
  CheckCheckpoints(options.exported, "exported", hash_at, last_seq, options, report);
  tx.commit();
  return report;
}

}  // namespace healthtwin::common::audit
