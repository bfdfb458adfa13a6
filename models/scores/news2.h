// NEWS2, the National Early Warning Score 2 of the Royal College of Physicians (RCP 2017),
// scored from whatever vital signs are at hand.
//
// A missing parameter is never scored as normal. The result is then partial: `score` is the
// sum of the parameters present, a lower bound of the full score, and `missing` lists the
// rest. Adding a parameter can only add points and can never remove a parameter's 3, so the
// risk band of a partial result is a lower bound of the full result's band too: a partial
// "low" means "not yet known to be above low", never "low". Wearables rarely give a
// respiration rate or a level of consciousness, so partial is the normal case here.
//
// Inputs are rounded to the chart's resolution before banding (whole numbers; temperature to
// 0.1 C), half away from zero, as a nurse would chart a monitor's reading: 90.5 bpm scores
// as 91, 38.04 C as 38.0. Values no living patient or working sensor can give (negative
// rates, SpO2 above 100 %, non-finite numbers) are InvalidArgument, with a message that starts
// with the parameter's name ("spo2: 140 is above 100"). Merely unusual values are scored.
//
// Pure and thread-compatible: no state, no I/O.
#pragma once

#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace healthtwin::models::scores {

// The chart's rows, in chart order.
enum class News2Parameter { kRespiratoryRate, kSpo2, kOxygen, kSystolic, kHeartRate, kConsciousness, kTemperature };

// "respiratory_rate", "spo2", "oxygen", "systolic", "heart_rate", "consciousness", "temperature".
absl::string_view News2ParameterName(News2Parameter p);

// Scale 2 is for patients with hypercapnic respiratory failure and a prescribed target of
// 88-92 %; it is a clinician's setting for the patient, not a measurement.
enum class Spo2Scale { kScale1, kScale2 };

enum class Oxygen { kAir, kSupplemental };

// ACVPU. Any level but alert scores 3; C is new confusion (previously normal mental state).
enum class Consciousness { kAlert, kNewConfusion, kVoice, kPain, kUnresponsive };

// Parses one of "A", "C", "V", "P", "U" (upper case only); anything else is InvalidArgument
// "consciousness: 'Z' is not one of A, C, V, P, U".
absl::StatusOr<Consciousness> ParseAcvpu(absl::string_view letter);

// One set of observations; an empty field is a parameter not observed.
struct News2Observation {
  std::optional<double> respiratory_rate_per_min = std::nullopt;
  std::optional<double> spo2_percent = std::nullopt;
  std::optional<Oxygen> oxygen = std::nullopt;
  std::optional<double> systolic_mmhg = std::nullopt;
  std::optional<double> heart_rate_bpm = std::nullopt;
  std::optional<Consciousness> consciousness = std::nullopt;
  std::optional<double> temperature_c = std::nullopt;
};

// RCP 2017 clinical risk: low (aggregate 0-4), low-medium (a single parameter scoring 3 with an
// aggregate of 0-4), medium (5-6), high (7 or more). Ordered from least to most urgent.
enum class News2Risk { kLow, kLowMedium, kMedium, kHigh };

// "low", "low-medium", "medium", "high".
absl::string_view News2RiskName(News2Risk r);

struct News2Component {
  News2Parameter parameter;
  int points;
};

struct News2Result {
  // Sum of the components present; a lower bound of the full score when `partial`.
  int score = 0;
  // Band of `score` (with the single-parameter-3 rule); a lower bound when `partial`.
  News2Risk risk = News2Risk::kLow;
  bool partial = false;
  // Parameters not observed, in chart order; not scored.
  std::vector<News2Parameter> missing;
  // Points of each parameter present, in chart order.
  std::vector<News2Component> components;
  // True when, on scale 2 with the oxygen status unknown, an SpO2 of 93 % or more was scored
  // as if on air (0 points). On oxygen it would score 1-3, so this too is a lower bound.
  bool spo2_scored_as_on_air = false;
};

// Scores `obs` on the SpO2 scale `scale`. InvalidArgument for an impossible value (see above).
absl::StatusOr<News2Result> ScoreNews2(const News2Observation& obs, Spo2Scale scale);

}  // namespace healthtwin::models::scores
