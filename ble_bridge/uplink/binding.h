// Binding: the bridge forwards only measurements of devices that the backend's registry
// binds to a patient. Others stay in the outbox (nothing is lost) and are listed for
// enrollment; once a device is bound, its held measurements go out.
//
// DeviceRegistry is the small interface over RegistryService.CheckForwarding (the gRPC
// implementation is GrpcDeviceRegistry); BindingCache remembers answers for `ttl` so the
// registry is asked about once per device per ttl, and keeps serving the last answer while
// the registry cannot be reached. BindingCache is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::ble {

class DeviceRegistry {
 public:
  virtual ~DeviceRegistry() = default;
  // Whether this bridge may forward the device now: true when it is bound to a patient with this
  // bridge as one of its gateways, false when the registry knows it but this bridge may not
  // forward it. NotFound when the registry does not know the device; other errors when it
  // cannot be asked. The registry never tells a bridge which patient a device belongs to.
  virtual absl::StatusOr<bool> MayForward(const std::string& device_id) = 0;
};

struct UnboundDevice {
  std::string device_id;
  bool known_to_registry = false;  // false: not enrolled at all
};

class BindingCache {
 public:
  // `now_us` must be a monotonic clock (SteadyNowUs in production): a ttl measured on the wall
  // clock would last hours longer after the gateway clock steps back.
  BindingCache(DeviceRegistry& registry, std::chrono::milliseconds ttl, std::function<int64_t()> now_us);

  static int64_t SteadyNowUs();

  // Whether `device_id` may be forwarded now. An error only when the registry cannot be
  // asked and nothing was ever learned about the device; the caller then holds its rows.
  absl::StatusOr<bool> IsBound(const std::string& device_id);

  // Devices last seen unbound or unknown, sorted by id.
  std::vector<UnboundDevice> Unbound() const;

  std::chrono::milliseconds ttl() const { return ttl_; }

 private:
  struct Entry {
    bool bound = false;
    bool known = false;
    int64_t fetched_at_us = 0;
  };
  DeviceRegistry& registry_;
  const std::chrono::milliseconds ttl_;
  std::function<int64_t()> now_us_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace healthtwin::ble
