#include "ble_bridge/cli/recorder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "absl/strings/numbers.h"
#include "ble_bridge/cli/to_samples.h"
#include "services/common/logging.h"

namespace healthtwin::ble {
namespace {

constexpr char kDevicesStateKey[] = "bridge.devices";
// A device clock this far ahead of the gateway's is logged as skewed.
constexpr int64_t kSkewWarnUs = 120'000'000;

}  // namespace

Recorder::Recorder(Outbox& outbox, std::function<int64_t()> now_unix_us)
    : outbox_(outbox),
      now_unix_us_(now_unix_us ? std::move(now_unix_us) : std::function<int64_t()>([] {
        return std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      })),
      devices_(LoadDevices(outbox)) {}

int64_t Recorder::StatusStampLocked(const std::string& address, int64_t at_us) {
  int64_t& last = last_status_us_[address];
  last = std::max(at_us, last + 1);
  return last;
}

void Recorder::AppendStatusLocked(const std::optional<DeviceStatusRecord>& row) {
  if (!row) return;
  auto id = outbox_.AppendStatus(*row);
  if (!id.ok()) {
    const uint64_t failures = append_failures_.fetch_add(1) + 1;
    if (failures % 1000 == 1) {
      common::Log(spdlog::level::err, "bridge.append_failed",
                  {{"device_id", row->device_id},
                   {"what", "device_status"},
                   {"error", std::string(id.status().message())},
                   {"append_failures", failures}});
    }
    return;
  }
  status_.Stored(*row);
  const uint64_t total = statuses_appended_.fetch_add(1) + 1;
  // Tests follow this line to know a status is durable.
  spdlog::debug("statuses_appended={} device={} connected={} battery={} contact={}", total, row->device_id,
                row->connected, row->battery_percent.value_or(-1), static_cast<int>(row->sensor_contact));
}

void Recorder::OnBatteryLevel(const std::string& address, int percent, int64_t at_unix_us, const std::string& source) {
  std::lock_guard lock(mu_);
  BatteryLevelLocked(address, percent, at_unix_us, source);
}

void Recorder::BatteryLevelLocked(const std::string& address, int percent, int64_t at_unix_us,
                                  const std::string& source) {
  // The book shows the latest level (written only when it changes).
  auto& d = devices_[address];
  if (!d.contains("binding")) d["binding"] = "unchecked";
  if (!d.contains("first_seen_unix_us")) d["first_seen_unix_us"] = at_unix_us;
  if (d.value("battery_percent", -1) != percent) {
    d["battery_percent"] = percent;
    d["battery_source"] = source;
    common::Log(spdlog::level::info, "bridge.battery", {{"device_id", address}, {"battery_percent", percent}});
    SaveLocked();
  }
  AppendStatusLocked(status_.OnBattery(address, StatusStampLocked(address, at_unix_us), percent));
}

void Recorder::OnDisconnected(const std::string& address, int64_t at_unix_us) {
  std::lock_guard lock(mu_);
  AppendStatusLocked(status_.OnDisconnected(address, StatusStampLocked(address, at_unix_us)));
}

nlohmann::json Recorder::LoadDevices(Outbox& outbox) {
  auto raw = outbox.GetState(kDevicesStateKey);
  if (!raw.ok() || !raw->has_value()) return nlohmann::json::object();
  auto j = nlohmann::json::parse(**raw, nullptr, /*allow_exceptions=*/false);
  return j.is_object() ? j : nlohmann::json::object();
}

std::string Recorder::CursorKey(const std::string& address, Characteristic c) {
  return "racp.cursor." + address + "." + CharacteristicShortUuid(c);
}

std::optional<uint16_t> Recorder::StoredCursor(const std::string& key) {
  auto raw = outbox_.GetState(key);
  if (!raw.ok() || !raw->has_value()) return std::nullopt;
  uint32_t v = 0;
  if (!absl::SimpleAtoi(**raw, &v) || v > 0xFFFF) return std::nullopt;
  return static_cast<uint16_t>(v);
}

std::optional<uint16_t> Recorder::LastRecordSeq(const std::string& address, Characteristic c) {
  return StoredCursor(CursorKey(address, c));
}

absl::Status Recorder::Record(const ReceivedMeasurement& m) {
  int64_t received_us = m.received_at_unix_us;
  std::lock_guard lock(mu_);
  {
    // Two notifications of one device in the same microsecond would share ingest's idempotency
    // key (device, type, measured_at) and one would be dropped as a duplicate.
    int64_t& last = last_received_us_[m.device_address];
    if (received_us <= last) received_us = last + 1;
    last = received_us;
  }
  if (const auto* hr = std::get_if<HeartRateMeasurement>(&m.decoded.value)) {
    AppendStatusLocked(status_.OnSensorContact(m.device_address, StatusStampLocked(m.device_address, received_us),
                                               hr->sensor_contact));
  }
  SampleConversion conv = ToSamples(m.device_address, m.decoded, m.device_time, received_us);
  if (conv.skew_us && *conv.skew_us > kSkewWarnUs) {
    // A device time stamp ahead of the gateway cannot be a stored reading: the clock is wrong.
    auto& d = devices_[m.device_address];
    const int64_t lead_s = *conv.skew_us / 1'000'000;
    if (skew_logged_.insert(m.device_address).second) {
      common::Log(spdlog::level::warn, "bridge.clock_skew", {{"device_id", m.device_address}, {"skew_s", lead_s}});
    }
    if (d.value("measurement_clock_lead_s", int64_t{0}) < lead_s) {
      d["measurement_clock_lead_s"] = lead_s;
      SaveLocked();
    }
  }
  if (const auto* b = std::get_if<BatteryLevel>(&m.decoded.value)) {
    BatteryLevelLocked(m.device_address, b->battery_percent, received_us, "2A19");
    return absl::OkStatus();
  }
  std::map<std::string, std::string> state;
  std::string cursor_key;
  int64_t record_seq = -1;
  if (const auto* g = std::get_if<GlucoseMeasurement>(&m.decoded.value)) {
    cursor_key = CursorKey(m.device_address, Characteristic::kGlucoseMeasurement);
    record_seq = g->sequence_number;
    const std::optional<uint16_t> stored = StoredCursor(cursor_key);
    const bool has = stored.has_value();
    const uint32_t current = stored.value_or(0);
    // Advance only: a record re-sent out of order never moves the cursor back. Never over a
    // gap: a meter notifies a new record live, possibly before the catch-up that fetches the
    // records before it, so a live record beyond cursor + 1 leaves the cursor where it is
    // until a RACP catch-up succeeds (OnDeviceReport). Never past a refused record either:
    // records after it that were stored (space came back mid-stream) would otherwise carry the
    // cursor over it, and RACP would never fetch it again.
    int64_t advance_to = record_seq;
    if (has && record_seq > static_cast<int64_t>(current) + 1) advance_to = current;
    if (auto it = refused_seq_.find(cursor_key); it != refused_seq_.end() && record_seq > it->second) {
      advance_to = std::min<int64_t>(advance_to, static_cast<int64_t>(it->second) - 1);
    }
    if (advance_to >= 0 && (!has || advance_to > current)) state[cursor_key] = std::to_string(advance_to);
    if (has && record_seq <= current) record_seq = -1;  // already stored once: no gap if refused
  }
  if (conv.samples.empty() && state.empty()) return absl::OkStatus();
  if (!devices_.contains(m.device_address)) {
    devices_[m.device_address] = {{"first_seen_unix_us", received_us}, {"binding", "unchecked"}};
    SaveLocked();
  }
  auto ids = outbox_.Append(conv.samples, state);
  if (!ids.ok()) {
    const uint64_t failures = append_failures_.fetch_add(1) + 1;
    if (record_seq >= 0) {
      // Remember the lowest refused record until it is stored: the cursor waits below it.
      auto [it, _] = refused_seq_.try_emplace(cursor_key, static_cast<uint32_t>(record_seq));
      it->second = std::min(it->second, static_cast<uint32_t>(record_seq));
    }
    // The first failure and every 1000th: a full disk refuses every reading until it is freed,
    // and the outbox logs each episode itself.
    if (failures % 1000 == 1) {
      common::Log(spdlog::level::err, "bridge.append_failed",
                  {{"device_id", m.device_address},
                   {"error", std::string(ids.status().message())},
                   {"append_failures", failures}});
    }
    return ids.status();
  }
  if (auto it = refused_seq_.find(cursor_key); it != refused_seq_.end() && record_seq == it->second) {
    refused_seq_.erase(it);  // fetched again and stored: the cursor may pass it from now on
  }
  if (const auto* g = std::get_if<GlucoseMeasurement>(&m.decoded.value)) {
    auto& seen = max_stored_seq_[cursor_key];
    seen = std::max<uint32_t>(seen, g->sequence_number);
  }

  const uint64_t total = appended_.fetch_add(conv.samples.size()) + conv.samples.size();
  // Tests follow this line to know a reading is durable before they kill the bridge.
  spdlog::debug("appended_total={} device={}", total, m.device_address);
  return absl::OkStatus();
}

// The meter has sent every record it holds from the cursor on (the RACP response follows its
// records, on the same bus connection, so they are recorded by now): the cursor may move over
// the gaps that live records left, to the highest record stored, but not past a refused one.
void Recorder::CatchUpDoneLocked(const std::string& address) {
  const std::string key = CursorKey(address, Characteristic::kGlucoseMeasurement);
  auto seen = max_stored_seq_.find(key);
  if (seen == max_stored_seq_.end()) return;
  int64_t to = seen->second;
  if (auto it = refused_seq_.find(key); it != refused_seq_.end()) to = std::min<int64_t>(to, int64_t{it->second} - 1);
  const std::optional<uint16_t> current = StoredCursor(key);
  if (to < 0 || (current && to <= *current)) return;
  if (absl::Status s = outbox_.PutState(key, std::to_string(to)); !s.ok()) {
    // The cursor stays behind: the next catch-up fetches those records again, as duplicates.
    common::Log(spdlog::level::warn, "bridge.cursor_not_saved", {{"device_id", address}, {"error", s.ToString()}});
  }
}

void Recorder::OnDeviceReport(const DeviceReport& r) {
  std::lock_guard lock(mu_);
  auto& d = devices_[r.device_address];
  if (!d.contains("binding")) d["binding"] = "unchecked";
  if (!d.contains("first_seen_unix_us")) d["first_seen_unix_us"] = r.connected_at_unix_us;
  d["last_connected_unix_us"] = r.connected_at_unix_us;
  if (r.name) d["name"] = *r.name;
  if (r.battery_percent) {
    d["battery_percent"] = *r.battery_percent;
    d["battery_source"] = r.battery_source;
  }
  const std::pair<const char*, const std::optional<std::string>*> info[] = {
      {"manufacturer", &r.manufacturer}, {"model", &r.model}, {"serial", &r.serial}, {"firmware", &r.firmware}};
  for (const auto& [key, value] : info) {
    if (*value) d[key] = **value;
  }
  if (r.clock_skew_us) d["clock_skew_s"] = static_cast<double>(*r.clock_skew_us) / 1e6;
  if (r.time_written) d["time_synced_unix_us"] = r.connected_at_unix_us;
  if (r.racp != RacpOutcome::kNotSupported) {
    d["racp"] = {{"outcome", std::string(RacpOutcomeName(r.racp))}, {"detail", r.racp_detail}};
    if (r.racp_from_sequence) d["racp"]["from_sequence"] = *r.racp_from_sequence;
  }
  if (r.racp == RacpOutcome::kSuccess || r.racp == RacpOutcome::kNoRecords) CatchUpDoneLocked(r.device_address);
  std::optional<int> battery;
  if (r.battery_percent) battery = *r.battery_percent;
  AppendStatusLocked(status_.OnConnected(r.device_address, StatusStampLocked(r.device_address, now_unix_us_()),
                                         r.connected_at_unix_us, battery, r.clock_skew_us));
  nlohmann::json logged = d;
  logged.erase("serial");  // a device serial stays in the book, out of the logs
  common::Log(spdlog::level::info, "bridge.device_report", {{"device_id", r.device_address}, {"report", logged}});
  SaveLocked();
}

void Recorder::RefreshBindings(const std::function<std::string(const std::string&)>& binding_of) {
  std::vector<std::string> ids;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, _] : devices_.items()) ids.push_back(id);
  }
  std::map<std::string, std::string> status;
  for (const auto& id : ids) status[id] = binding_of(id);  // may ask the registry: not under mu_
  std::lock_guard lock(mu_);
  bool changed = false;
  for (const auto& [id, s] : status) {
    if (devices_[id].value("binding", "") != s) {
      devices_[id]["binding"] = s;
      changed = true;
    }
  }
  if (changed) SaveLocked();
}

void Recorder::SaveLocked() {
  if (auto s = outbox_.PutState(kDevicesStateKey, devices_.dump()); !s.ok()) {
    common::Log(spdlog::level::warn, "bridge.device_book_failed", {{"error", std::string(s.message())}});
  }
}

}  // namespace healthtwin::ble
