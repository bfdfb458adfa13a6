// The incremental evaluator's SQL for rule inputs (patient_windows.h): one query per round
// for each kind of input, over every patient that needs it (`patient_id = ANY($1)`), instead
// of one per patient. The same rows, flags and numbers as inputs_loader.h's per-patient
// functions (LoadVitals, LoadDailyRestingHr, LoadSettingsOrDefaults), which the chaos judge
// still uses. Inside the caller's transaction.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "services/alerts/patient_windows.h"
#include "services/alerts/rules/inputs.h"
#include "services/alerts/rules/settings.h"
#include "services/alerts/sql_arrays.h"
#include "services/common/pg.h"

namespace healthtwin::alerts {

// The select list of a vitals row (table alias v) as ReadVitalsRow reads it from column
// `first` of `r`: ingest_seq, vital_type, value, measured_us, flags, device_id. Its flags are
// not yet translated (EngineFlags).
inline constexpr char kVitalsRowColumns[] =
    "v.ingest_seq, v.vital_type, v.value, (extract(epoch FROM v.measured_at) * 1000000)::bigint AS measured_us,"
    " v.flags, v.device_id";
CachedRow ReadVitalsRow(const pqxx::row& r, int first);

// Contact-lost periods of each patient's devices (inputs_loader.cc's LostCte); a patient
// without any is absent.
std::map<std::string, LostPeriods> LoadLostPeriods(pqxx::work& tx, const std::vector<std::string>& patients);

// Each patient's stored settings, the catalogue defaults when none (or unreadable: logged).
std::map<std::string, rules::PatientAlertSettings> LoadSettings(pqxx::work& tx,
                                                                const std::vector<std::string>& patients);

struct WindowRequest {
  std::string patient_id;
  int64_t sparse_from_us = 0;  // types other than heart rate and pulse, from here
  int64_t hr_from_us = 0;      // heart rate and pulse, from here
};
// The windows of `requests` (vitals of `types` from each start to the newest), flags
// translated with `lost`. Returns the number of rows loaded.
int64_t LoadWindows(pqxx::work& tx, const std::vector<WindowRequest>& requests, const std::vector<int>& types,
                    const std::map<std::string, LostPeriods>& lost, std::map<std::string, PatientWindow>& out);

struct RestingHrRequest {
  std::string patient_id;
  int64_t first_day = 0;
  int64_t last_day = 0;  // inclusive
};
// DailyRestingHr of the completed UTC days of each request (as LoadDailyRestingHr).
std::map<std::string, std::vector<rules::DailyRestingHr>> LoadDailyRestingHr(
    pqxx::work& tx, const std::vector<RestingHrRequest>& requests);

}  // namespace healthtwin::alerts
