// The rule engine: the catalogue (deploy/config/alert_rules.toml) applied to one patient's
// inputs at one moment. Pure and stateless: the same inputs and `now` give the same verdicts,
// so a verdict can be recomputed after a restart; the alarm lifecycle keeps all state.
//
// Evaluate returns one Observation per enabled rule, active or not (the lifecycle needs the
// inactive verdicts to end episodes), in catalogue order. The inputs' vitals must be sorted
// by time and cover lookback_us() before `now`; samples after `now` are ignored.
//
// Thread-compatible: const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/alerts/observation.h"
#include "services/alerts/rules/catalogue.h"
#include "services/alerts/rules/inputs.h"
#include "services/alerts/rules/patient_trackers.h"
#include "services/alerts/rules/vital_index.h"

namespace healthtwin::alerts::rules {

class RuleEngine {
 public:
  static absl::StatusOr<RuleEngine> FromToml(std::string_view toml, std::string_view source_name);
  explicit RuleEngine(Catalogue catalogue);

  std::vector<Observation> Evaluate(const PatientInputs& in, int64_t now_us) const;
  // The same for only the enabled rules whose kind `include` accepts (in catalogue order): a
  // caller that discards the others does not pay for them. Each rule's verdict is the one
  // Evaluate gives.
  std::vector<Observation> Evaluate(const PatientInputs& in, int64_t now_us, bool (*include)(RuleKind)) const;
  // The same with `prepared` built from in.vitals (PreparedVitals(in.vitals)): a caller
  // judging one patient at many instants groups its samples once, not at every instant. The
  // verdicts are the ones the overloads above give.
  // With `trackers` (kept by the caller for this patient across instants and rounds, under
  // patient_trackers.h's contract), the threshold rules and NEWS2 judge each instant at a cost
  // in proportion to the samples new since the last one; the verdicts are the same.
  std::vector<Observation> Evaluate(const PatientInputs& in, const PreparedVitals& prepared, int64_t now_us,
                                    bool (*include)(RuleKind), PatientTrackers* trackers = nullptr) const;

  // How much vital history before `now` Evaluate reads (the longest rule's window).
  int64_t lookback_us() const { return lookback_us_; }

  // For the API: InvalidArgument naming the field when `settings` does not fit the catalogue.
  absl::Status ValidateSettings(const PatientAlertSettings& settings) const {
    return ValidatePatientSettings(settings, catalogue_);
  }

  // Rule id -> the covers it suppresses, for the lifecycle's suppression.
  std::map<std::string, std::vector<std::string>> SuppressionTable() const;

  const Catalogue& catalogue() const { return catalogue_; }

 private:
  Catalogue catalogue_;
  int64_t lookback_us_ = 0;
};

}  // namespace healthtwin::alerts::rules
