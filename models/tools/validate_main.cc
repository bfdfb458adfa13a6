// healthtwin-model-validate: regenerates the validation table.
//
//   healthtwin-model-validate [--out models/VALIDATION.md] [--calibration-patients 100] [--seed 1]
//                             [--trials docs/examples/trials]
//
// Writes the engine's and the pharmacology tables, the virtual trial's, the reproductions of the
// published trials whose specs are in --trials (relative to the repository root, where it is run
// by default), then the twin calibration study
// (models/calibration: synthetic patients with known parameters, calibrated from simulated
// wearable data; a few minutes in a Release build). Without --out everything goes to stdout. Exit 0 on success
// (whatever the grades), 1 when the simulation fails, 2 on bad arguments.
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/numbers.h"
#include "models/calibration/calibration_validation.h"
#include "models/pharmacology/pharmacology_validation.h"
#include "models/treatment/trial_reproduction.h"
#include "models/treatment/trial_validation.h"
#include "models/validation.h"

int main(int argc, char** argv) {
  std::string out_path;
  std::string trials_dir = "docs/examples/trials";
  int calibration_patients = healthtwin::models::calibration::kValidationMdPatients;
  uint64_t seed = healthtwin::models::calibration::kValidationMdSeed;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (arg == "--calibration-patients" && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &calibration_patients) || calibration_patients < 1) {
        std::cerr << "healthtwin-model-validate: --calibration-patients: expected a positive integer\n";
        return 2;
      }
    } else if (arg == "--trials" && i + 1 < argc) {
      trials_dir = argv[++i];
    } else if (arg == "--seed" && i + 1 < argc) {
      if (!absl::SimpleAtoi(argv[++i], &seed)) {
        std::cerr << "healthtwin-model-validate: --seed: expected a non-negative integer\n";
        return 2;
      }
    } else {
      std::cerr << "healthtwin-model-validate: unknown argument '" << arg
                << "' (usage: [--out FILE] [--calibration-patients N] [--seed S] [--trials DIR])\n";
      return 2;
    }
  }
  absl::StatusOr<std::vector<healthtwin::models::ValidationRow>> rows = healthtwin::models::RunValidation();
  if (!rows.ok()) {
    std::cerr << "healthtwin-model-validate: " << rows.status().ToString() << "\n";
    return 1;
  }
  absl::StatusOr<std::vector<healthtwin::models::ValidationRow>> pharma =
      healthtwin::models::pharma::RunPharmacologyValidation();
  if (!pharma.ok()) {
    std::cerr << "healthtwin-model-validate: pharmacology: " << pharma.status().ToString() << "\n";
    return 1;
  }
  rows->insert(rows->end(), pharma->begin(), pharma->end());
  absl::StatusOr<std::vector<healthtwin::models::ValidationRow>> trial =
      healthtwin::models::treatment::RunTrialValidation();
  if (!trial.ok()) {
    std::cerr << "healthtwin-model-validate: virtual trial: " << trial.status().ToString() << "\n";
    return 1;
  }
  rows->insert(rows->end(), trial->begin(), trial->end());
  absl::StatusOr<std::vector<healthtwin::models::ValidationRow>> reproductions =
      healthtwin::models::treatment::RunTrialReproductions(trials_dir);
  if (!reproductions.ok()) {
    std::cerr << "healthtwin-model-validate: trial reproductions: " << reproductions.status().ToString() << "\n";
    return reproductions.status().code() == absl::StatusCode::kInvalidArgument ||
                   reproductions.status().code() == absl::StatusCode::kNotFound
               ? 2
               : 1;
  }
  rows->insert(rows->end(), reproductions->begin(), reproductions->end());
  std::string md = healthtwin::models::RenderValidationMarkdown(*rows);
  absl::StatusOr<std::string> calibration =
      healthtwin::models::calibration::RenderCalibrationValidationMarkdown(calibration_patients, seed);
  if (!calibration.ok()) {
    std::cerr << "healthtwin-model-validate: calibration: " << calibration.status().ToString() << "\n";
    return 1;
  }
  md += "\n" + *calibration;
  if (out_path.empty()) {
    std::cout << md;
    return 0;
  }
  std::ofstream f(out_path, std::ios::binary);
  f << md;
  if (!f) {
    std::cerr << "healthtwin-model-validate: cannot write " << out_path << "\n";
    return 1;
  }
  return 0;
}
