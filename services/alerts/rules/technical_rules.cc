#include "services/alerts/rules/technical_rules.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "services/alerts/rules/physio_rules.h"

namespace healthtwin::alerts::rules {
namespace {

constexpr double kUsPerS = 1e6;

double Since(int64_t now_us, int64_t t_us) { return static_cast<double>(now_us - t_us) / kUsPerS; }

// UCUM unit of a technical rule's peak_value.
std::string UnitOf(RuleKind kind) {
  switch (kind) {
    case RuleKind::kBatteryLow:
      return "%";
    case RuleKind::kQuarantine:
      return "{samples}";
    default:
      return "s";
  }
}

}  // namespace

Observation EvaluateTechnical(const RuleSpec& spec, const PatientInputs& in, int64_t now_us) {
  Observation o = BaseObservation(spec, in.patient_id);
  o.ucum_unit = UnitOf(spec.kind);
  std::vector<std::string> hits;
  auto hit = [&](const std::string& what, double value, int64_t since_us, int64_t observed_us) {
    hits.push_back(what);
    if (!o.active || since_us < o.condition_started_us) o.condition_started_us = since_us;
    o.active = true;
    o.observed_us = std::max(o.observed_us, observed_us);
    o.peak_value = hits.size() == 1 ? value : o.peak_value;
  };
  switch (spec.kind) {
    case RuleKind::kBatteryLow:
      for (const DeviceStatus& d : in.devices) {
        if (d.battery_percent < 0 || d.battery_percent > spec.level) continue;
        hit(absl::StrCat(d.device_id, " ", d.battery_percent, " %"), d.battery_percent, d.status_at_us, d.status_at_us);
        o.peak_value = std::min(o.peak_value, static_cast<double>(d.battery_percent));
        if (spec.high_priority_threshold && d.battery_percent <= *spec.high_priority_threshold)
          o.priority = Priority::kHigh;
      }
      o.summary = o.active ? std::string(absl::StrCat("Battery low: ", absl::StrJoin(hits, ", ")))
                           : std::string("Batteries fine");
      break;
    case RuleKind::kContactLost:
      for (const DeviceStatus& d : in.devices) {
        if (d.contact_lost_since_us == 0 || Since(now_us, d.contact_lost_since_us) < spec.min_duration_s) continue;
        hit(d.device_id, Since(now_us, d.contact_lost_since_us), d.contact_lost_since_us, d.status_at_us);
      }
      o.summary = o.active ? std::string(absl::StrCat("Sensor contact lost: ", absl::StrJoin(hits, ", ")))
                           : std::string("Sensors in contact");
      break;
    case RuleKind::kDeviceSilent:
      for (const DeviceStatus& d : in.devices) {
        if (d.expected_interval_s <= 0 || d.last_sample_us == 0) continue;
        const double limit = std::max(spec.min_duration_s, spec.level * d.expected_interval_s);
        const double silent = Since(now_us, d.last_sample_us);
        if (silent <= limit) continue;
        hit(absl::StrFormat("%s (%s) silent %.0f min", d.device_id, d.kind, silent / 60), silent,
            d.last_sample_us + static_cast<int64_t>(limit * kUsPerS), d.last_sample_us);
      }
      o.summary = o.active ? std::string(absl::StrCat("Device silent: ", absl::StrJoin(hits, ", ")))
                           : std::string("Devices reporting");
      break;
    case RuleKind::kClockSkew:
      for (const DeviceStatus& d : in.devices) {
        if (std::fabs(d.clock_skew_s) <= spec.level) continue;
        hit(absl::StrFormat("%s %+.0f s", d.device_id, d.clock_skew_s), d.clock_skew_s, d.status_at_us, d.status_at_us);
      }
      o.summary = o.active ? std::string(absl::StrCat("Device clock skew: ", absl::StrJoin(hits, ", ")))
                           : std::string("Device clocks in step");
      break;
    case RuleKind::kGatewaySilent:
      for (const GatewayStatus& g : in.gateways) {
        const double silent = Since(now_us, g.last_heartbeat_us);
        if (silent <= spec.min_duration_s) continue;
        hit(absl::StrFormat("%s silent %.0f min", g.gateway_id, silent / 60), silent,
            g.last_heartbeat_us + static_cast<int64_t>(spec.min_duration_s * kUsPerS), g.last_heartbeat_us);
      }
      o.summary = o.active ? std::string(absl::StrCat("Gateway silent: ", absl::StrJoin(hits, ", ")))
                           : std::string("Gateways reporting");
      break;
    case RuleKind::kQuarantine:
      if (in.quarantined_last_24h > spec.level) {
        hit(absl::StrCat(in.quarantined_last_24h, " samples quarantined in 24 h"), in.quarantined_last_24h, now_us,
            now_us);
      }
      o.summary = o.active ? std::string(hits.front()) : std::string("Few samples quarantined");
      break;
    default:
      break;
  }
  if (o.active) o.duration_s = Since(now_us, o.condition_started_us);
  return o;
}

Observation EvaluateTwinDrift(const RuleSpec& spec, const PatientInputs& in, int64_t now_us) {
  Observation o = BaseObservation(spec, in.patient_id);
  o.ucum_unit = "kg";
  std::vector<std::string> open;
  for (const TwinEvent& e : in.twin_events) {
    if (e.detected_us > now_us ||
        std::find(spec.event_types.begin(), spec.event_types.end(), e.type) == spec.event_types.end())
      continue;
    o.observed_us = std::max(o.observed_us, e.detected_us);
    const bool is_open = e.ended_us == 0 || e.ended_us > now_us;
    if (is_open) {
      if (!o.active || e.started_us < o.condition_started_us) o.condition_started_us = e.started_us;
      o.active = true;
      o.condition_ended_us = 0;
      o.peak_value = std::max(o.peak_value, e.magnitude);
      open.push_back(absl::StrFormat("%s (%.1f)", e.type, e.magnitude));
    } else if (!o.active && e.ended_us > o.condition_ended_us) {
      o.condition_started_us = e.started_us;
      o.condition_ended_us = e.ended_us;
      o.peak_value = e.magnitude;
    }
  }
  if (o.condition_started_us) o.duration_s = Since(o.active ? now_us : o.condition_ended_us, o.condition_started_us);
  o.summary = o.active ? std::string(absl::StrCat("Twin drift: ", absl::StrJoin(open, ", ")))
                       : std::string("No open twin drift");
  return o;
}

}  // namespace healthtwin::alerts::rules
