// healthtwin-twin-validate: the "## Twin calibration" section of models/VALIDATION.md.
//
//   healthtwin-twin-validate [--patients 100] [--seed 1]
//
// Prints markdown to stdout. Exit 0 on success, 1 when the run fails, 2 on bad arguments.
#include <charconv>
#include <iostream>
#include <string>

#include "models/calibration/calibration_validation.h"

int main(int argc, char** argv) {
  int patients = 100;
  unsigned long long seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--patients" && has_value) {
      const std::string v = argv[++i];
      if (std::from_chars(v.data(), v.data() + v.size(), patients).ec != std::errc() || patients < 1) {
        std::cerr << "healthtwin-twin-validate: --patients must be a positive integer\n";
        return 2;
      }
    } else if (arg == "--seed" && has_value) {
      const std::string v = argv[++i];
      if (std::from_chars(v.data(), v.data() + v.size(), seed).ec != std::errc()) {
        std::cerr << "healthtwin-twin-validate: --seed must be a non-negative integer\n";
        return 2;
      }
    } else {
      std::cerr << "healthtwin-twin-validate: unknown argument '" << arg << "' (usage: [--patients N] [--seed S])\n";
      return 2;
    }
  }
  absl::StatusOr<std::string> md = healthtwin::models::calibration::RenderCalibrationValidationMarkdown(patients, seed);
  if (!md.ok()) {
    std::cerr << "healthtwin-twin-validate: " << md.status() << "\n";
    return 1;
  }
  std::cout << *md;
  return 0;
}
