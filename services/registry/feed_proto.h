// FeedConfig <-> healthtwin.registry.v1.Feed, shared by the registry's gRPC edge and the CLI.
#pragma once

#include "absl/status/statusor.h"
#include "healthtwin/registry/v1/registry.pb.h"
#include "services/registry/feed_config.h"

namespace healthtwin::registry {

// The configuration part of `feed` (state and the created/updated fields are output only).
// INVALID_ARGUMENT naming "feed.kind", "feed.content" or "feed.min_priority" for an unknown
// enum value, a repeated content or none of kind; everything else is ValidateFeedConfig's job.
// An empty sending_application keeps FeedConfig's default.
absl::StatusOr<FeedConfig> FeedConfigFromProto(const healthtwin::registry::v1::Feed& feed);

// Fills the configuration fields of `out`.
void FeedConfigToProto(const FeedConfig& config, healthtwin::registry::v1::Feed* out);

}  // namespace healthtwin::registry
