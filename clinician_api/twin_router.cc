#include "clinician_api/twin_router.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace healthtwin::clinician {

absl::StatusOr<std::vector<std::string>> TwinShardAddresses(const std::string& address_template, int shards) {
  if (auto spec = twin::ShardSpec::Create(0, shards); !spec.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--twin-shards: ", shards, "; must be between 1 and 4096"));
  }
  if (address_template.empty()) return absl::InvalidArgumentError("--twin-addr: must not be empty");
  const bool templated = address_template.find(kTwinShardPlaceholder) != std::string::npos;
  if (shards > 1 && !templated) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--twin-addr: '", address_template, "' has no ", kTwinShardPlaceholder, " but --twin-shards is ", shards,
        "; every shard needs its own address, e.g. dns:///twin-", kTwinShardPlaceholder, ".twin:7443"));
  }
  std::vector<std::string> addresses;
  addresses.reserve(shards);
  for (int i = 0; i < shards; ++i) {
    addresses.push_back(absl::StrReplaceAll(address_template, {{kTwinShardPlaceholder, std::to_string(i)}}));
  }
  return addresses;
}

TwinRouter::TwinRouter(std::unique_ptr<Stub> stub) { stubs_.push_back(std::move(stub)); }

absl::StatusOr<TwinRouter> TwinRouter::Create(std::vector<std::unique_ptr<Stub>> stubs) {
  auto spec = twin::ShardSpec::Create(0, static_cast<int>(stubs.size()));
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--twin-shards: ", stubs.size(), " twin shards; must be between 1 and 4096"));
  }
  TwinRouter router;
  router.stubs_ = std::move(stubs);
  router.spec_ = *spec;
  return router;
}

TwinRouter::Stub* TwinRouter::For(std::string_view patient_id) const {
  if (stubs_.empty()) return nullptr;
  if (stubs_.size() == 1) return stubs_.front().get();
  return stubs_[spec_.ShardOf(patient_id)].get();
}

}  // namespace healthtwin::clinician
