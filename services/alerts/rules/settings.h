// A clinician's per-patient adjustments to the alert catalogue. Validated by
// RuleEngine::ValidateSettings (catalogue.h: ValidatePatientSettings) before it is stored, so
// the engine may assume it is valid.
#pragma once

#include <map>
#include <string>

namespace healthtwin::alerts::rules {

struct PatientAlertSettings {
  // Rule id -> threshold replacing the catalogue's for this patient (e.g. "hr_high" -> 110 for
  // a patient on beta blockers). Only threshold rules; each within the rule's override range.
  std::map<std::string, double> threshold_overrides;
  // NEWS2 SpO2 scale 2 (RCP 2017): prescribed target 88-92 % for hypercapnic respiratory
  // failure. Also switches spo2_low to its scale-2 threshold.
  bool spo2_scale2 = false;
  // On supplemental oxygen (NEWS2 "air or oxygen" row, and scale 2 scoring above 92 %).
  bool supplemental_oxygen = false;
};

}  // namespace healthtwin::alerts::rules
