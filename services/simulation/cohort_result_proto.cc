#include "services/simulation/cohort_result_proto.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"

namespace healthtwin::simulation {
namespace {

namespace v1 = healthtwin::simulation::v1;
using nlohmann::json;

void MeanChangeFromJson(const json& j, v1::MeanChange* out) {
  out->set_baseline_mean(j.at("baseline_mean").get<double>());
  out->set_end_mean(j.at("end_mean").get<double>());
  out->set_mean_change(j.at("mean_change").get<double>());
  out->set_change_ci95_low(j.at("change_ci95_low").get<double>());
  out->set_change_ci95_high(j.at("change_ci95_high").get<double>());
  out->set_sd_change(j.value("sd_change", 0.0));
}

void DifferenceFromJson(const json& j, v1::MeanDifference* out) {
  out->set_difference(j.at("difference").get<double>());
  out->set_ci95_low(j.at("ci95_low").get<double>());
  out->set_ci95_high(j.at("ci95_high").get<double>());
}

}  // namespace

absl::Status CohortResultFromJson(const std::string& result_json, v1::CohortResults& out) {
  try {
    const json j = json::parse(result_json);
    out.set_days(j.at("days").get<uint32_t>());
    out.set_seed(j.at("seed").get<uint64_t>());
    for (const json& a : j.at("arms")) {
      v1::ArmSummary* arm = out.add_arms();
      arm->set_arm(a.at("arm").get<std::string>());
      arm->set_patients(a.at("patients").get<uint32_t>());
      arm->set_analysed(a.value("analysed", arm->patients()));
      arm->set_dropouts(a.value("dropouts", 0U));
      MeanChangeFromJson(a.at("systolic_mmhg"), arm->mutable_systolic_mmhg());
      MeanChangeFromJson(a.at("diastolic_mmhg"), arm->mutable_diastolic_mmhg());
      MeanChangeFromJson(a.at("heart_rate_bpm"), arm->mutable_heart_rate_bpm());
      arm->set_mean_delta_systolic_mmhg(arm->systolic_mmhg().mean_change());
      arm->set_mean_delta_diastolic_mmhg(arm->diastolic_mmhg().mean_change());
      arm->set_target_attainment_fraction(a.at("target_attainment_fraction").get<double>());
      for (const auto& [flag, count] : a.at("safety_flag_counts").items()) {
        (*arm->mutable_safety_flag_counts())[flag] = count.get<uint32_t>();
      }
      if (const auto p = a.find("placebo_adjusted"); p != a.end() && !p->is_null()) {
        v1::PlaceboAdjusted* adjusted = arm->mutable_placebo_adjusted();
        adjusted->set_versus(p->at("versus").get<std::string>());
        DifferenceFromJson(p->at("systolic_mmhg"), adjusted->mutable_systolic_mmhg());
        DifferenceFromJson(p->at("diastolic_mmhg"), adjusted->mutable_diastolic_mmhg());
        out.set_placebo_arm(adjusted->versus());
      }
    }
  } catch (const std::exception& ex) {
    return absl::DataLossError(absl::StrCat("stored cohort result is unreadable: ", ex.what()));
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::simulation
