// healthtwin-twin-identifiability: prints the sensitivity / identifiability tables of
// models/README.md ("Identifiability and calibration") for the standard adult or a condition.
//
//   healthtwin-twin-identifiability [hfref|hfpef|hypertension_stage2|...]
//
// Exit 0 on success, 1 when the engine fails, 2 on a bad argument.
#include <iostream>

#include "models/calibration/identifiability.h"
#include "models/patient.h"

int main(int argc, char** argv) {
  using namespace healthtwin::models;
  ModelParams p = StandardAdult();
  calibration::PriorInputs prior;
  for (int i = 1; i < argc; ++i) {
    absl::StatusOr<Condition> c = ParseCondition(argv[i]);
    if (!c.ok()) {
      std::cerr << "healthtwin-twin-identifiability: unknown condition '" << argv[i] << "'\n";
      return 2;
    }
    prior.conditions.push_back(*c);
    if (absl::Status s = ApplyCondition(*c, p); !s.ok()) {
      std::cerr << "healthtwin-twin-identifiability: " << s << "\n";
      return 1;
    }
  }
  absl::StatusOr<calibration::IdentifiabilityResult> r = calibration::AnalyseIdentifiability(p, prior);
  if (!r.ok()) {
    std::cerr << "healthtwin-twin-identifiability: " << r.status() << "\n";
    return 1;
  }
  std::cout << calibration::RenderIdentifiabilityMarkdown(*r);
  return 0;
}
