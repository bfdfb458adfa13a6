#include "services/twin/shard.h"

#include <openssl/evp.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::twin {

std::int32_t ShardKey(std::string_view patient_id) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(patient_id.data(), patient_id.size(), digest, &len, EVP_md5(), nullptr) != 1 || len < 4) {
    // MD5 is in OpenSSL's default provider; a build without it cannot shard at all.
    std::abort();
  }
  const std::uint32_t first32 = (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) |
                                (std::uint32_t{digest[2]} << 8) | std::uint32_t{digest[3]};
  return static_cast<std::int32_t>(first32 >> (32 - kShardKeyBits));
}

absl::StatusOr<ShardSpec> ShardSpec::Create(int index, int count) {
  if (count < 1 || count > 4096) {
    return absl::InvalidArgumentError(absl::StrCat("--shard-count: ", count, "; must be between 1 and 4096"));
  }
  if (index < 0 || index >= count) {
    return absl::InvalidArgumentError(
        absl::StrCat("--shard-index: ", index, "; must be between 0 and --shard-count - 1 (", count - 1, ")"));
  }
  return ShardSpec{index, count};
}

std::string ShardSpec::ConsumerName() const { return absl::StrCat("twin/", index, "-of-", count); }

std::string ShardSpec::WrongShardMessage(std::string_view patient_id) const {
  return absl::StrCat("patient ", std::string(patient_id), " belongs to twin shard ", ShardOf(patient_id), " of ",
                      count, " (the first 28 bits of md5 of the id, times ", count,
                      ", over 2^28); this replica serves shard ", index);
}

}  // namespace healthtwin::twin
