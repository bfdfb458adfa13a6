// Per-patient alert settings in PostgreSQL (patient_alert_settings and its append-only
// history, migration 0010). The alerts service owns them because its rule engine validates and
// applies them; clinician_api reaches them through AlertService Get/SetPatientAlertSettings.
//
// Stateless functions over the caller's transaction; the JSON form is documented in the
// migration. A patient never configured has the catalogue defaults at version 0.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "healthtwin/alerts/v1/alerts.pb.h"
#include "services/alerts/rules/settings.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

rules::PatientAlertSettings SettingsFromProto(const v1::PatientAlertSettings& p);
std::string SettingsToJson(const rules::PatientAlertSettings& s);
// InvalidArgument when `json` is not the documented object.
absl::StatusOr<rules::PatientAlertSettings> SettingsFromJson(const std::string& json);

// The stored settings of `patient_id`, or the defaults at version 0.
absl::StatusOr<v1::PatientAlertSettings> LoadPatientSettings(pqxx::work& tx, const std::string& patient_id);

// Replaces the settings of `patient_id` (already validated) and appends the new version to the
// history. With `expected_version` != 0, ABORTED unless it is the stored version.
absl::StatusOr<v1::PatientAlertSettings> StorePatientSettings(pqxx::work& tx, const std::string& patient_id,
                                                              const rules::PatientAlertSettings& settings,
                                                              const std::string& updated_by, int64_t expected_version);

}  // namespace healthtwin::alerts
