#include "services/simulation/patient_source.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace healthtwin::simulation {
namespace {

// vitals.flags bit (1 << SAMPLE_FLAG_UNLIKELY_VALUE): stored for review, never a baseline.
// Clock-skewed samples still carry a valid value and are used.
constexpr int kFlaggedMask = 1 << 1;

}  // namespace

absl::StatusOr<WhatIfPatient> PatientSource::Load(const std::string& patient_id) {
  std::optional<WhatIfPatient> out;
  auto s = pool_.WithTransaction("load patient for simulation", [&](pqxx::work& tx) {
    out.reset();
    WhatIfPatient w;
    w.patient_id = patient_id;
    w.registry = twin::LoadPatientRecord(tx, patient_id);
    if (!w.registry.registered) return;

    const int64_t window_s = std::chrono::duration_cast<std::chrono::seconds>(window_).count();
    auto v = tx.exec_params(
        "SELECT vital_type, percentile_cont(0.5) WITHIN GROUP (ORDER BY value), count(*),"
        " (array_agg(value ORDER BY measured_at DESC))[1]"
        " FROM vitals WHERE patient_id = $1 AND vital_type IN (1, 2, 3, 7) AND (flags & $2) = 0"
        " AND measured_at >= now() - $3::bigint * interval '1 second'"
        " GROUP BY vital_type",
        patient_id, kFlaggedMask, window_s);
    for (const auto& r : v) {
      const int type = r[0].as<int>();
      const double median = r[1].as<double>();
      w.vitals_in_window += r[2].as<int>();
      if (type == 1) w.heart_rate_bpm = median;
      if (type == 2) w.sbp_mmhg = median;
      if (type == 3) w.dbp_mmhg = median;
      if (type == 7) w.weight_kg = r[3].as<double>();
    }

    auto t = tx.exec_params(
        "SELECT version, parameters::text, array_to_string(covariance, ',') FROM twin_snapshots"
        " WHERE patient_id = $1 AND calibrated ORDER BY version DESC LIMIT 1",
        patient_id);
    if (!t.empty()) {
      w.twin_version = t[0][0].as<std::uint64_t>();
      for (const auto& param : nlohmann::json::parse(t[0][1].as<std::string>())) {
        w.twin_parameters.push_back({param.at("name").get<std::string>(), param.at("value").get<double>()});
      }
      w.twin_covariance = common::ParseNumberList(t[0][2].as<std::string>());
    }
    out = std::move(w);
  });
  if (!s.ok()) return s;
  if (!out) return absl::NotFoundError(absl::StrCat("patient ", patient_id, " is not registered"));
  return *out;
}

}  // namespace healthtwin::simulation
