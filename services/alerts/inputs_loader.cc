#include "services/alerts/inputs_loader.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/settings_store.h"
#include "services/alerts/window_loader.h"
#include "services/common/logging.h"

namespace healthtwin::alerts {
namespace {

// "$n as timestamptz" for microseconds since the epoch.
std::string Ts(int n) { return absl::StrCat("(timestamptz 'epoch' + $", n, "::bigint * interval '1 microsecond')"); }
std::string Us(const std::string& column) {
  return absl::StrCat("coalesce((extract(epoch FROM ", column, ") * 1000000)::bigint, 0)");
}

// The patient's contact-lost periods per device: from a status that said sensor contact "not
// detected" (3) to the device's next status. A CTE named `lost` (device_id, f, t) over $1.
const std::string& LostCte() {
  static const std::string kCte =
      "WITH st AS (SELECT device_id, sensor_contact, observed_at AS f,"
      "   lead(observed_at, 1, 'infinity') OVER (PARTITION BY device_id ORDER BY observed_at) AS t"
      "   FROM device_status_history WHERE patient_id = $1),"
      " lost AS (SELECT device_id, f, t FROM st WHERE sensor_contact = 3) ";
  return kCte;
}
const char kContactLost[] =
    "EXISTS (SELECT 1 FROM lost WHERE lost.device_id = v.device_id AND v.measured_at >= lost.f"
    " AND v.measured_at < lost.t)";

// healthtwin.registry.v1.DeviceKind -> the engine's kind names (rules/inputs.h).
std::string KindName(int kind) {
  switch (kind) {
    case 1:
      return "hr_strap";
    case 2:
      return "bp_cuff";
    case 3:
      return "oximeter";
    case 4:
      return "thermometer";
    case 5:
      return "scale";
    case 6:
      return "glucose_meter";
    default:
      return "device";
  }
}

std::string IntArray(const std::vector<int>& v) { return absl::StrCat("{", absl::StrJoin(v, ","), "}"); }

}  // namespace

rules::PatientInputs LoadedInputs::View() const {
  rules::PatientInputs in;
  in.patient_id = patient_id;
  in.settings = settings;
  in.vitals = vitals;
  in.twin_events = twin_events;
  in.devices = devices;
  in.gateways = gateways;
  in.quarantined_last_24h = quarantined_last_24h;
  in.resting_hr_days_given = resting_hr_days_given;
  in.resting_hr_days = resting_hr_days;
  return in;
}

rules::PatientAlertSettings LoadSettingsOrDefaults(pqxx::work& tx, const std::string& patient_id) {
  auto p = LoadPatientSettings(tx, patient_id);
  if (!p.ok()) {
    // Stored settings were validated when written; unreadable ones are a bug, not a reason to
    // stop alerting: the catalogue's defaults apply.
    common::LogError("alerts.settings_unreadable", {{"error", std::string(p.status().message())}});
    return {};
  }
  return SettingsFromProto(*p);
}

absl::Status LoadVitals(pqxx::work& tx, const std::string& patient_id, const std::vector<int>& types,
                        int64_t sparse_from_us, int64_t hr_from_us, LoadedInputs& out) {
  out.patient_id = patient_id;
  out.settings = LoadSettingsOrDefaults(tx, patient_id);
  std::vector<int> sparse, hr;
  for (int t : types) (t == rules::kHeartRate || t == rules::kPulseRate ? hr : sparse).push_back(t);
  // The contact-lost periods (few rows) are matched here rather than per row in SQL; each
  // branch of the UNION is one range of vitals_patient_time_idx.
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> lost;
  for (const auto& r :
       tx.exec_params(LostCte() + "SELECT device_id, " + Us("f") +
                          ", CASE WHEN t = 'infinity' THEN 9223372036854775807 ELSE " + Us("t") + " END FROM lost",
                      patient_id)) {
    lost[r[0].as<std::string>()].emplace_back(r[1].as<int64_t>(), r[2].as<int64_t>());
  }
  auto contact_lost = [&](const std::string& device, int64_t t_us) {
    auto it = lost.find(device);
    if (it == lost.end()) return false;
    for (const auto& [from, to] : it->second) {
      if (t_us >= from && t_us < to) return true;
    }
    return false;
  };
  const std::string select = "SELECT vital_type, value, " + Us("measured_at") +
                             ", flags, device_id FROM vitals WHERE patient_id = $1 AND vital_type = ANY(";
  auto rows = tx.exec_params(select + "$2::int[]) AND measured_at >= " + Ts(3) + " UNION ALL " + select +
                                 "$4::int[]) AND measured_at >= " + Ts(5) + " ORDER BY 3",
                             patient_id, IntArray(sparse), sparse_from_us, IntArray(hr), hr_from_us);
  out.vitals.clear();
  out.vitals.reserve(rows.size());
  for (const auto& r : rows) {
    rules::VitalPoint v{.vital_type = r[0].as<int>(),
                        .value = r[1].as<double>(),
                        .measured_us = r[2].as<int64_t>(),
                        .flags = 0,
                        .device_id = r[4].as<std::string>()};
    v.flags = EngineFlags(r[3].as<uint32_t>(), contact_lost(v.device_id, v.measured_us));
    out.vitals.push_back(std::move(v));
  }
  return absl::OkStatus();
}

std::vector<rules::DailyRestingHr> LoadDailyRestingHr(pqxx::work& tx, const std::string& patient_id, int64_t first_day,
                                                      int64_t last_day) {
  constexpr int64_t kDayUs = 86'400'000'000;
  // Valid samples only (not contact-lost: EngineFlags), as the rule's raw form reads them.
  auto rows = tx.exec_params(
      LostCte() +
          "SELECT floor(extract(epoch FROM v.measured_at) / 86400)::bigint AS day,"
          " percentile_disc(0.10) WITHIN GROUP (ORDER BY v.value), count(*)"
          " FROM vitals v WHERE v.patient_id = $1 AND v.vital_type IN (1, 10) AND v.measured_at >= " +
          Ts(2) + " AND v.measured_at < " + Ts(3) + " AND NOT " + kContactLost + " GROUP BY 1 ORDER BY 1",
      patient_id, first_day * kDayUs, (last_day + 1) * kDayUs);
  std::vector<rules::DailyRestingHr> days;
  for (const auto& r : rows) days.push_back({r[0].as<int64_t>(), r[1].as<double>(), r[2].as<int64_t>()});
  return days;
}

std::map<std::string, LoadedInputs> LoadTimerInputs(pqxx::work& tx, const std::vector<std::string>& patients,
                                                    int64_t now_us, int64_t twin_lookback_us) {
  std::map<std::string, LoadedInputs> out;
  if (patients.empty()) return out;
  std::map<std::string, rules::PatientAlertSettings> settings = LoadSettings(tx, patients);
  for (const std::string& p : patients) {
    out[p].patient_id = p;
    out[p].settings = std::move(settings[p]);
  }
  const std::string any = TextArrayLiteral(patients);
  // Each bound device: latest status, since when contact has been lost (the first "not
  // detected" status after the last other one), its newest sample and its cadence (median
  // interval of its last 11 samples of its newest type: the "expected" interval is the one the
  // device keeps).
  for (const auto& r : tx.exec_params(
           "SELECT d.patient_id, d.device_id, d.kind, coalesce(s.battery_percent, -1), s.sensor_contact,"
           "  coalesce(s.connected, true), coalesce(s.clock_skew_s, 0), " +
               Us("s.observed_at") + ", " + Us("last.t") + ", coalesce(cad.interval_s, 0), " + Us("lost.since") +
               " FROM devices d"
               " LEFT JOIN device_status_latest s ON s.device_id = d.device_id"
               " LEFT JOIN LATERAL (SELECT vital_type, measured_at AS t FROM vitals WHERE device_id = d.device_id"
               "   AND patient_id = d.patient_id ORDER BY measured_at DESC LIMIT 1) last ON true"
               " LEFT JOIN LATERAL (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY dt) AS interval_s FROM ("
               "   SELECT extract(epoch FROM measured_at - lag(measured_at) OVER (ORDER BY measured_at)) AS dt"
               "   FROM (SELECT measured_at FROM vitals WHERE device_id = d.device_id AND vital_type = last.vital_type"
               "         ORDER BY measured_at DESC LIMIT 11) recent) gaps WHERE dt IS NOT NULL) cad ON true"
               " LEFT JOIN LATERAL (SELECT min(h.observed_at) AS since FROM device_status_history h"
               "   WHERE h.device_id = d.device_id AND h.sensor_contact = 3 AND s.sensor_contact = 3"
               "   AND h.observed_at > coalesce((SELECT max(o.observed_at) FROM device_status_history o"
               "       WHERE o.device_id = d.device_id AND o.sensor_contact <> 3), '-infinity')) lost ON true"
               " WHERE d.patient_id = ANY($1::text[]) ORDER BY d.patient_id, d.device_id",
           any)) {
    rules::DeviceStatus d;
    d.device_id = r[1].as<std::string>();
    d.kind = KindName(r[2].as<int>());
    d.battery_percent = r[3].as<int>();
    d.connected = r[5].as<bool>();
    d.clock_skew_s = r[6].as<double>();
    d.status_at_us = r[7].as<int64_t>();
    d.last_sample_us = r[8].as<int64_t>();
    d.expected_interval_s = r[9].as<double>();
    d.contact_lost_since_us = r[10].as<int64_t>();
    out[r[0].as<std::string>()].devices.push_back(std::move(d));
  }
  for (const auto& r : tx.exec_params("SELECT DISTINCT d.patient_id, g.bridge_id, " + Us("h.received_at") +
                                          " FROM device_gateways g JOIN devices d USING (device_id)"
                                          " JOIN gateway_heartbeats h ON h.bridge_id = g.bridge_id"
                                          " WHERE d.patient_id = ANY($1::text[]) ORDER BY 1, 2",
                                      any)) {
    out[r[0].as<std::string>()].gateways.push_back({r[1].as<std::string>(), r[2].as<int64_t>()});
  }
  for (const auto& r : tx.exec_params("SELECT d.patient_id, count(*) FROM quarantine q JOIN devices d USING (device_id)"
                                      " WHERE d.patient_id = ANY($1::text[]) AND q.quarantined_at > " +
                                          Ts(2) + " - interval '24 hours' GROUP BY 1",
                                      any, now_us)) {
    out[r[0].as<std::string>()].quarantined_last_24h = r[1].as<int>();
  }
  // twin_events has no end: an event counts as open (TwinEvent::ended_us = 0) while it is
  // younger than twin_lookback_us.
  for (const auto& r : tx.exec_params("SELECT patient_id, type, " + Us("started_at") + ", " + Us("detected_at") +
                                          ", magnitude FROM twin_events WHERE patient_id = ANY($1::text[])"
                                          " AND detected_at > " +
                                          Ts(2) + " ORDER BY patient_id, detected_at",
                                      any, now_us - twin_lookback_us)) {
    out[r[0].as<std::string>()].twin_events.push_back(
        {r[1].as<std::string>(), r[2].as<int64_t>(), r[3].as<int64_t>(), r[4].as<double>(), 0});
  }
  return out;
}

}  // namespace healthtwin::alerts
