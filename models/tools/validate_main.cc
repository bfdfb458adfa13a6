// healthtwin-model-validate: regenerates the validation table.
//
//   healthtwin-model-validate [--out models/VALIDATION.md]
//
// Without --out the table goes to stdout. Exit 0 on success (whatever the grades), 1 when the
// simulation fails, 2 on bad arguments.
#include <fstream>
#include <iostream>
#include <string>

#include "models/validation.h"

int main(int argc, char** argv) {
  std::string out_path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else {
      std::cerr << "healthtwin-model-validate: unknown argument '" << arg << "' (usage: [--out FILE])\n";
      return 2;
    }
  }
  absl::StatusOr<std::vector<healthtwin::models::ValidationRow>> rows = healthtwin::models::RunValidation();
  if (!rows.ok()) {
    std::cerr << "healthtwin-model-validate: " << rows.status().ToString() << "\n";
    return 1;
  }
  const std::string md = healthtwin::models::RenderValidationMarkdown(*rows);
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
