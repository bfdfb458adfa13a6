// clinician_api's twin calls, each sent to the twin replica that owns the patient (issue 15).
//
// The twin service runs as N shards (services/twin/shard.h): shard i keeps the live twins of the
// patients whose md5-based shard key falls in its range, and answers Predict for any other
// patient with FAILED_PRECONDITION. clinician_api holds one channel per shard and sends each call
// to the owner. The addresses come from one template: "{shard}" in --twin-addr becomes 0 .. N-1
// (--twin-shards N), so dns:///twin-{shard}.twin:7443 names the pods twin-0, twin-1, ... of the
// twin StatefulSet through its headless Service (deploy/k8s). One shard needs no placeholder.
// Every shard presents the same certificate (--twin-identity, default "twin").
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "services/twin/shard.h"

namespace healthtwin::clinician {

inline constexpr char kTwinShardPlaceholder[] = "{shard}";

// The address of each of `shards` twin shards, from the --twin-addr template. InvalidArgument
// naming the flag when `shards` is outside 1 .. 4096, when several shards share an address
// without "{shard}", or when the address is empty.
absl::StatusOr<std::vector<std::string>> TwinShardAddresses(const std::string& address_template, int shards);

class TwinRouter {
 public:
  using Stub = healthtwin::twin::v1::TwinService::StubInterface;

  TwinRouter() = default;  // no twin service: For() returns null
  // One shard.
  explicit TwinRouter(std::unique_ptr<Stub> stub);
  // stubs[i] serves shard i of stubs.size(); InvalidArgument when empty or over 4096.
  static absl::StatusOr<TwinRouter> Create(std::vector<std::unique_ptr<Stub>> stubs);

  // The stub of the shard that owns `patient_id`; null when there is no twin service.
  Stub* For(std::string_view patient_id) const;
  int shards() const { return static_cast<int>(stubs_.size()); }

 private:
  std::vector<std::unique_ptr<Stub>> stubs_;
  twin::ShardSpec spec_;
};

}  // namespace healthtwin::clinician
