#include "models/scores/news2.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <ostream>
#include <string>

namespace healthtwin::models::scores {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using P = News2Parameter;

// A complete set of observations that scores 0 on every row.
News2Observation Normal() {
  return {.respiratory_rate_per_min = 16,
          .spo2_percent = 98,
          .oxygen = Oxygen::kAir,
          .systolic_mmhg = 120,
          .heart_rate_bpm = 70,
          .consciousness = Consciousness::kAlert,
          .temperature_c = 37.0};
}

// Points of `p` in the scored result; fails the test when absent.
int PointsOf(const News2Result& r, P p) {
  for (const News2Component& c : r.components) {
    if (c.parameter == p) return c.points;
  }
  ADD_FAILURE() << News2ParameterName(p) << " not among the components";
  return -1;
}

// ---- Chart 1, both sides of every band edge. One case per value, named for what it checks.

struct Edge {
  const char* name;  // test name suffix
  P parameter;
  double value;
  Spo2Scale scale;
  Oxygen oxygen;
  int points;
};

// Keeps CTest's names readable (gtest would print the bytes).
void PrintTo(const Edge& e, std::ostream* os) { *os << e.name; }

class News2EdgeTest : public ::testing::TestWithParam<Edge> {};

TEST_P(News2EdgeTest, ScoresChartPoints) {
  const Edge& e = GetParam();
  News2Observation obs = Normal();
  obs.oxygen = e.oxygen;
  switch (e.parameter) {
    case P::kRespiratoryRate:
      obs.respiratory_rate_per_min = e.value;
      break;
    case P::kSpo2:
      obs.spo2_percent = e.value;
      break;
    case P::kSystolic:
      obs.systolic_mmhg = e.value;
      break;
    case P::kHeartRate:
      obs.heart_rate_bpm = e.value;
      break;
    case P::kTemperature:
      obs.temperature_c = e.value;
      break;
    default:
      FAIL() << "not a measured row";
  }
  absl::StatusOr<News2Result> r = ScoreNews2(obs, e.scale);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(PointsOf(*r, e.parameter), e.points);
}

std::string EdgeName(const ::testing::TestParamInfo<Edge>& edge) { return edge.param.name; }

constexpr Spo2Scale k1 = Spo2Scale::kScale1;
constexpr Spo2Scale k2 = Spo2Scale::kScale2;
constexpr Oxygen kAir = Oxygen::kAir;
constexpr Oxygen kO2 = Oxygen::kSupplemental;

INSTANTIATE_TEST_SUITE_P(RespiratoryRate, News2EdgeTest,
                         ::testing::Values(Edge{"Of8ScoresThree", P::kRespiratoryRate, 8, k1, kAir, 3},
                                           Edge{"Of9ScoresOne", P::kRespiratoryRate, 9, k1, kAir, 1},
                                           Edge{"Of11ScoresOne", P::kRespiratoryRate, 11, k1, kAir, 1},
                                           Edge{"Of12ScoresZero", P::kRespiratoryRate, 12, k1, kAir, 0},
                                           Edge{"Of20ScoresZero", P::kRespiratoryRate, 20, k1, kAir, 0},
                                           Edge{"Of21ScoresTwo", P::kRespiratoryRate, 21, k1, kAir, 2},
                                           Edge{"Of24ScoresTwo", P::kRespiratoryRate, 24, k1, kAir, 2},
                                           Edge{"Of25ScoresThree", P::kRespiratoryRate, 25, k1, kAir, 3}),
                         EdgeName);

INSTANTIATE_TEST_SUITE_P(Spo2Scale1, News2EdgeTest,
                         ::testing::Values(Edge{"Of91ScoresThree", P::kSpo2, 91, k1, kAir, 3},
                                           Edge{"Of92ScoresTwo", P::kSpo2, 92, k1, kAir, 2},
                                           Edge{"Of93ScoresTwo", P::kSpo2, 93, k1, kAir, 2},
                                           Edge{"Of94ScoresOne", P::kSpo2, 94, k1, kAir, 1},
                                           Edge{"Of95ScoresOne", P::kSpo2, 95, k1, kAir, 1},
                                           Edge{"Of96ScoresZero", P::kSpo2, 96, k1, kAir, 0},
                                           Edge{"Of100ScoresZero", P::kSpo2, 100, k1, kAir, 0},
                                           // Scale 1 SpO2 points do not depend on oxygen.
                                           Edge{"Of96OnOxygenScoresZero", P::kSpo2, 96, k1, kO2, 0}),
                         EdgeName);

INSTANTIATE_TEST_SUITE_P(Spo2Scale2, News2EdgeTest,
                         ::testing::Values(Edge{"Of83OnAirScoresThree", P::kSpo2, 83, k2, kAir, 3},
                                           Edge{"Of84OnAirScoresTwo", P::kSpo2, 84, k2, kAir, 2},
                                           Edge{"Of85OnAirScoresTwo", P::kSpo2, 85, k2, kAir, 2},
                                           Edge{"Of86OnAirScoresOne", P::kSpo2, 86, k2, kAir, 1},
                                           Edge{"Of87OnAirScoresOne", P::kSpo2, 87, k2, kAir, 1},
                                           Edge{"Of88OnAirScoresZero", P::kSpo2, 88, k2, kAir, 0},
                                           Edge{"Of92OnAirScoresZero", P::kSpo2, 92, k2, kAir, 0},
                                           Edge{"Of93OnAirScoresZero", P::kSpo2, 93, k2, kAir, 0},
                                           Edge{"Of100OnAirScoresZero", P::kSpo2, 100, k2, kAir, 0},
                                           Edge{"Of83OnOxygenScoresThree", P::kSpo2, 83, k2, kO2, 3},
                                           Edge{"Of84OnOxygenScoresTwo", P::kSpo2, 84, k2, kO2, 2},
                                           Edge{"Of85OnOxygenScoresTwo", P::kSpo2, 85, k2, kO2, 2},
                                           Edge{"Of86OnOxygenScoresOne", P::kSpo2, 86, k2, kO2, 1},
                                           Edge{"Of87OnOxygenScoresOne", P::kSpo2, 87, k2, kO2, 1},
                                           Edge{"Of88OnOxygenScoresZero", P::kSpo2, 88, k2, kO2, 0},
                                           Edge{"Of92OnOxygenScoresZero", P::kSpo2, 92, k2, kO2, 0},
                                           Edge{"Of93OnOxygenScoresOne", P::kSpo2, 93, k2, kO2, 1},
                                           Edge{"Of94OnOxygenScoresOne", P::kSpo2, 94, k2, kO2, 1},
                                           Edge{"Of95OnOxygenScoresTwo", P::kSpo2, 95, k2, kO2, 2},
                                           Edge{"Of96OnOxygenScoresTwo", P::kSpo2, 96, k2, kO2, 2},
                                           Edge{"Of97OnOxygenScoresThree", P::kSpo2, 97, k2, kO2, 3},
                                           Edge{"Of100OnOxygenScoresThree", P::kSpo2, 100, k2, kO2, 3}),
                         EdgeName);

INSTANTIATE_TEST_SUITE_P(Systolic, News2EdgeTest,
                         ::testing::Values(Edge{"Of90ScoresThree", P::kSystolic, 90, k1, kAir, 3},
                                           Edge{"Of91ScoresTwo", P::kSystolic, 91, k1, kAir, 2},
                                           Edge{"Of100ScoresTwo", P::kSystolic, 100, k1, kAir, 2},
                                           Edge{"Of101ScoresOne", P::kSystolic, 101, k1, kAir, 1},
                                           Edge{"Of110ScoresOne", P::kSystolic, 110, k1, kAir, 1},
                                           Edge{"Of111ScoresZero", P::kSystolic, 111, k1, kAir, 0},
                                           Edge{"Of219ScoresZero", P::kSystolic, 219, k1, kAir, 0},
                                           Edge{"Of220ScoresThree", P::kSystolic, 220, k1, kAir, 3}),
                         EdgeName);

INSTANTIATE_TEST_SUITE_P(HeartRate, News2EdgeTest,
                         ::testing::Values(Edge{"Of40ScoresThree", P::kHeartRate, 40, k1, kAir, 3},
                                           Edge{"Of41ScoresOne", P::kHeartRate, 41, k1, kAir, 1},
                                           Edge{"Of50ScoresOne", P::kHeartRate, 50, k1, kAir, 1},
                                           Edge{"Of51ScoresZero", P::kHeartRate, 51, k1, kAir, 0},
                                           Edge{"Of90ScoresZero", P::kHeartRate, 90, k1, kAir, 0},
                                           Edge{"Of91ScoresOne", P::kHeartRate, 91, k1, kAir, 1},
                                           Edge{"Of110ScoresOne", P::kHeartRate, 110, k1, kAir, 1},
                                           Edge{"Of111ScoresTwo", P::kHeartRate, 111, k1, kAir, 2},
                                           Edge{"Of130ScoresTwo", P::kHeartRate, 130, k1, kAir, 2},
                                           Edge{"Of131ScoresThree", P::kHeartRate, 131, k1, kAir, 3}),
                         EdgeName);

INSTANTIATE_TEST_SUITE_P(Temperature, News2EdgeTest,
                         ::testing::Values(Edge{"Of35p0ScoresThree", P::kTemperature, 35.0, k1, kAir, 3},
                                           Edge{"Of35p1ScoresOne", P::kTemperature, 35.1, k1, kAir, 1},
                                           Edge{"Of36p0ScoresOne", P::kTemperature, 36.0, k1, kAir, 1},
                                           Edge{"Of36p1ScoresZero", P::kTemperature, 36.1, k1, kAir, 0},
                                           Edge{"Of38p0ScoresZero", P::kTemperature, 38.0, k1, kAir, 0},
                                           Edge{"Of38p1ScoresOne", P::kTemperature, 38.1, k1, kAir, 1},
                                           Edge{"Of39p0ScoresOne", P::kTemperature, 39.0, k1, kAir, 1},
                                           Edge{"Of39p1ScoresTwo", P::kTemperature, 39.1, k1, kAir, 2}),
                         EdgeName);

// Values between the chart's steps are rounded to its resolution, half away from zero.
INSTANTIATE_TEST_SUITE_P(Rounding, News2EdgeTest,
                         ::testing::Values(Edge{"HeartRate90p4ScoresAs90", P::kHeartRate, 90.4, k1, kAir, 0},
                                           Edge{"HeartRate90p5ScoresAs91", P::kHeartRate, 90.5, k1, kAir, 1},
                                           Edge{"Spo2Of95p5ScoresAs96", P::kSpo2, 95.5, k1, kAir, 0},
                                           Edge{"Temperature35p04ScoresAs35p0", P::kTemperature, 35.04, k1, kAir, 3},
                                           Edge{"Temperature35p06ScoresAs35p1", P::kTemperature, 35.06, k1, kAir, 1},
                                           Edge{"Temperature38p04ScoresAs38p0", P::kTemperature, 38.04, k1, kAir, 0}),
                         EdgeName);

// ---- Air or oxygen, consciousness.

TEST(News2Test, AirScoresZero) {
  absl::StatusOr<News2Result> r = ScoreNews2(Normal(), Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PointsOf(*r, P::kOxygen), 0);
}

TEST(News2Test, SupplementalOxygenScoresTwo) {
  News2Observation obs = Normal();
  obs.oxygen = Oxygen::kSupplemental;
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PointsOf(*r, P::kOxygen), 2);
  EXPECT_EQ(r->score, 2);
}

TEST(News2Test, AlertScoresZero) {
  absl::StatusOr<News2Result> r = ScoreNews2(Normal(), Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PointsOf(*r, P::kConsciousness), 0);
}

TEST(News2Test, NewConfusionVoicePainAndUnresponsiveEachScoreThree) {
  for (Consciousness c :
       {Consciousness::kNewConfusion, Consciousness::kVoice, Consciousness::kPain, Consciousness::kUnresponsive}) {
    News2Observation obs = Normal();
    obs.consciousness = c;
    absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(PointsOf(*r, P::kConsciousness), 3) << static_cast<int>(c);
  }
}

TEST(News2Test, ParsesEachAcvpuLetter) {
  EXPECT_EQ(ParseAcvpu("A").value(), Consciousness::kAlert);
  EXPECT_EQ(ParseAcvpu("C").value(), Consciousness::kNewConfusion);
  EXPECT_EQ(ParseAcvpu("V").value(), Consciousness::kVoice);
  EXPECT_EQ(ParseAcvpu("P").value(), Consciousness::kPain);
  EXPECT_EQ(ParseAcvpu("U").value(), Consciousness::kUnresponsive);
}

// ---- Aggregate risk.

News2Risk RiskOf(const News2Observation& obs) {
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  EXPECT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->partial);
  return r.ok() ? r->risk : News2Risk::kHigh;
}

TEST(News2Test, AggregateZeroIsLow) { EXPECT_EQ(RiskOf(Normal()), News2Risk::kLow); }

TEST(News2Test, AggregateFourWithoutAThreeIsLow) {
  News2Observation obs = Normal();
  obs.heart_rate_bpm = 115;           // 2
  obs.respiratory_rate_per_min = 22;  // 2
  EXPECT_EQ(RiskOf(obs), News2Risk::kLow);
}

TEST(News2Test, SingleThreeWithAggregateThreeIsLowMedium) {
  News2Observation obs = Normal();
  obs.consciousness = Consciousness::kNewConfusion;
  EXPECT_EQ(RiskOf(obs), News2Risk::kLowMedium);
}

TEST(News2Test, SingleThreeWithAggregateFourIsLowMedium) {
  News2Observation obs = Normal();
  obs.systolic_mmhg = 88;    // 3
  obs.temperature_c = 38.5;  // 1
  EXPECT_EQ(RiskOf(obs), News2Risk::kLowMedium);
}

TEST(News2Test, AggregateFiveIsMedium) {
  News2Observation obs = Normal();
  obs.oxygen = Oxygen::kSupplemental;  // 2
  obs.spo2_percent = 94;               // 1
  obs.heart_rate_bpm = 115;            // 2
  EXPECT_EQ(RiskOf(obs), News2Risk::kMedium);
}

TEST(News2Test, AggregateFiveWithAThreeIsMediumNotLowMedium) {
  News2Observation obs = Normal();
  obs.heart_rate_bpm = 135;           // 3
  obs.respiratory_rate_per_min = 22;  // 2
  EXPECT_EQ(RiskOf(obs), News2Risk::kMedium);
}

TEST(News2Test, AggregateSixIsMedium) {
  News2Observation obs = Normal();
  obs.heart_rate_bpm = 115;           // 2
  obs.respiratory_rate_per_min = 22;  // 2
  obs.systolic_mmhg = 95;             // 2
  EXPECT_EQ(RiskOf(obs), News2Risk::kMedium);
}

TEST(News2Test, AggregateSevenIsHigh) {
  News2Observation obs = Normal();
  obs.heart_rate_bpm = 135;           // 3
  obs.respiratory_rate_per_min = 22;  // 2
  obs.systolic_mmhg = 95;             // 2
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->score, 7);
  EXPECT_EQ(r->risk, News2Risk::kHigh);
}

TEST(News2Test, RiskNamesAreTheChartsWords) {
  EXPECT_EQ(News2RiskName(News2Risk::kLow), "low");
  EXPECT_EQ(News2RiskName(News2Risk::kLowMedium), "low-medium");
  EXPECT_EQ(News2RiskName(News2Risk::kMedium), "medium");
  EXPECT_EQ(News2RiskName(News2Risk::kHigh), "high");
}

// ---- Partial results.

TEST(News2Test, CompleteObservationIsNotPartial) {
  absl::StatusOr<News2Result> r = ScoreNews2(Normal(), Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->partial);
  EXPECT_TRUE(r->missing.empty());
  EXPECT_EQ(r->components.size(), 7u);
}

TEST(News2Test, WearableSetIsPartialAndListsMissingInChartOrder) {
  const News2Observation obs{.spo2_percent = 94, .heart_rate_bpm = 115, .temperature_c = 38.5};
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->partial);
  EXPECT_THAT(r->missing, ElementsAre(P::kRespiratoryRate, P::kOxygen, P::kSystolic, P::kConsciousness));
  ASSERT_EQ(r->components.size(), 3u);
  EXPECT_EQ(r->components[0].parameter, P::kSpo2);
  EXPECT_EQ(r->components[1].parameter, P::kHeartRate);
  EXPECT_EQ(r->components[2].parameter, P::kTemperature);
  EXPECT_EQ(r->score, 1 + 2 + 1);  // the sum of what is present: a lower bound
  EXPECT_EQ(r->risk, News2Risk::kLow);
}

TEST(News2Test, NothingObservedIsPartialWithEveryParameterMissing) {
  absl::StatusOr<News2Result> r = ScoreNews2(News2Observation{}, Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->partial);
  EXPECT_EQ(r->score, 0);
  EXPECT_EQ(r->missing.size(), 7u);
  EXPECT_TRUE(r->components.empty());
}

TEST(News2Test, PartialWithAThreeIsAtLeastLowMedium) {
  const News2Observation obs{.heart_rate_bpm = 135};
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->partial);
  EXPECT_EQ(r->risk, News2Risk::kLowMedium);
}

TEST(News2Test, PartialCanAlreadyBeHigh) {
  const News2Observation obs{.spo2_percent = 90, .systolic_mmhg = 85, .heart_rate_bpm = 135};
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->partial);
  EXPECT_EQ(r->score, 9);
  EXPECT_EQ(r->risk, News2Risk::kHigh);
}

TEST(News2Test, Scale2WithOxygenUnknownScoresHighSpo2AsOnAirAndSaysSo) {
  const News2Observation obs{.spo2_percent = 97};
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PointsOf(*r, P::kSpo2), 0);
  EXPECT_TRUE(r->spo2_scored_as_on_air);
  EXPECT_THAT(r->missing, ::testing::Contains(P::kOxygen));
}

TEST(News2Test, Scale2WithOxygenUnknownBelow93NeedsNoAssumption) {
  const News2Observation obs{.spo2_percent = 92};
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(PointsOf(*r, P::kSpo2), 0);
  EXPECT_FALSE(r->spo2_scored_as_on_air);
}

TEST(News2Test, Scale1WithOxygenUnknownNeedsNoAssumption) {
  const News2Observation obs{.spo2_percent = 97};
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->spo2_scored_as_on_air);
}

// ---- Impossible inputs.

void ExpectInvalid(const News2Observation& obs, const std::string& message_part) {
  absl::StatusOr<News2Result> r = ScoreNews2(obs, Spo2Scale::kScale1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr(message_part));
}

TEST(News2Test, RejectsNegativeHeartRate) { ExpectInvalid({.heart_rate_bpm = -5}, "heart_rate: -5 is below 0"); }

TEST(News2Test, RejectsSpo2Above100) { ExpectInvalid({.spo2_percent = 140}, "spo2: 140 is above 100"); }

TEST(News2Test, RejectsNegativeSpo2) { ExpectInvalid({.spo2_percent = -1}, "spo2: -1 is below 0"); }

TEST(News2Test, RejectsNegativeRespiratoryRate) {
  ExpectInvalid({.respiratory_rate_per_min = -2}, "respiratory_rate: -2 is below 0");
}

TEST(News2Test, RejectsNegativeSystolic) { ExpectInvalid({.systolic_mmhg = -10}, "systolic: -10 is below 0"); }

TEST(News2Test, RejectsTemperatureNoLivingPatientHas) {
  ExpectInvalid({.temperature_c = 5}, "temperature: 5 is below 10");
}

TEST(News2Test, RejectsNotANumber) {
  ExpectInvalid({.respiratory_rate_per_min = std::nan("")}, "respiratory_rate: nan is not a number");
}

TEST(News2Test, RejectsInfinity) {
  ExpectInvalid({.temperature_c = std::numeric_limits<double>::infinity()}, "temperature: inf is not a number");
}

TEST(News2Test, RejectsConsciousnessLetterOutsideAcvpu) {
  absl::StatusOr<Consciousness> c = ParseAcvpu("Z");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(), "consciousness: 'Z' is not one of A, C, V, P, U");
}

TEST(News2Test, RejectsLowerCaseAndEmptyConsciousness) {
  EXPECT_FALSE(ParseAcvpu("a").ok());
  EXPECT_FALSE(ParseAcvpu("").ok());
  EXPECT_FALSE(ParseAcvpu("AV").ok());
}

}  // namespace
}  // namespace healthtwin::models::scores
