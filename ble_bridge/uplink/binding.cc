#include "ble_bridge/uplink/binding.h"

#include "services/common/logging.h"

namespace healthtwin::ble {

BindingCache::BindingCache(DeviceRegistry& registry, std::chrono::milliseconds ttl, std::function<int64_t()> now_us)
    : registry_(registry), ttl_(ttl), now_us_(std::move(now_us)) {}

int64_t BindingCache::SteadyNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<bool> BindingCache::IsBound(const std::string& device_id) {
  const int64_t now = now_us_();
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(device_id);
    if (it != entries_.end() && now - it->second.fetched_at_us < ttl_.count() * 1000) return it->second.bound;
  }
  // Asked without the lock: a slow registry must not block other callers' cached answers.
  auto may_forward = registry_.MayForward(device_id);
  std::lock_guard lock(mu_);
  Entry fresh{.fetched_at_us = now};
  if (may_forward.ok()) {
    fresh.known = true;
    fresh.bound = *may_forward;
  } else if (may_forward.status().code() != absl::StatusCode::kNotFound) {
    auto it = entries_.find(device_id);
    if (it == entries_.end()) return may_forward.status();
    common::LogWarn("bridge.binding_stale", {{"device_id", device_id}, {"error", may_forward.status().message()}});
    return it->second.bound;  // the last answer, until the registry answers again
  }
  auto previous = entries_.find(device_id);
  const bool changed = previous == entries_.end() || previous->second.bound != fresh.bound;
  entries_.insert_or_assign(device_id, fresh);
  if (changed) {
    common::LogInfo(fresh.bound ? "bridge.device_bound" : "bridge.device_unbound",
                    {{"device_id", device_id}, {"known_to_registry", fresh.known}});
  }
  return fresh.bound;
}

std::vector<UnboundDevice> BindingCache::Unbound() const {
  std::lock_guard lock(mu_);
  std::vector<UnboundDevice> out;
  for (const auto& [id, e] : entries_) {
    if (!e.bound) out.push_back({id, e.known});
  }
  return out;
}

}  // namespace healthtwin::ble
