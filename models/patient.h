// Patients for the cardiovascular engine: the standard adult, patients built from
// demographics with optional resting targets, and disease conditions.
//
// Every builder returns ModelParams; nothing here runs in the background or keeps state.
// Conditions compose (apply several in turn), e.g. stage 2 hypertension then AF.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/circulation_params.h"

namespace healthtwin::models {

enum class Condition {
  kHypertensionStage1,
  kHypertensionStage2,
  kHfref,
  kHfpef,
  kHypovolaemia,
  kAtrialFibrillation,
};

// Names used on the command line and in patient files: "hypertension_stage1",
// "hypertension_stage2", "hfref", "hfpef", "hypovolaemia", "atrial_fibrillation".
std::string_view ConditionName(Condition condition);
absl::StatusOr<Condition> ParseCondition(std::string_view name);
std::vector<Condition> AllConditions();

// Ursino 1998 with systemic resistance tuned so the resting values sit mid-range
// (see models/README.md, "Standard adult").
ModelParams StandardAdult();

// Modifies `params` in place; see models/README.md for each change and its source.
// Hypertension fits resistance and arterial compliance to a target BP, so it can fail.
absl::Status ApplyCondition(Condition condition, ModelParams& params);

enum class Sex { kFemale, kMale };

struct Demographics {
  double age_years = 40.0;
  Sex sex = Sex::kMale;
  double height_cm = 175.0;
  double weight_kg = 75.0;
};

// Optional resting targets. SBP and DBP come together or not at all.
struct RestingTargets {
  std::optional<double> heart_rate_bpm;
  std::optional<double> sbp_mmhg;
  std::optional<double> dbp_mmhg;
};

// Nadler, Hidalgo & Bloch, Surgery 51:224 (1962): blood volume from sex, height and weight.
double NadlerBloodVolumeMl(Sex sex, double height_cm, double weight_kg);

// Scales the standard adult to the person's blood volume, sets the intrinsic heart rate from
// age, then (if targets are given) fits the parameters to reach them. Out-of-range
// demographics give InvalidArgument naming the field; unreachable targets give OutOfRange
// naming the target and the parameter that hit its bound.
absl::StatusOr<ModelParams> PatientFromDemographics(const Demographics& demographics,
                                                    const RestingTargets& targets = {});

// The checks FitToTargets makes before fitting: InvalidArgument naming the field for a target
// outside 35-150 bpm, SBP 70-240 or DBP 35-140 mmHg (bounds included), or not a number; SBP
// without DBP (or the reverse); a pulse pressure below 15 mmHg.
absl::Status ValidateTargets(const RestingTargets& targets);

// Adjusts heart period (T0), systemic resistance, arterial compliance and the baroreflex set
// point (a chronically reset reflex) until the settled resting HR/SBP/DBP match the targets to
// within 0.5 bpm / 0.5 mmHg. Invalid targets: ValidateTargets' error; a target that needs a
// parameter beyond its bounds: OutOfRange naming the target and the parameter.
absl::StatusOr<ModelParams> FitToTargets(const ModelParams& base, const RestingTargets& targets);

}  // namespace healthtwin::models
