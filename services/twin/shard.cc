#include "services/twin/shard.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::twin {

std::uint64_t Fnv1a64(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
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
  return absl::StrCat("patient ", std::string(patient_id), " belongs to twin shard ", ShardOf(patient_id), " of ", count,
                      " (FNV-1a-64 of the id mod ", count, "); this replica serves shard ", index);
}

}  // namespace healthtwin::twin
