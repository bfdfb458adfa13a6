#include "services/alerts/settings_store.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "services/common/time_util.h"

namespace healthtwin::alerts {
namespace {

v1::PatientAlertSettings ToProto(const std::string& patient_id, const rules::PatientAlertSettings& s) {
  v1::PatientAlertSettings p;
  p.set_patient_id(patient_id);
  for (const auto& [rule, value] : s.threshold_overrides) (*p.mutable_threshold_overrides())[rule] = value;
  p.set_spo2_scale2(s.spo2_scale2);
  p.set_supplemental_oxygen(s.supplemental_oxygen);
  return p;
}

}  // namespace

rules::PatientAlertSettings SettingsFromProto(const v1::PatientAlertSettings& p) {
  rules::PatientAlertSettings s;
  for (const auto& [rule, value] : p.threshold_overrides()) s.threshold_overrides[rule] = value;
  s.spo2_scale2 = p.spo2_scale2();
  s.supplemental_oxygen = p.supplemental_oxygen();
  return s;
}

std::string SettingsToJson(const rules::PatientAlertSettings& s) {
  nlohmann::json overrides = nlohmann::json::object();
  for (const auto& [rule, value] : s.threshold_overrides) overrides[rule] = value;
  return nlohmann::json{{"threshold_overrides", overrides},
                        {"spo2_scale2", s.spo2_scale2},
                        {"supplemental_oxygen", s.supplemental_oxygen}}
      .dump();
}

absl::StatusOr<rules::PatientAlertSettings> SettingsFromJson(const std::string& json) {
  const auto j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return absl::InvalidArgumentError("settings: not a JSON object");
  rules::PatientAlertSettings s;
  if (auto it = j.find("threshold_overrides"); it != j.end()) {
    if (!it->is_object()) return absl::InvalidArgumentError("settings.threshold_overrides: not an object");
    for (const auto& [rule, value] : it->items()) {
      if (!value.is_number())
        return absl::InvalidArgumentError(absl::StrCat("threshold_overrides.", rule, ": not a number"));
      s.threshold_overrides[rule] = value.get<double>();
    }
  }
  for (auto [key, field] :
       {std::pair{"spo2_scale2", &s.spo2_scale2}, {"supplemental_oxygen", &s.supplemental_oxygen}}) {
    if (auto it = j.find(key); it != j.end()) {
      if (!it->is_boolean()) return absl::InvalidArgumentError(absl::StrCat("settings.", key, ": not a boolean"));
      *field = it->get<bool>();
    }
  }
  return s;
}

absl::StatusOr<v1::PatientAlertSettings> LoadPatientSettings(pqxx::work& tx, const std::string& patient_id) {
  auto rows = tx.exec_params(
      "SELECT settings::text, version, updated_by, (extract(epoch FROM updated_at) * 1000000)::bigint"
      " FROM patient_alert_settings WHERE patient_id = $1",
      patient_id);
  if (rows.empty()) return ToProto(patient_id, {});
  auto s = SettingsFromJson(rows[0][0].as<std::string>());
  if (!s.ok()) return absl::InternalError("stored alert settings are unreadable: " + std::string(s.status().message()));
  v1::PatientAlertSettings p = ToProto(patient_id, *s);
  p.set_version(rows[0][1].as<int64_t>());
  p.set_updated_by(rows[0][2].as<std::string>());
  *p.mutable_updated_at() = common::FromUnixMicros(rows[0][3].as<int64_t>());
  return p;
}

absl::StatusOr<v1::PatientAlertSettings> StorePatientSettings(pqxx::work& tx, const std::string& patient_id,
                                                              const rules::PatientAlertSettings& settings,
                                                              const std::string& updated_by, int64_t expected_version) {
  // Row lock: concurrent writers of one patient apply one after the other, each on the last.
  auto current =
      tx.exec_params("SELECT version FROM patient_alert_settings WHERE patient_id = $1 FOR UPDATE", patient_id);
  const int64_t stored = current.empty() ? 0 : current[0][0].as<int64_t>();
  if (expected_version != 0 && expected_version != stored) {
    return absl::AbortedError(
        absl::StrCat("expected_version: the stored version is ", stored, ", not ", expected_version, "; read again"));
  }
  const std::string json = SettingsToJson(settings);
  auto row = tx.exec_params(
      "INSERT INTO patient_alert_settings (patient_id, settings, version, updated_by, updated_at)"
      " VALUES ($1, $2::jsonb, $3, $4, now())"
      // A first write racing another (no row to lock yet) becomes the next version, not a duplicate.
      " ON CONFLICT (patient_id) DO UPDATE SET settings = EXCLUDED.settings,"
      "   version = patient_alert_settings.version + 1, updated_by = EXCLUDED.updated_by,"
      "   updated_at = EXCLUDED.updated_at"
      " RETURNING version, (extract(epoch FROM updated_at) * 1000000)::bigint",
      patient_id, json, stored + 1, updated_by);
  tx.exec_params(
      "INSERT INTO patient_alert_settings_history (patient_id, version, settings, updated_by, updated_at)"
      " SELECT patient_id, version, settings, updated_by, updated_at FROM patient_alert_settings WHERE patient_id = $1",
      patient_id);
  v1::PatientAlertSettings p = ToProto(patient_id, settings);
  p.set_version(row[0][0].as<int64_t>());
  p.set_updated_by(updated_by);
  *p.mutable_updated_at() = common::FromUnixMicros(row[0][1].as<int64_t>());
  return p;
}

}  // namespace healthtwin::alerts
