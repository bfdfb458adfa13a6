#include "models/calibration/twin_json.h"

#include "absl/strings/str_cat.h"

namespace healthtwin::models::calibration {

nlohmann::json SnapshotToJson(const TwinSnapshot& s) {
  std::vector<int> reference_set(s.reference_set.begin(), s.reference_set.end());
  return nlohmann::json{{"model_version", s.model_version},
                        {"version", s.version},
                        {"reason", s.reason},
                        {"state_names", s.state_names},
                        {"mean", s.mean},
                        {"covariance", s.covariance},
                        {"prior_mean", s.prior_mean},
                        {"prior_sd", s.prior_sd},
                        {"window_start_unix_s", s.window_start_unix_s},
                        {"window_end_unix_s", s.window_end_unix_s},
                        {"state_time_unix_s", s.state_time_unix_s},
                        {"calibrated", s.calibrated},
                        {"samples_absorbed", s.samples_absorbed},
                        {"reference_mean", s.reference_mean},
                        {"reference_sd", s.reference_sd},
                        {"reference_set", reference_set},
                        {"cusum_pos", s.cusum_pos},
                        {"cusum_neg", s.cusum_neg},
                        {"cusum_pos_start", s.cusum_pos_start},
                        {"cusum_neg_start", s.cusum_neg_start},
                        {"last_alarm_up", s.last_alarm_up},
                        {"last_alarm_down", s.last_alarm_down},
                        {"last_rejected_side", s.last_rejected_side},
                        {"open_day", s.open_day},
                        {"day_sum", s.day_sum},
                        {"day_count", s.day_count}};
}

absl::StatusOr<TwinSnapshot> SnapshotFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return absl::InvalidArgumentError("twin snapshot: expected a JSON object");
  TwinSnapshot s;
  std::vector<int> reference_set;
  auto get = [&](const char* field, auto& into) -> absl::Status {
    if (!j.contains(field)) return absl::InvalidArgumentError(absl::StrCat("twin snapshot: field ", field, " is missing"));
    try {
      j.at(field).get_to(into);
    } catch (const nlohmann::json::exception&) {
      return absl::InvalidArgumentError(absl::StrCat("twin snapshot: field ", field, " has the wrong type"));
    }
    return absl::OkStatus();
  };
  for (absl::Status st :
       {get("model_version", s.model_version), get("version", s.version), get("reason", s.reason),
        get("state_names", s.state_names), get("mean", s.mean), get("covariance", s.covariance),
        get("prior_mean", s.prior_mean), get("prior_sd", s.prior_sd),
        get("window_start_unix_s", s.window_start_unix_s), get("window_end_unix_s", s.window_end_unix_s),
        get("state_time_unix_s", s.state_time_unix_s), get("calibrated", s.calibrated),
        get("samples_absorbed", s.samples_absorbed), get("reference_mean", s.reference_mean),
        get("reference_sd", s.reference_sd), get("reference_set", reference_set), get("cusum_pos", s.cusum_pos),
        get("cusum_neg", s.cusum_neg), get("cusum_pos_start", s.cusum_pos_start),
        get("cusum_neg_start", s.cusum_neg_start), get("last_alarm_up", s.last_alarm_up),
        get("last_alarm_down", s.last_alarm_down), get("last_rejected_side", s.last_rejected_side),
        get("open_day", s.open_day), get("day_sum", s.day_sum), get("day_count", s.day_count)}) {
    if (!st.ok()) return st;
  }
  s.reference_set.assign(reference_set.begin(), reference_set.end());
  return s;
}

}  // namespace healthtwin::models::calibration
