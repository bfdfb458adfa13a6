// Which twin replica owns a patient.
//
// Every patient has a shard key: the first 28 bits (7 hex digits) of md5(patient_id), in
// [0, 2^28). PostgreSQL computes the same value into vitals.shard_key at insert (migration
// 0020), so a replica's read of the vitals can filter on it through an index. Shard i of N owns
// the key range [ceil(i * 2^28 / N), ceil((i + 1) * 2^28 / N)), i.e. shard = key * N / 2^28
// (integer division). md5 is a spread function here, not a security one; it is stable across
// compilers, platforms and releases, unlike std::hash, so every replica, the database, the
// clinician gateway and an operator's script agree on the owner. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::twin {

inline constexpr int kShardKeyBits = 28;
inline constexpr std::int64_t kShardKeySpace = std::int64_t{1} << kShardKeyBits;

// The first 28 bits of MD5(patient_id) (the id's UTF-8 bytes), as vitals.shard_key holds it.
std::int32_t ShardKey(std::string_view patient_id);

struct ShardSpec {
  int index = 0;
  int count = 1;

  // InvalidArgument naming the flag unless 0 <= index < count and 1 <= count <= 4096.
  static absl::StatusOr<ShardSpec> Create(int index, int count);

  // The first shard key of shard i (i = count gives the end of the key space).
  std::int64_t FirstKey(int i) const { return (i * kShardKeySpace + count - 1) / count; }
  // This shard's keys are [KeyBegin(), KeyEnd()).
  std::int64_t KeyBegin() const { return FirstKey(index); }
  std::int64_t KeyEnd() const { return FirstKey(index + 1); }

  int ShardOf(std::string_view patient_id) const {
    return static_cast<int>(static_cast<std::int64_t>(ShardKey(patient_id)) * count / kShardKeySpace);
  }
  bool Owns(std::string_view patient_id) const { return ShardOf(patient_id) == index; }
  // consumer_cursors.consumer of this shard, e.g. "twin/0-of-1".
  std::string ConsumerName() const;
  // "patient X belongs to twin shard 2 of 3 ...; this replica serves shard 0".
  std::string WrongShardMessage(std::string_view patient_id) const;
};

}  // namespace healthtwin::twin
