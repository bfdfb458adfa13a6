#include "services/common/audit/checkpoints.h"

#include <nlohmann/json.hpp>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace healthtwin::common::audit {
namespace {

std::string Bytes(const pqxx::field& field) {
  pqxx::binarystring bytes(field);
  return bytes.str();
}

bool IsLowerHex(absl::string_view text, std::size_t size) {
  if (text.size() != size) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<bool> CheckpointIfDue(pqxx::work& tx, const CheckpointKey& key, const CheckpointPolicy& policy) {
  auto head = tx.exec(
      "SELECT seq, hash, (extract(epoch FROM now()) * 1000000)::bigint FROM audit_log"
      " ORDER BY seq DESC LIMIT 1");
  if (head.empty()) return false;
  Checkpoint c;
  c.seq = head[0][0].as<int64_t>();
  c.hash = Bytes(head[0][1]);
  c.signed_at_unix_us = head[0][2].as<int64_t>();
  auto last = tx.exec(
      "SELECT seq, (extract(epoch FROM signed_at) * 1000000)::bigint FROM audit_checkpoints"
      " ORDER BY seq DESC LIMIT 1");
  if (!last.empty()) {
    const int64_t last_seq = last[0][0].as<int64_t>();
    const int64_t last_us = last[0][1].as<int64_t>();
    const bool by_count = c.seq - last_seq >= policy.every_records;
    const bool by_time = c.seq > last_seq && c.signed_at_unix_us - last_us >= absl::ToInt64Microseconds(policy.every);
    if (!by_count && !by_time) return false;
  }
  c.key_id = key.key_id();
  auto signature = key.Sign(CheckpointMessage(c));
  if (!signature.ok()) return signature.status();
  c.signature = *std::move(signature);
  auto inserted = tx.exec_params(
      "INSERT INTO audit_checkpoints (seq, hash, signed_at, key_id, signature)"
      " VALUES ($1, $2, 'epoch'::timestamptz + $3 * interval '1 microsecond', $4, $5) ON CONFLICT (seq) DO NOTHING",
      c.seq, pqxx::binarystring(c.hash), c.signed_at_unix_us, c.key_id, pqxx::binarystring(c.signature));
  return inserted.affected_rows() == 1;
}

std::vector<Checkpoint> ReadCheckpoints(pqxx::transaction_base& tx) {
  std::vector<Checkpoint> out;
  for (const auto& row : tx.exec("SELECT seq, hash, (extract(epoch FROM signed_at) * 1000000)::bigint, key_id,"
                                 " signature FROM audit_checkpoints ORDER BY seq")) {
    out.push_back({.seq = row[0].as<int64_t>(),
                   .hash = Bytes(row[1]),
                   .signed_at_unix_us = row[2].as<int64_t>(),
                   .key_id = row[3].as<std::string>(),
                   .signature = Bytes(row[4])});
  }
  return out;
}

std::string CheckpointsToJsonLines(const std::vector<Checkpoint>& checkpoints) {
  std::string out;
  for (const Checkpoint& c : checkpoints) {
    nlohmann::ordered_json line{{"seq", c.seq},
                                {"hash", absl::BytesToHexString(c.hash)},
                                {"signed_at_us", c.signed_at_unix_us},
                                {"key_id", c.key_id},
                                {"signature", absl::BytesToHexString(c.signature)}};
    absl::StrAppend(&out, line.dump(), "\n");
  }
  return out;
}

absl::StatusOr<std::vector<Checkpoint>> CheckpointsFromJsonLines(absl::string_view text, absl::string_view source) {
  std::vector<Checkpoint> out;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    auto bad = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(source, " line ", line_number, ": ", why));
    };
    const nlohmann::json j = nlohmann::json::parse(line.begin(), line.end(), nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) return bad("not a JSON object");
    for (const char* field : {"seq", "signed_at_us"}) {
      if (!j.contains(field) || !j[field].is_number_integer()) return bad(absl::StrCat(field, ": expected an integer"));
    }
    for (const char* field : {"hash", "key_id", "signature"}) {
      if (!j.contains(field) || !j[field].is_string()) return bad(absl::StrCat(field, ": expected a string"));
    }
    const std::string hash = j["hash"], signature = j["signature"];
    if (!IsLowerHex(hash, 2 * kHashSize)) return bad("hash: expected 64 lower-case hex digits");
    if (!IsLowerHex(signature, 2 * kSignatureSize)) return bad("signature: expected 128 lower-case hex digits");
    Checkpoint c{.seq = j["seq"].get<int64_t>(),
                 .hash = absl::HexStringToBytes(hash),
                 .signed_at_unix_us = j["signed_at_us"].get<int64_t>(),
                 .key_id = j["key_id"].get<std::string>(),
                 .signature = absl::HexStringToBytes(signature)};
    if (c.seq < 1) return bad("seq: must be 1 or more");
    if (!out.empty() && c.seq <= out.back().seq) return bad("seq: not in increasing order");
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace healthtwin::common::audit
