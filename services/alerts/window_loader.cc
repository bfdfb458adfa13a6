#include "services/alerts/window_loader.h"

#include <charconv>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/settings_store.h"
#include "services/common/logging.h"

namespace healthtwin::alerts {

namespace {

std::string Us(const std::string& column) {
  return absl::StrCat("coalesce((extract(epoch FROM ", column, ") * 1000000)::bigint, 0)");
}
std::string Ts(const std::string& micros) {
  return absl::StrCat("(timestamptz 'epoch' + ", micros, " * interval '1 microsecond')");
}

// Contact-lost periods of the patients in $1 (inputs_loader.cc's LostCte, per patient): a CTE
// named `lost` (patient_id, device_id, f, t).
const char kLostCte[] =
    "WITH st AS (SELECT patient_id, device_id, sensor_contact, observed_at AS f,"
    "   lead(observed_at, 1, 'infinity') OVER (PARTITION BY patient_id, device_id ORDER BY observed_at) AS t"
    "   FROM device_status_history WHERE patient_id = ANY($1::text[])),"
    " lost AS (SELECT patient_id, device_id, f, t FROM st WHERE sensor_contact = 3) ";

bool IsHeartRate(int type) { return type == rules::kHeartRate || type == rules::kPulseRate; }

// A number column, parsed with std::from_chars (locale-free, correctly rounded, as libpqxx's
// own parser): libpqxx 6 parses a double through a std::stringstream, a measurable part of
// converting a round's 20,000 rows. Anything from_chars does not take whole goes to libpqxx,
// which gives the same value or its own error.
template <typename T>
T Number(const pqxx::field& f) {
  T v{};
  const char* s = f.c_str();
  const auto [end, ec] = std::from_chars(s, s + f.size(), v);
  return ec == std::errc() && end == s + f.size() && !f.is_null() ? v : f.as<T>();
}

}  // namespace

CachedRow ReadVitalsRow(const pqxx::row& r, int first) {
  return {.point = {.vital_type = Number<int>(r[first + 1]),
                    .value = Number<double>(r[first + 2]),
                    .measured_us = Number<int64_t>(r[first + 3]),
                    .flags = 0,
                    .device_id = r[first + 5].as<std::string>()},
          .ingest_seq = Number<int64_t>(r[first]),
          .stored_flags = Number<uint32_t>(r[first + 4])};
}

std::map<std::string, LostPeriods> LoadLostPeriods(pqxx::work& tx, const std::vector<std::string>& patients) {
  std::map<std::string, LostPeriods> out;
  if (patients.empty()) return out;
  for (const auto& r : tx.exec_params(std::string(kLostCte) + "SELECT patient_id, device_id, " + Us("f") +
                                          ", CASE WHEN t = 'infinity' THEN 9223372036854775807 ELSE " + Us("t") +
                                          " END FROM lost ORDER BY patient_id, device_id, f",
                                      TextArrayLiteral(patients))) {
    out[r[0].as<std::string>()][r[1].as<std::string>()].emplace_back(r[2].as<int64_t>(), r[3].as<int64_t>());
  }
  return out;
}

std::map<std::string, rules::PatientAlertSettings> LoadSettings(pqxx::work& tx,
                                                                const std::vector<std::string>& patients) {
  std::map<std::string, rules::PatientAlertSettings> out;
  for (const std::string& p : patients) out[p] = {};
  if (patients.empty()) return out;
  for (const auto& r : tx.exec_params(
           "SELECT patient_id, settings::text FROM patient_alert_settings WHERE patient_id = ANY($1::text[])",
           TextArrayLiteral(patients))) {
    auto s = SettingsFromJson(r[1].as<std::string>());
    if (!s.ok()) {
      // As LoadSettingsOrDefaults: unreadable settings are a bug, not a reason to stop alerting.
      common::LogError("alerts.settings_unreadable", {{"error", std::string(s.status().message())}});
      continue;
    }
    out[r[0].as<std::string>()] = *std::move(s);
  }
  return out;
}

int64_t LoadWindows(pqxx::work& tx, const std::vector<WindowRequest>& requests, const std::vector<int>& types,
                    const std::map<std::string, LostPeriods>& lost, std::map<std::string, PatientWindow>& out) {
  if (requests.empty()) return 0;
  std::vector<std::string> patients;
  std::vector<int64_t> sparse_from, hr_from;
  for (const WindowRequest& q : requests) {
    patients.push_back(q.patient_id);
    sparse_from.push_back(q.sparse_from_us);
    hr_from.push_back(q.hr_from_us);
    PatientWindow& w = out[q.patient_id];
    w = {};
    w.sparse_from_us = q.sparse_from_us;
    w.hr_from_us = q.hr_from_us;
    if (auto it = lost.find(q.patient_id); it != lost.end()) w.lost = it->second;
  }
  std::vector<int> sparse, hr;
  for (int t : types) (IsHeartRate(t) ? hr : sparse).push_back(t);
  // Per patient, the two ranges of vitals_patient_time_idx that LoadVitals reads.
  const std::string select =
      absl::StrCat("SELECT ", kVitalsRowColumns, " FROM vitals v WHERE v.patient_id = p.id AND v.vital_type = ANY(");
  auto rows = tx.exec_params(
      "SELECT p.id, x.* FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS p(id, sf, hf)"
      " CROSS JOIN LATERAL (" +
          select + "$4::int[]) AND v.measured_at >= " + Ts("p.sf") + " UNION ALL " + select +
          "$5::int[]) AND v.measured_at >= " + Ts("p.hf") + ") x ORDER BY p.id, x.measured_us, x.ingest_seq",
      TextArrayLiteral(patients), NumberArray(sparse_from), NumberArray(hr_from), NumberArray(sparse), NumberArray(hr));
  for (const auto& r : rows) {
    PatientWindow& w = out[r[0].as<std::string>()];
    CachedRow row = ReadVitalsRow(r, 1);
    row.point.flags = EngineFlags(row.stored_flags, ContactLostAt(w.lost, row.point.device_id, row.point.measured_us));
    // Rows arrive in order: append.
    (IsHeartRate(row.point.vital_type) ? w.hr : w.sparse).push_back(std::move(row));
  }
  return static_cast<int64_t>(rows.size());
}

std::map<std::string, std::vector<rules::DailyRestingHr>> LoadDailyRestingHr(
    pqxx::work& tx, const std::vector<RestingHrRequest>& requests) {
  constexpr int64_t kDayUs = 86'400'000'000;
  std::map<std::string, std::vector<rules::DailyRestingHr>> out;
  if (requests.empty()) return out;
  std::vector<std::string> patients;
  std::vector<int64_t> from, to;
  for (const RestingHrRequest& q : requests) {
    patients.push_back(q.patient_id);
    from.push_back(q.first_day * kDayUs);
    to.push_back((q.last_day + 1) * kDayUs);
    out[q.patient_id];
  }
  // Valid samples only (not contact-lost: EngineFlags), as the rule's raw form reads them.
  auto rows = tx.exec_params(
      std::string(kLostCte) +
          "SELECT p.id, x.day, x.p10, x.n FROM unnest($1::text[], $2::bigint[], $3::bigint[]) AS p(id, f, t)"
          " CROSS JOIN LATERAL (SELECT floor(extract(epoch FROM v.measured_at) / 86400)::bigint AS day,"
          "  percentile_disc(0.10) WITHIN GROUP (ORDER BY v.value) AS p10, count(*) AS n"
          "  FROM vitals v WHERE v.patient_id = p.id AND v.vital_type IN (1, 10) AND v.measured_at >= " +
          Ts("p.f") + " AND v.measured_at < " + Ts("p.t") +
          "  AND NOT EXISTS (SELECT 1 FROM lost WHERE lost.patient_id = v.patient_id AND lost.device_id = v.device_id"
          "   AND v.measured_at >= lost.f AND v.measured_at < lost.t) GROUP BY 1) x ORDER BY 1, 2",
      TextArrayLiteral(patients), NumberArray(from), NumberArray(to));
  for (const auto& r : rows) {
    out[r[0].as<std::string>()].push_back({r[1].as<int64_t>(), r[2].as<double>(), r[3].as<int64_t>()});
  }
  return out;
}

}  // namespace healthtwin::alerts
