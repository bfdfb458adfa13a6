// Every threshold rule at every device cadence: a 1 Hz chest strap, a watch once a minute, an
// oximeter every 5 min, a spot-check device three times a day. For each: a sustained
// condition fires (unless the cadence is beyond the rule's staleness limit, where a value is
// too old to say anything about now), a value exactly at the threshold never fires, and one
// spike among normal values never fires.
#include <gtest/gtest.h>

#include "services/alerts/rules/test_support.h"

namespace healthtwin::alerts::rules {
namespace {

using namespace testing;  // NOLINT: helpers and time units

struct RuleCase {
  const char* rule;
  int type;
  double beyond, at, normal;
};

const RuleCase kRules[] = {
    {"hr_high", kHeartRate, 130, 120, 80},
    {"hr_low", kHeartRate, 35, 41, 80},
    {"sbp_high", kSystolicBp, 190, 179, 125},
    {"sbp_low", kSystolicBp, 85, 91, 125},
    {"spo2_low", kSpo2, 89, 92, 97},
    {"temp_high", kBodyTemperature, 38.6, 38.0, 36.8},
    {"temp_low", kBodyTemperature, 34.8, 35.05, 36.8},
};

struct Cadence {
  const char* name;
  int64_t every_us;
};

const Cadence kCadences[] = {
    {"strap_1hz", kS}, {"watch_1min", kMin}, {"oximeter_5min", 5 * kMin}, {"spot_3_a_day", 8 * kHour}};

// Whether a sustained condition can be seen at all at this cadence: the gap between samples
// must be within the rule's staleness limit (heart rate 15 min, SpO2 30 min).
bool Visible(const RuleCase& r, const Cadence& c) {
  if (c.every_us <= 5 * kMin) return true;
  return r.type == kSystolicBp || r.type == kBodyTemperature;
}

class CadenceTest : public ::testing::TestWithParam<std::tuple<RuleCase, Cadence>> {
 protected:
  // Two hours of samples (at least three) at the cadence, values from `value(i)`.
  template <typename F>
  Observation Run(F value) {
    const auto& [r, c] = GetParam();
    const int n = static_cast<int>(std::max<int64_t>(3, 2 * kHour / c.every_us + 1));
    std::vector<VitalPoint> v;
    Append(v, r.type, "dev", kT0, c.every_us, n, value);
    return Verdict(v, kT0 + (n - 1) * c.every_us, r.rule);
  }
};

TEST_P(CadenceTest, SustainedConditionFires) {
  const auto& [r, c] = GetParam();
  const Observation o = Run([&](int) { return r.beyond; });
  EXPECT_EQ(o.active, Visible(r, c)) << o.summary;
  if (o.active) {
    EXPECT_EQ(o.condition_started_us, kT0);
  }
}

TEST_P(CadenceTest, AtThresholdNeverFires) {
  const auto& [r, c] = GetParam();
  EXPECT_FALSE(Run([&](int) { return r.at; }).active);
}

TEST_P(CadenceTest, OneSpikeNeverFires) {
  const auto& [r, c] = GetParam();
  EXPECT_FALSE(Run([&](int i) { return i == 1 ? r.beyond : r.normal; }).active);
}

INSTANTIATE_TEST_SUITE_P(AllThresholdRules, CadenceTest,
                         ::testing::Combine(::testing::ValuesIn(kRules), ::testing::ValuesIn(kCadences)),
                         [](const auto& test_param) {
                           return std::string(std::get<0>(test_param.param).rule) + "_" +
                                  std::get<1>(test_param.param).name;
                         });

}  // namespace
}  // namespace healthtwin::alerts::rules
