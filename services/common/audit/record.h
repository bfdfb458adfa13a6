// The audit chain's byte formats (migration 0016_audit_chain.sql; README.md beside this file):
// what is hashed for each audit record and what is signed for each checkpoint. The database
// trigger computes record hashes with PostgreSQL's sha256(); these functions compute the same
// bytes with OpenSSL EVP so that `healthtwin audit verify` needs nothing from the server but
// the rows. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace healthtwin::common::audit {

inline constexpr std::size_t kHashSize = 32;       // SHA-256
inline constexpr std::size_t kSignatureSize = 64;  // Ed25519 (RFC 8032)
inline constexpr char kLeafPrefix = '\x00';        // RFC 6962 section 2.1: leaf
inline constexpr char kCheckpointPrefix = '\x01';  // RFC 6962's node prefix, used for checkpoints only

// One row of audit_log, FHIR AuditEvent-shaped. Byte strings (hashes) are raw, not hex.
struct AuditRecord {
  int64_t seq = 0;
  std::string prev_hash;
  int64_t recorded_unix_us = 0;
  std::string event_type;    // AuditEvent.type
  std::string action;        // AuditEvent.subtype, e.g. "vitals.query"
  std::string action_code;   // C, R, U, D or E
  std::string outcome;       // "allowed" / "denied"
  std::string outcome_code;  // 0, 4, 8 or 12
  std::string detail;
  std::string actor;  // agent who
  std::string role;   // agent role
  std::string peer;   // agent network address
  std::string on_behalf_of;
  std::string agent_token_id;
  std::optional<std::string> patient_id;  // entity patient
  std::string entity_what;
  std::string purpose_of_use;
  std::string hash;  // as stored; RecordHash() is what it should be
};

// A signed statement that record `seq` had hash `hash`.
struct Checkpoint {
  int64_t seq = 0;
  std::string hash;
  int64_t signed_at_unix_us = 0;
  std::string key_id;
  std::string signature;
};

std::string Sha256(std::string_view bytes);

// 0x00 || int8(seq) || prev_hash || int8(recorded_unix_us) || str(event_type) || ... in the
// order of AuditRecord's fields; int8 is big-endian, str(s) a 4-byte big-endian length then
// the bytes, str(nullopt) 0xFFFFFFFF.
std::string RecordLeafBytes(const AuditRecord& record);
std::string RecordHash(const AuditRecord& record);  // SHA-256 of RecordLeafBytes

// 0x01 || int8(seq) || hash || int8(signed_at_unix_us) || str(key_id): what Ed25519 signs.
std::string CheckpointMessage(const Checkpoint& checkpoint);

}  // namespace healthtwin::common::audit
