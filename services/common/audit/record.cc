#include "services/common/audit/record.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace healthtwin::common::audit {
namespace {

void AppendInt8(std::string& out, int64_t value) {
  const auto bits = static_cast<uint64_t>(value);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((bits >> shift) & 0xff));
}

void AppendInt4(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((value >> shift) & 0xff));
}

void AppendStr(std::string& out, std::string_view text) {
  AppendInt4(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

void AppendStr(std::string& out, const std::optional<std::string>& text) {
  if (!text) {
    AppendInt4(out, 0xffffffffU);
    return;
  }
  AppendStr(out, std::string_view(*text));
}

}  // namespace

std::string Sha256(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1 || size != kHashSize) {
    throw std::runtime_error("SHA-256 failed in OpenSSL");  // cannot happen with the default provider
  }
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string RecordLeafBytes(const AuditRecord& r) {
  std::string out;
  out.reserve(256 + r.detail.size());
  out.push_back(kLeafPrefix);
  AppendInt8(out, r.seq);
  out.append(r.prev_hash);
  AppendInt8(out, r.recorded_unix_us);
  for (const std::string* field : {&r.event_type, &r.action, &r.action_code, &r.outcome, &r.outcome_code, &r.detail,
                                   &r.actor, &r.role, &r.peer, &r.on_behalf_of, &r.agent_token_id}) {
    AppendStr(out, std::string_view(*field));
  }
  AppendStr(out, r.patient_id);
  AppendStr(out, std::string_view(r.entity_what));
  AppendStr(out, std::string_view(r.purpose_of_use));
  return out;
}

std::string RecordHash(const AuditRecord& record) { return Sha256(RecordLeafBytes(record)); }

std::string CheckpointMessage(const Checkpoint& c) {
  std::string out;
  out.push_back(kCheckpointPrefix);
  AppendInt8(out, c.seq);
  out.append(c.hash);
  AppendInt8(out, c.signed_at_unix_us);
  AppendStr(out, std::string_view(c.key_id));
  return out;
}

}  // namespace healthtwin::common::audit
