#include "services/common/crypto/blind_index.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "services/common/crypto/aes_gcm.h"

namespace healthtwin::common::crypto {
namespace {

constexpr size_t kMaxMrnBytes = 64;
constexpr size_t kMaxSystemBytes = 255;

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

absl::StatusOr<NormalizedMrn> NormalizeMrn(std::string_view system, std::string_view value) {
  NormalizedMrn out{std::string(absl::StripAsciiWhitespace(absl::string_view(system.data(), system.size()))),
                    std::string(absl::StripAsciiWhitespace(absl::string_view(value.data(), value.size())))};
  if (out.system.empty()) out.system = std::string(kDefaultMrnSystem);
  if (out.value.empty()) return absl::InvalidArgumentError("mrn: must not be empty");
  if (out.value.size() > kMaxMrnBytes) return absl::InvalidArgumentError("mrn: longer than 64 bytes");
  if (HasControl(out.value)) return absl::InvalidArgumentError("mrn: contains a control character");
  if (out.system.size() > kMaxSystemBytes) return absl::InvalidArgumentError("mrn_system: longer than 255 bytes");
  if (HasControl(out.system) ||
      std::any_of(out.system.begin(), out.system.end(), [](char c) { return absl::ascii_isspace(c); })) {
    return absl::InvalidArgumentError("mrn_system: must be a URI without spaces or control characters");
  }
  return out;
}

absl::StatusOr<std::string> MrnBlindIndex(const KeyProvider& keys, std::string_view system, std::string_view value) {
  absl::StatusOr<NormalizedMrn> mrn = NormalizeMrn(system, value);
  if (!mrn.ok()) return mrn.status();
  std::string message("healthtwin-mrn-v1");
  message.push_back('\0');
  AppendLengthPrefixed(message, mrn->system);
  AppendLengthPrefixed(message, mrn->value);
  return keys.BlindIndexMac(message);
}

}  // namespace healthtwin::common::crypto
