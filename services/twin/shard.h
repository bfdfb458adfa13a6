// Which twin replica owns a patient: shard = FNV-1a-64(patient_id) mod shard_count.
//
// FNV-1a (Fowler/Noll/Vo, 64-bit offset basis 14695981039346656037, prime 1099511628211) is
// stable across compilers, platforms and releases, unlike std::hash, so every replica, the
// clinician gateway and an operator's script agree on the owner. Stateless; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::twin {

std::uint64_t Fnv1a64(std::string_view bytes);

struct ShardSpec {
  int index = 0;
  int count = 1;

  // InvalidArgument naming the flag unless 0 <= index < count and 1 <= count <= 4096.
  static absl::StatusOr<ShardSpec> Create(int index, int count);

  int ShardOf(std::string_view patient_id) const {
    return static_cast<int>(Fnv1a64(patient_id) % static_cast<std::uint64_t>(count));
  }
  bool Owns(std::string_view patient_id) const { return ShardOf(patient_id) == index; }
  // consumer_cursors.consumer of this shard, e.g. "twin/0-of-1".
  std::string ConsumerName() const;
  // "patient X belongs to twin shard 2 of 3 ...; this replica serves shard 0".
  std::string WrongShardMessage(std::string_view patient_id) const;
};

}  // namespace healthtwin::twin
