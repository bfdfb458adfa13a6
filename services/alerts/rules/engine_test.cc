#include "services/alerts/rules/engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "services/alerts/rules/test_support.h"

namespace healthtwin::alerts::rules {
namespace {

using namespace testing;  // NOLINT: helpers and time units
using ::testing::ElementsAre;
using ::testing::HasSubstr;

auto Const(double v) {
  return [v](int) { return v; };
}

// --- rule selection ---

bool OnlyThresholds(RuleKind k) { return k == RuleKind::kThresholdHigh || k == RuleKind::kThresholdLow; }

// Evaluating a subset of the rules gives each of them the verdict the full evaluation gives.
TEST(RuleEngineTest, ASubsetOfRulesGetsTheSameVerdictsAsTheFullEvaluation) {
  const RuleEngine engine = ShippedEngine();
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "strap", kT0, kS, 900, [](int i) { return i < 200 ? 80.0 : 130.0; });
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 3, Const(89));
  SortByTime(v);
  PatientInputs in;
  in.patient_id = "pat-0001";
  in.vitals = v;
  const std::vector<Observation> all = engine.Evaluate(in, kT0 + 899 * kS);
  const std::vector<Observation> some = engine.Evaluate(in, kT0 + 899 * kS, OnlyThresholds);
  std::vector<std::string> expected_ids;
  for (const Observation& o : all) {
    const RuleSpec* spec = engine.catalogue().Find(o.rule_id);
    if (spec != nullptr && OnlyThresholds(spec->kind)) expected_ids.push_back(o.rule_id);
  }
  ASSERT_EQ(some.size(), expected_ids.size());
  ASSERT_GE(some.size(), 4u);
  bool any_active = false;
  for (size_t i = 0; i < some.size(); ++i) {
    EXPECT_EQ(some[i].rule_id, expected_ids[i]);
    const Observation& full = Find(all, some[i].rule_id);
    EXPECT_EQ(some[i].active, full.active) << some[i].rule_id;
    EXPECT_EQ(some[i].condition_started_us, full.condition_started_us) << some[i].rule_id;
    EXPECT_EQ(some[i].observed_us, full.observed_us) << some[i].rule_id;
    EXPECT_EQ(some[i].summary, full.summary) << some[i].rule_id;
    any_active = any_active || some[i].active;
  }
  EXPECT_TRUE(any_active);  // hr_high: 700 s above 120 /min
}

// --- hr_high at every cadence ---

TEST(HrHighTest, WatchOnceAMinute45MinAt128To140Raises) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 45, [](int i) { return 128.0 + (i * 7) % 13; });
  const Observation o = Verdict(v, kT0 + 44 * kMin, "hr_high");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.condition_started_us, kT0);
  EXPECT_EQ(o.priority, Priority::kHigh);  // robust peak above 130
  EXPECT_EQ(o.category, AlarmCategory::kPhysiological);
  EXPECT_THAT(o.summary, HasSubstr("Heart rate above 120 /min for 44 min"));
}

TEST(HrHighTest, StrapAt1HzRaisesAfterTenMinutesNotBefore) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "strap", kT0, kS, 601, Const(125));
  EXPECT_FALSE(Verdict(v, kT0 + 599 * kS, "hr_high").active);
  const Observation o = Verdict(v, kT0 + 600 * kS, "hr_high");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.priority, Priority::kMedium);
}

TEST(HrHighTest, AtThresholdNeverRaises) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 60, Const(120));
  EXPECT_FALSE(Verdict(v, kT0 + 59 * kMin, "hr_high").active);
}

TEST(HrHighTest, OneSpikeOnStrapDoesNotRaise) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "strap", kT0, kS, 1200, [](int i) { return i == 600 ? 220.0 : 80.0; });
  const Observation o = Verdict(v, kT0 + 1199 * kS, "hr_high");
  EXPECT_FALSE(o.active);
  EXPECT_EQ(o.condition_started_us, 0);
}

TEST(HrHighTest, ContactLostSamplesIgnored) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "strap", kT0, kS, 1200, Const(220), kFlagSensorContactLost);
  EXPECT_FALSE(Verdict(v, kT0 + 1199 * kS, "hr_high").active);
}

TEST(HrHighTest, DevicesAreJudgedApart) {
  // Two devices each 6 min above, interleaved in time: neither run is 10 min.
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 6, Const(130));
  Append(v, kHeartRate, "strap", kT0 + 6 * kMin, kS, 360, Const(130));
  SortByTime(v);
  EXPECT_FALSE(Verdict(v, kT0 + 12 * kMin, "hr_high").active);
}

TEST(HrHighTest, StaleWhenWatchStopsSending) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 20, Const(130));
  EXPECT_TRUE(Verdict(v, kT0 + 19 * kMin + 150 * kS, "hr_high").active);  // within 2.5 x cadence
  const Observation o = Verdict(v, kT0 + 19 * kMin + 151 * kS, "hr_high");
  EXPECT_FALSE(o.active);
  EXPECT_EQ(o.condition_ended_us, kT0 + 19 * kMin);
  EXPECT_THAT(o.summary, HasSubstr("no data"));
}

TEST(HrHighTest, ClearsWithHysteresis) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 15, Const(130));
  Append(v, kHeartRate, "watch", kT0 + 15 * kMin, kMin, 10, Const(117));
  EXPECT_TRUE(Verdict(v, kT0 + 24 * kMin, "hr_high").active);
  Append(v, kHeartRate, "watch", kT0 + 25 * kMin, kMin, 6, Const(100));
  const Observation o = Verdict(v, kT0 + 30 * kMin, "hr_high");
  EXPECT_FALSE(o.active);
  EXPECT_EQ(o.condition_ended_us, kT0 + 25 * kMin);
}

TEST(HrHighTest, PatientOverrideLowersThreshold) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 15, Const(112));
  EXPECT_FALSE(Verdict(v, kT0 + 14 * kMin, "hr_high").active);
  PatientAlertSettings s;
  s.threshold_overrides["hr_high"] = 110;
  EXPECT_TRUE(Verdict(v, kT0 + 14 * kMin, "hr_high", s).active);
}

TEST(HrLowTest, BothSidesOfThreshold) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 10, Const(41));
  EXPECT_FALSE(Verdict(v, kT0 + 9 * kMin, "hr_low").active);
  v.clear();
  Append(v, kHeartRate, "watch", kT0, kMin, 10, Const(38));
  const Observation o = Verdict(v, kT0 + 9 * kMin, "hr_low");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.priority, Priority::kHigh);
}

// --- SpO2: oximeter every 5 min, scale 2 ---

TEST(Spo2LowTest, OximeterEvery5MinRaisesOnSecondLowReading) {
  std::vector<VitalPoint> v;
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 4, [](int i) { return i < 2 ? 97.0 : 90.0; });
  EXPECT_FALSE(Verdict(v, kT0 + 10 * kMin, "spo2_low").active);  // one low reading
  EXPECT_TRUE(Verdict(v, kT0 + 15 * kMin, "spo2_low").active);
}

TEST(Spo2LowTest, Scale2UsesItsTargetRange) {
  std::vector<VitalPoint> v;
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 4, Const(89));
  PatientAlertSettings s2;
  s2.spo2_scale2 = true;
  EXPECT_TRUE(Verdict(v, kT0 + 15 * kMin, "spo2_low").active);
  EXPECT_FALSE(Verdict(v, kT0 + 15 * kMin, "spo2_low", s2).active);  // inside 88-92 %
  v.clear();
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 4, Const(86));
  const Observation o = Verdict(v, kT0 + 15 * kMin, "spo2_low", s2);
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.priority, Priority::kHigh);
}

// --- BP: a cuff three times a day ---

TEST(SbpHighTest, CuffNeedsTwoConsecutiveReadings) {
  std::vector<VitalPoint> v;
  Append(v, kSystolicBp, "cuff", kT0, 8 * kHour, 3, [](int i) { return i == 1 ? 190.0 : 140.0; });
  EXPECT_FALSE(Verdict(v, kT0 + 16 * kHour, "sbp_high").active);  // one high reading between normal ones
  v.clear();
  Append(v, kSystolicBp, "cuff", kT0, 8 * kHour, 3, [](int i) { return i == 0 ? 140.0 : 190.0; });
  const Observation o = Verdict(v, kT0 + 16 * kHour, "sbp_high");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.condition_started_us, kT0 + 8 * kHour);
  EXPECT_EQ(o.peak_value, 190);
}

TEST(SbpHighTest, RepeatReadingMinutesLaterConfirms) {
  std::vector<VitalPoint> v;
  Append(v, kSystolicBp, "cuff", kT0, 2 * kMin, 2, [](int i) { return i == 0 ? 186.0 : 182.0; });
  const Observation o = Verdict(v, kT0 + 2 * kMin, "sbp_high");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.peak_value, 182);  // the lower of two
}

TEST(SbpHighTest, CuffErrorFramesIgnored) {
  std::vector<VitalPoint> v;
  Append(v, kSystolicBp, "cuff", kT0, 8 * kHour, 3, Const(250), kFlagDeviceError);
  EXPECT_FALSE(Verdict(v, kT0 + 16 * kHour, "sbp_high").active);
}

TEST(SbpLowTest, BothSidesOfThreshold) {
  std::vector<VitalPoint> v;
  Append(v, kSystolicBp, "cuff", kT0, 8 * kHour, 2, Const(91));
  EXPECT_FALSE(Verdict(v, kT0 + 8 * kHour, "sbp_low").active);
  v.clear();
  Append(v, kSystolicBp, "cuff", kT0, 8 * kHour, 2, Const(88));
  EXPECT_TRUE(Verdict(v, kT0 + 8 * kHour, "sbp_low").active);
  EXPECT_FALSE(Verdict(v, kT0 + 8 * kHour + 27 * kHour, "sbp_low").active);  // stale after 26 h
}

TEST(SbpDropTest, FortyBelowOwnBaselineOnTwoReadingsRaises) {
  std::vector<VitalPoint> v;
  Append(v, kSystolicBp, "cuff", kT0, 8 * kHour, 18, Const(160));  // six days of baseline
  Append(v, kSystolicBp, "cuff", kT0 + 6 * kDay, 8 * kHour, 1, Const(118));
  EXPECT_FALSE(Verdict(v, kT0 + 6 * kDay, "sbp_drop").active);  // one reading
  Append(v, kSystolicBp, "cuff", kT0 + 6 * kDay + 8 * kHour, 8 * kHour, 1, Const(118));
  const Observation o = Verdict(v, kT0 + 6 * kDay + 8 * kHour, "sbp_drop");
  EXPECT_TRUE(o.active);
  EXPECT_FALSE(Verdict(v, kT0 + 6 * kDay + 8 * kHour, "sbp_low").active);  // 118 is not <= 90
  EXPECT_THAT(o.summary, HasSubstr("baseline 160"));
  v.pop_back();
  Append(v, kSystolicBp, "cuff", kT0 + 6 * kDay + 8 * kHour, 8 * kHour, 1, Const(121));  // 39 below
  EXPECT_FALSE(Verdict(v, kT0 + 6 * kDay + 8 * kHour, "sbp_drop").active);
}

TEST(TemperatureTest, HighAndLowNeedTwoReadings) {
  std::vector<VitalPoint> v;
  Append(v, kBodyTemperature, "thermo", kT0, 4 * kHour, 2, Const(38.4));
  EXPECT_FALSE(Verdict(v, kT0, "temp_high").active);
  EXPECT_TRUE(Verdict(v, kT0 + 4 * kHour, "temp_high").active);
  v.clear();
  Append(v, kBodyTemperature, "thermo", kT0, 4 * kHour, 2, Const(38.0));
  EXPECT_FALSE(Verdict(v, kT0 + 4 * kHour, "temp_high").active);
  v.clear();
  Append(v, kBodyTemperature, "thermo", kT0, 4 * kHour, 2, Const(34.8));
  EXPECT_TRUE(Verdict(v, kT0 + 4 * kHour, "temp_low").active);
}

// --- trends ---

TEST(WeightGainTest, MoreThanTwoKgInThreeDaysRaises) {
  std::vector<VitalPoint> v;
  Append(v, kBodyWeight, "scale", kT0, kDay, 4, [](int i) { return 80.0 + 0.8 * i; });  // +2.4 kg in 3 days
  const Observation o = Verdict(v, kT0 + 3 * kDay, "hf_weight_gain");
  EXPECT_TRUE(o.active);
  EXPECT_NEAR(o.peak_value, 2.4, 1e-9);
  EXPECT_EQ(o.condition_started_us, kT0 + 3 * kDay);
  v.clear();
  Append(v, kBodyWeight, "scale", kT0, kDay, 4, [](int i) { return 80.0 + 0.6 * i; });  // +1.8 kg
  EXPECT_FALSE(Verdict(v, kT0 + 3 * kDay, "hf_weight_gain").active);
}

TEST(WeightGainTest, ComparesWithWeighingThreeDaysAgoAtAnotherTimeOfDay) {
  std::vector<VitalPoint> v = {{kBodyWeight, 80.0, kT0 - 2 * kHour, 0, "scale"},
                               {kBodyWeight, 81.0, kT0 + kDay, 0, "scale"},
                               {kBodyWeight, 81.5, kT0 + 2 * kDay, 0, "scale"},
                               {kBodyWeight, 82.2, kT0 + 3 * kDay, 0, "scale"}};
  EXPECT_TRUE(Verdict(v, kT0 + 3 * kDay, "hf_weight_gain").active);  // 2.2 kg since 3 days 2 h ago
  v[0].measured_us = kT0 - 7 * kHour;                                // 3 days 7 h before: outside the window
  EXPECT_FALSE(Verdict(v, kT0 + 3 * kDay, "hf_weight_gain").active);
}

TEST(RestingHrRiseTest, TenAboveTheWeeksMedianRaises) {
  std::vector<VitalPoint> v;
  for (int d = 0; d < 8; ++d) Append(v, kHeartRate, "watch", kT0 + d * kDay, 10 * kMin, 144, Const(d < 7 ? 60 : 72));
  EXPECT_TRUE(Verdict(v, kT0 + 8 * kDay + kHour, "resting_hr_rise").active);
  v.clear();
  for (int d = 0; d < 8; ++d) Append(v, kHeartRate, "watch", kT0 + d * kDay, 10 * kMin, 144, Const(d < 7 ? 60 : 68));
  EXPECT_FALSE(Verdict(v, kT0 + 8 * kDay + kHour, "resting_hr_rise").active);
}

// The evaluator hands resting_hr_rise per-day summaries computed in SQL (percentile_disc(0.10)
// over a day's valid samples) instead of 9 days of samples: both must give the same verdict.
// The values vary within each day so that another percentile definition would differ.
TEST(RestingHrRiseTest, RestingHrRiseFromDailySummariesMatchesRawSamples) {
  for (double last_day_bpm : {66.0, 69.0, 70.0, 71.0, 75.0}) {
    std::vector<VitalPoint> v;
    for (int d = 0; d < 8; ++d) {
      const double base = d < 7 ? 60 + d % 3 : last_day_bpm;
      Append(v, kHeartRate, "watch", kT0 + d * kDay, 10 * kMin, 144, [&](int i) { return base + (i * 37) % 23; });
      // Flagged samples are not valid: left out of both forms.
      Append(v, kHeartRate, "watch", kT0 + d * kDay + 5 * kMin, 10 * kMin, 20, Const(30), kFlagSensorContactLost);
    }
    SortByTime(v);
    const int64_t now = kT0 + 8 * kDay + kHour;
    const Observation raw = Verdict(v, now, "resting_hr_rise");

    // percentile_disc(0.10) per day, as the evaluator's SQL computes it.
    std::map<int64_t, std::vector<double>> by_day;
    for (const VitalPoint& p : v) {
      if ((p.flags & kIgnoredFlags) == 0 && p.measured_us < now / kDay * kDay) {
        by_day[p.measured_us / kDay].push_back(p.value);
      }
    }
    std::vector<DailyRestingHr> days;
    for (auto& [day, values] : by_day) {
      std::sort(values.begin(), values.end());
      const size_t rank = static_cast<size_t>(std::ceil(0.10 * static_cast<double>(values.size()))) - 1;
      days.push_back({day, values[rank], static_cast<int64_t>(values.size())});
    }
    std::vector<VitalPoint> today_only;  // the evaluator loads hours, not days, of samples
    for (const VitalPoint& p : v) {
      if (p.measured_us >= now - 6 * kHour) today_only.push_back(p);
    }
    static const RuleEngine engine = ShippedEngine();
    PatientInputs in;
    in.patient_id = "p1";
    in.vitals = today_only;
    in.resting_hr_days_given = true;
    in.resting_hr_days = days;
    const Observation summarised = Find(engine.Evaluate(in, now), "resting_hr_rise");
    EXPECT_EQ(summarised.active, raw.active) << last_day_bpm;
    EXPECT_EQ(summarised.peak_value, raw.peak_value) << last_day_bpm;
    EXPECT_EQ(summarised.summary, raw.summary) << last_day_bpm;
    EXPECT_EQ(summarised.condition_started_us, raw.condition_started_us) << last_day_bpm;
  }
}

// --- NEWS2 ---

TEST(News2RuleTest, MediumScoreRaisesPartialWithMissingListed) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 60, Const(135));  // 3
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 12, Const(93));      // 2
  SortByTime(v);
  const Observation o = Verdict(v, kT0 + 59 * kMin, "news2");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.peak_value, 5);
  EXPECT_EQ(o.priority, Priority::kMedium);
  EXPECT_TRUE(o.partial);
  EXPECT_THAT(o.missing, ElementsAre("respiratory_rate", "systolic", "consciousness", "temperature"));
}

TEST(News2RuleTest, HighScoreIsHighPriority) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 60, Const(135));          // 3
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 12, Const(90));              // 3
  Append(v, kBodyTemperature, "thermo", kT0, kHour, 1, Const(39.3));  // 2
  SortByTime(v);
  const Observation o = Verdict(v, kT0 + 59 * kMin, "news2");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.peak_value, 8);
  EXPECT_EQ(o.priority, Priority::kHigh);
}

TEST(News2RuleTest, LowScoreAndStaleValuesDoNotRaise) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 60, Const(95));  // 1
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 12, Const(95));     // 1
  SortByTime(v);
  EXPECT_FALSE(Verdict(v, kT0 + 59 * kMin, "news2").active);
  v.clear();
  Append(v, kHeartRate, "watch", kT0, kMin, 60, Const(135));
  EXPECT_TRUE(Verdict(v, kT0 + 59 * kMin, "news2").active);               // single 3
  EXPECT_FALSE(Verdict(v, kT0 + 59 * kMin + 20 * kMin, "news2").active);  // HR older than 15 min
}

TEST(News2RuleTest, OneSpikeDoesNotScore) {
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "strap", kT0, kS, 3600, [](int i) { return i % 600 == 0 ? 220.0 : 80.0; });
  EXPECT_FALSE(Verdict(v, kT0 + 3599 * kS, "news2").active);
}

// --- twin and technical ---

TEST(TwinDriftTest, OpenEventRaisesEndedDoesNot) {
  static const RuleEngine engine = ShippedEngine();
  std::vector<TwinEvent> ev = {{"weight_gain_with_rising_hr", kT0, kT0 + kDay, 2.3, 0}};
  PatientInputs in;
  in.patient_id = "p1";
  in.twin_events = ev;
  Observation o = Find(engine.Evaluate(in, kT0 + 2 * kDay), "twin_drift");
  EXPECT_TRUE(o.active);
  EXPECT_EQ(o.condition_started_us, kT0);
  EXPECT_DOUBLE_EQ(o.peak_value, 2.3);
  EXPECT_FALSE(Find(engine.Evaluate(in, kT0 + kDay / 2), "twin_drift").active);  // not yet detected
  ev[0].ended_us = kT0 + 3 * kDay;
  o = Find(engine.Evaluate(in, kT0 + 4 * kDay), "twin_drift");
  EXPECT_FALSE(o.active);
  EXPECT_EQ(o.condition_ended_us, kT0 + 3 * kDay);
  ev[0].type = "unrelated";
  EXPECT_FALSE(Find(engine.Evaluate(in, kT0 + 2 * kDay), "twin_drift").active);
}

TEST(TechnicalRulesTest, EachConditionBothSides) {
  static const RuleEngine engine = ShippedEngine();
  const int64_t now = kT0 + kDay;
  std::vector<DeviceStatus> dev(1);
  dev[0] = {.device_id = "strap",
            .kind = "hr_strap",
            .battery_percent = 16,
            .contact_lost_since_us = now - 4 * kMin,
            .connected = true,
            .last_sample_us = now - 29 * kMin,
            .expected_interval_s = 1,
            .clock_skew_s = 119,
            .status_at_us = now};
  std::vector<GatewayStatus> gw = {{"gw1", now - 9 * kMin}};
  PatientInputs in;
  in.patient_id = "p1";
  in.devices = dev;
  in.gateways = gw;
  in.quarantined_last_24h = 20;
  for (const char* r : {"battery_low", "contact_lost", "device_silent", "clock_skew", "gateway_silent", "quarantine"}) {
    const Observation o = Find(engine.Evaluate(in, now), r);
    EXPECT_FALSE(o.active) << r;
    EXPECT_EQ(o.category, AlarmCategory::kTechnical) << r;
  }
  dev[0].battery_percent = 15;
  dev[0].contact_lost_since_us = now - 5 * kMin;
  dev[0].last_sample_us = now - 31 * kMin;
  dev[0].clock_skew_s = -121;
  gw[0].last_heartbeat_us = now - 11 * kMin;
  in.quarantined_last_24h = 21;
  for (const char* r : {"battery_low", "contact_lost", "device_silent", "clock_skew", "gateway_silent", "quarantine"}) {
    EXPECT_TRUE(Find(engine.Evaluate(in, now), r).active) << r;
  }
  EXPECT_THAT(Find(engine.Evaluate(in, now), "device_silent").summary, HasSubstr("strap (hr_strap) silent 31 min"));
}

TEST(RuleEngineTest, OneVerdictPerRuleAndDeterministic) {
  const RuleEngine engine = ShippedEngine();
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "watch", kT0, kMin, 45, [](int i) { return 128.0 + i % 13; });
  PatientInputs in;
  in.patient_id = "p1";
  in.vitals = v;
  const auto a = engine.Evaluate(in, kT0 + 44 * kMin);
  const auto b = engine.Evaluate(in, kT0 + 44 * kMin);
  ASSERT_EQ(a.size(), engine.catalogue().rules().size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].rule_id, b[i].rule_id);
    EXPECT_EQ(a[i].active, b[i].active);
    EXPECT_EQ(a[i].summary, b[i].summary);
  }
  EXPECT_GE(engine.lookback_us(), 9 * kDay);
  EXPECT_THAT(engine.SuppressionTable().at("news2"),
              ElementsAre("heart_rate", "blood_pressure", "spo2", "temperature"));
}

}  // namespace
}  // namespace healthtwin::alerts::rules
