#include "models/scores/news2.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <span>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::models::scores {
namespace {

// One cell of a chart row: every value up to and including `max` (after the previous band)
// scores `points`.
struct Band {
  int max;
  int points;
};

// Royal College of Physicians. National Early Warning Score (NEWS) 2: Standardising the
// assessment of acute-illness severity in the NHS. Updated report of a working party.
// London: RCP, 2017. Chart 1: The NEWS scoring system. Thresholds copied cell by cell; the
// tests cover both sides of every edge.
//
// Respiration rate (per minute): <=8 3, 9-11 1, 12-20 0, 21-24 2, >=25 3.
constexpr Band kRespiratoryRate[] = {{8, 3}, {11, 1}, {20, 0}, {24, 2}, {INT_MAX, 3}};
// SpO2 scale 1 (%): <=91 3, 92-93 2, 94-95 1, >=96 0.
constexpr Band kSpo2Scale1[] = {{91, 3}, {93, 2}, {95, 1}, {INT_MAX, 0}};
// SpO2 scale 2 (%): <=83 3, 84-85 2, 86-87 1, 88-92 0, >=93 on air 0, ...
constexpr Band kSpo2Scale2OnAir[] = {{83, 3}, {85, 2}, {87, 1}, {INT_MAX, 0}};
// ... 93-94 on oxygen 1, 95-96 on oxygen 2, >=97 on oxygen 3.
constexpr Band kSpo2Scale2OnOxygen[] = {{83, 3}, {85, 2}, {87, 1}, {92, 0}, {94, 1}, {96, 2}, {INT_MAX, 3}};
// Air or oxygen: oxygen 2, air 0.
constexpr int kSupplementalOxygenPoints = 2;
// Systolic blood pressure (mmHg): <=90 3, 91-100 2, 101-110 1, 111-219 0, >=220 3.
constexpr Band kSystolic[] = {{90, 3}, {100, 2}, {110, 1}, {219, 0}, {INT_MAX, 3}};
// Pulse (per minute): <=40 3, 41-50 1, 51-90 0, 91-110 1, 111-130 2, >=131 3.
constexpr Band kHeartRate[] = {{40, 3}, {50, 1}, {90, 0}, {110, 1}, {130, 2}, {INT_MAX, 3}};
// Consciousness: alert 0, CVPU 3.
constexpr int kNotAlertPoints = 3;
// Temperature (C, in tenths): <=35.0 3, 35.1-36.0 1, 36.1-38.0 0, 38.1-39.0 1, >=39.1 2.
constexpr Band kTemperatureTenths[] = {{350, 3}, {360, 1}, {380, 0}, {390, 1}, {INT_MAX, 2}};
// SpO2 on scale 2 at or above this scores differently on air and on oxygen.
constexpr int kScale2OxygenMattersFromPercent = 93;

// Values outside these cannot come from a living patient or a working sensor (SpO2 is a
// fraction; the temperatures are beyond the lowest and highest ever survived, 13.7 and
// 46.5 C). Anything inside is scored, however unusual: flagging artefacts is ingest's job.
struct Possible {
  double min;
  double max;
};
constexpr Possible kPossibleRespiratoryRate{0, 150};
constexpr Possible kPossibleSpo2{0, 100};
constexpr Possible kPossibleSystolic{0, 400};
constexpr Possible kPossibleHeartRate{0, 350};
constexpr Possible kPossibleTemperature{10, 50};

absl::Status CheckPossible(News2Parameter p, double value, Possible range) {
  const absl::string_view name = News2ParameterName(p);
  if (!std::isfinite(value)) return absl::InvalidArgumentError(absl::StrCat(name, ": ", value, " is not a number"));
  if (value < range.min) return absl::InvalidArgumentError(absl::StrCat(name, ": ", value, " is below ", range.min));
  if (value > range.max) return absl::InvalidArgumentError(absl::StrCat(name, ": ", value, " is above ", range.max));
  return absl::OkStatus();
}

int PointsOf(std::span<const Band> bands, int value) {
  for (const Band& b : bands) {
    if (value <= b.max) return b.points;
  }
  return bands.back().points;  // unreachable: the last band ends at INT_MAX
}

// Rounds to the chart's resolution: `units_per_one` steps per unit (10 for temperature).
int ToChartUnits(double value, int units_per_one) { return static_cast<int>(std::lround(value * units_per_one)); }

// One measured chart row: the observation, what is possible, and its bands.
struct MeasuredRow {
  News2Parameter parameter;
  const std::optional<double>& value;
  Possible possible;
  int units_per_one;  // the chart's resolution: 10 for temperature's tenths
  std::span<const Band> bands;
};

// The row's points; nullopt when it was not observed.
absl::StatusOr<std::optional<int>> PointsOf(const MeasuredRow& row) {
  if (!row.value.has_value()) return std::nullopt;
  if (absl::Status s = CheckPossible(row.parameter, *row.value, row.possible); !s.ok()) return s;
  return PointsOf(row.bands, ToChartUnits(*row.value, row.units_per_one));
}

News2Risk RiskOf(int score, bool any_parameter_scored_three) {
  if (score >= 7) return News2Risk::kHigh;
  if (score >= 5) return News2Risk::kMedium;
  if (any_parameter_scored_three) return News2Risk::kLowMedium;
  return News2Risk::kLow;
}

}  // namespace

absl::string_view News2ParameterName(News2Parameter p) {
  switch (p) {
    case News2Parameter::kRespiratoryRate:
      return "respiratory_rate";
    case News2Parameter::kSpo2:
      return "spo2";
    case News2Parameter::kOxygen:
      return "oxygen";
    case News2Parameter::kSystolic:
      return "systolic";
    case News2Parameter::kHeartRate:
      return "heart_rate";
    case News2Parameter::kConsciousness:
      return "consciousness";
    case News2Parameter::kTemperature:
      return "temperature";
  }
  return "unknown";
}

absl::string_view News2RiskName(News2Risk r) {
  switch (r) {
    case News2Risk::kLow:
      return "low";
    case News2Risk::kLowMedium:
      return "low-medium";
    case News2Risk::kMedium:
      return "medium";
    case News2Risk::kHigh:
      return "high";
  }
  return "unknown";
}

absl::StatusOr<Consciousness> ParseAcvpu(absl::string_view letter) {
  if (letter == "A") return Consciousness::kAlert;
  if (letter == "C") return Consciousness::kNewConfusion;
  if (letter == "V") return Consciousness::kVoice;
  if (letter == "P") return Consciousness::kPain;
  if (letter == "U") return Consciousness::kUnresponsive;
  return absl::InvalidArgumentError(absl::StrCat("consciousness: '", letter, "' is not one of A, C, V, P, U"));
}

absl::StatusOr<News2Result> ScoreNews2(const News2Observation& obs, Spo2Scale scale) {
  // Unknown oxygen on scale 2 is scored as air: the smallest SpO2 points it could be.
  std::span<const Band> spo2_bands = kSpo2Scale1;
  if (scale == Spo2Scale::kScale2) {
    spo2_bands = obs.oxygen == Oxygen::kSupplemental ? std::span<const Band>(kSpo2Scale2OnOxygen)
                                                     : std::span<const Band>(kSpo2Scale2OnAir);
  }
  const MeasuredRow rows[] = {
      {News2Parameter::kRespiratoryRate, obs.respiratory_rate_per_min, kPossibleRespiratoryRate, 1, kRespiratoryRate},
      {News2Parameter::kSpo2, obs.spo2_percent, kPossibleSpo2, 1, spo2_bands},
      {News2Parameter::kSystolic, obs.systolic_mmhg, kPossibleSystolic, 1, kSystolic},
      {News2Parameter::kHeartRate, obs.heart_rate_bpm, kPossibleHeartRate, 1, kHeartRate},
      {News2Parameter::kTemperature, obs.temperature_c, kPossibleTemperature, 10, kTemperatureTenths},
  };
  News2Result r;
  const auto record = [&r](News2Parameter p, std::optional<int> points) {
    if (points.has_value()) {
      r.components.push_back({p, *points});
    } else {
      r.missing.push_back(p);
    }
  };
  for (const MeasuredRow& row : rows) {
    absl::StatusOr<std::optional<int>> points = PointsOf(row);
    if (!points.ok()) return points.status();
    record(row.parameter, *points);
  }
  std::optional<int> oxygen_points;
  if (obs.oxygen.has_value()) oxygen_points = *obs.oxygen == Oxygen::kSupplemental ? kSupplementalOxygenPoints : 0;
  record(News2Parameter::kOxygen, oxygen_points);
  std::optional<int> consciousness_points;
  if (obs.consciousness.has_value())
    consciousness_points = *obs.consciousness == Consciousness::kAlert ? 0 : kNotAlertPoints;
  record(News2Parameter::kConsciousness, consciousness_points);

  r.spo2_scored_as_on_air = scale == Spo2Scale::kScale2 && !obs.oxygen.has_value() && obs.spo2_percent.has_value() &&
                            ToChartUnits(*obs.spo2_percent, 1) >= kScale2OxygenMattersFromPercent;
  // Chart order, so output reads like the chart whatever order the rows were scored in.
  std::sort(r.components.begin(), r.components.end(),
            [](const News2Component& a, const News2Component& b) { return a.parameter < b.parameter; });
  std::sort(r.missing.begin(), r.missing.end());
  bool any_three = false;
  for (const News2Component& c : r.components) {
    r.score += c.points;
    any_three = any_three || c.points == 3;
  }
  r.partial = !r.missing.empty();
  r.risk = RiskOf(r.score, any_three);
  return r;
}

}  // namespace healthtwin::models::scores
