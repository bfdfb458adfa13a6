#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "services/alerts/rules/patient_trackers.h"
#include "services/alerts/rules/test_support.h"

namespace healthtwin::alerts::rules {
namespace {

using namespace testing;  // NOLINT: kS, kMin, kT0

// EvaluateSustained as it was before it became a SustainedScanner (round 2), kept verbatim as
// the oracle: the scanner and the tracker must give exactly its verdicts.
SustainedVerdict RescanOracle(std::span<const TimedValue> s, const SustainedParams& p, int64_t now_us) {
  constexpr double kMinGapS = 30;
  const auto median3 = [](double a, double b, double c) {
    return std::max(std::min(a, b), std::min(std::max(a, b), c));
  };
  SustainedVerdict v;
  const auto beyond = [&](double x) { return p.above ? x > p.threshold : x < p.threshold; };
  const double clear_level = p.above ? p.threshold - p.hysteresis : p.threshold + p.hysteresis;
  const auto still = [&](double x) { return p.above ? x > clear_level : x < clear_level; };
  const auto more_extreme = [&](double a, double b) { return p.above ? std::max(a, b) : std::min(a, b); };
  const auto less_extreme = [&](double a, double b) { return p.above ? std::min(a, b) : std::max(a, b); };
  enum { kIdle, kCandidate, kActive } state = kIdle;
  int64_t run_start = 0, clear_start = 0;
  bool clearing = false;
  int count = 0;
  double prev1 = 0, prev2 = 0, run_peak = 0;
  auto end_episode = [&](int64_t at_us, bool stale) {
    v.active = false;
    v.ended_us = at_us;
    v.stale = stale;
    state = kIdle;
    clearing = false;
    count = 0;
  };
  auto track_peak = [&](double x) {
    if (count >= 3)
      run_peak = more_extreme(run_peak, median3(prev2, prev1, x));
    else if (count == 2)
      run_peak = less_extreme(prev1, x);
    else
      run_peak = x;
    prev2 = prev1;
    prev1 = x;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const TimedValue& x = s[i];
    const double gap_s = i > 0 ? static_cast<double>(x.t_us - s[i - 1].t_us) / 1e6 : 0;
    if (i > 0 && gap_s > std::min(p.stale_after_s, kMinGapS) && gap_s > AllowedGapS(s, i, p.stale_after_s)) {
      if (state == kActive) end_episode(s[i - 1].t_us, true);
      state = kIdle;
      count = 0;
    }
    if (state == kActive) {
      if (still(x.value)) {
        clearing = false;
        ++count;
        track_peak(x.value);
        v.peak = run_peak;
      } else {
        if (!clearing) clearing = true, clear_start = x.t_us;
        if (static_cast<double>(x.t_us - clear_start) / 1e6 >= p.clear_duration_s) end_episode(clear_start, false);
      }
      continue;
    }
    if (!beyond(x.value)) {
      state = kIdle;
      count = 0;
      continue;
    }
    if (state == kIdle) state = kCandidate, run_start = x.t_us, count = 0;
    ++count;
    track_peak(x.value);
    if (count >= p.min_samples && static_cast<double>(x.t_us - run_start) / 1e6 >= p.min_duration_s) {
      state = kActive;
      v.active = true;
      v.had_episode = true;
      v.stale = false;
      v.started_us = run_start;
      v.ended_us = 0;
      v.peak = run_peak;
    }
  }
  if (!s.empty()) {
    v.last_sample_us = s.back().t_us;
    const double allowance = s.size() >= 2 ? AllowedGapS(s, s.size(), p.stale_after_s) : p.stale_after_s;
    if (state == kActive && static_cast<double>(now_us - s.back().t_us) / 1e6 > allowance)
      end_episode(s.back().t_us, true);
  }
  v.samples_beyond = state == kIdle ? 0 : count;
  return v;
}

void ExpectSameVerdict(const SustainedVerdict& got, const SustainedVerdict& want, const std::string& where) {
  EXPECT_EQ(got.active, want.active) << where;
  EXPECT_EQ(got.stale, want.stale) << where;
  EXPECT_EQ(got.had_episode, want.had_episode) << where;
  EXPECT_EQ(got.started_us, want.started_us) << where;
  EXPECT_EQ(got.ended_us, want.ended_us) << where;
  EXPECT_EQ(got.last_sample_us, want.last_sample_us) << where;
  EXPECT_EQ(got.peak, want.peak) << where;
  EXPECT_EQ(got.samples_beyond, want.samples_beyond) << where;
}

// A device's series with regimes around the threshold 100: normal stretches, excursions above
// and below, values at the clear level, a 1 Hz strap's cadence with minute cadences, gaps of
// several minutes to an hour, and duplicate times.
std::vector<TimedValue> RandomSeries(std::mt19937_64& rng, int n) {
  std::vector<TimedValue> s;
  int64_t t = kT0;
  double level = 80;
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < n; ++i) {
    const double r = u(rng);
    if (r < 0.004)
      t += static_cast<int64_t>(u(rng) * 3600) * kS;  // a gap up to an hour
    else if (r < 0.02)
      t += static_cast<int64_t>(60 + u(rng) * 600) * kS;
    else if (r < 0.04)
      t += 0;  // a duplicate time
    else if (r < 0.3)
      t += kMin;
    else
      t += kS;
    if (u(rng) < 0.01) level = std::array<double, 5>{80, 104, 96, 120, 60}[rng() % 5];
    const double spike = u(rng) < 0.01 ? 40 * (u(rng) - 0.5) : 0;
    s.push_back({t, std::round(level + 6 * (u(rng) - 0.5) + spike)});
  }
  return s;
}

SustainedParams RandomParams(std::mt19937_64& rng) {
  std::uniform_real_distribution<double> u(0, 1);
  return {.above = u(rng) < 0.6,
          .threshold = 100,
          .hysteresis = std::array<double, 3>{0, 2, 5}[rng() % 3],
          .min_samples = 1 + static_cast<int>(rng() % 4),
          .min_duration_s = std::array<double, 4>{0, 30, 300, 600}[rng() % 4],
          .clear_duration_s = std::array<double, 4>{0, 60, 300, 900}[rng() % 4],
          .stale_after_s = std::array<double, 4>{20, 120, 900, 1800}[rng() % 4]};
}

std::span<const TimedValue> Window(const std::vector<TimedValue>& s, int64_t from_us, int64_t now_us) {
  auto first = std::lower_bound(s.begin(), s.end(), from_us, [](const TimedValue& v, int64_t t) { return v.t_us < t; });
  auto last = std::upper_bound(first, s.end(), now_us, [](int64_t t, const TimedValue& v) { return t < v.t_us; });
  return {s.data() + (first - s.begin()), static_cast<size_t>(last - first)};
}

TEST(SustainedScannerTest, GivesTheRescanVerdictAfterEverySample) {
  std::mt19937_64 rng(11);
  int episodes = 0;
  for (int series = 0; series < 8; ++series) {
    const auto s = RandomSeries(rng, 600);
    const SustainedParams p = RandomParams(rng);
    SustainedScanner scan(p);
    for (size_t i = 0; i < s.size(); ++i) {
      scan.Feed(s[i]);
      const std::span<const TimedValue> prefix(s.data(), i + 1);
      for (const int64_t now : {s[i].t_us, s[i].t_us + 25 * kMin}) {
        const SustainedVerdict want = RescanOracle(prefix, p, now);
        ExpectSameVerdict(scan.Finish(now), want, absl::StrCat("series ", series, " sample ", i));
        ExpectSameVerdict(EvaluateSustained(prefix, p, now), want, absl::StrCat("series ", series, " sample ", i));
        episodes += want.active ? 1 : 0;
      }
      if (HasFailure()) return;
    }
  }
  EXPECT_GT(episodes, 300);  // the series do raise
}

// The property: at every instant of a sliding window, with late rows (which reset the
// tracker, as PatientTrackers does) and instants that step back, the tracker's verdict is the
// rescan's. And it is mostly judged from the reference, not by rescanning.
TEST(SustainedTrackerTest, EqualsTheRescanAtEveryInstantOfRandomSeries) {
  std::mt19937_64 rng(20261207);
  std::uniform_real_distribution<double> u(0, 1);
  int64_t compared = 0, active = 0, late = 0, met = 0, whole = 0;
  for (int series = 0; series < 40; ++series) {
    std::vector<TimedValue> s = RandomSeries(rng, 4000);
    const SustainedParams p = RandomParams(rng);
    const int64_t lookback = std::array<int64_t, 3>{20 * kMin, kHour, 6 * kHour}[rng() % 3];
    PatientTrackers trackers;
    // Instants at samples and between them, a few steps apart, as the evaluator's thinned ones.
    int64_t now = s.front().t_us;
    while (now < s.back().t_us + kHour) {
      if (u(rng) < 0.01 && now > s.front().t_us + kMin) {
        // A late row: measured at or before instants already judged.
        const TimedValue row{now - static_cast<int64_t>(u(rng) * 600) * kS, std::round(60 + 70 * u(rng))};
        s.insert(
            std::upper_bound(s.begin(), s.end(), row.t_us, [](int64_t t, const TimedValue& v) { return t < v.t_us; }),
            row);
        trackers.SampleAdded("dev", row.t_us);
        ++late;
      }
      const int64_t at = u(rng) < 0.03 ? now - static_cast<int64_t>(u(rng) * 300) * kS : now;  // steps back
      const auto window = Window(s, at - lookback, at);
      if (!window.empty()) {
        SustainedTracker& tracker = trackers.Of("rule", "dev");
        const SustainedVerdict want = RescanOracle(window, p, at);
        ExpectSameVerdict(tracker.Evaluate(window, p, at), want, absl::StrCat("series ", series, " at ", at));
        if (HasFailure()) return;
        ++compared;
        active += want.active ? 1 : 0;
      }
      now += u(rng) < 0.7 ? static_cast<int64_t>(u(rng) * 40) * kS : static_cast<int64_t>(u(rng) * 10) * kMin;
    }
    met += trackers.Of("rule", "dev").met();
    whole += trackers.Of("rule", "dev").scanned_whole();
  }
  EXPECT_GT(compared, 50'000);
  EXPECT_GT(active, 1'000);
  EXPECT_GT(late, 100);
  // Most instants meet the reference. The others: instants that step back, the first after a
  // late row, and windows inside an episode longer than the lookback (the series hold long
  // stretches beyond the threshold).
  EXPECT_GT(met, 2 * whole) << met << " met, " << whole << " whole";
}

TEST(SustainedTrackerTest, ChangedParametersStartAgain) {
  std::mt19937_64 rng(3);
  const auto s = RandomSeries(rng, 2000);
  SustainedTracker tracker;
  SustainedParams p = RandomParams(rng);
  for (size_t i = 100; i < s.size(); i += 37) {
    if (i % 5 == 0) p.threshold = p.threshold == 100 ? 105 : 100;  // a patient's override set and reset
    const auto window = Window(s, s[i].t_us - kHour, s[i].t_us);
    ExpectSameVerdict(tracker.Evaluate(window, p, s[i].t_us), RescanOracle(window, p, s[i].t_us),
                      absl::StrCat("sample ", i));
  }
}

// The engine with trackers kept across instants gives the verdicts it gives without them,
// also when late rows (told to the trackers, as PatientWindow::Add does) land behind instants
// already judged.
TEST(SustainedTrackerTest, TheEngineWithTrackersGivesTheSameVerdicts) {
  const RuleEngine engine = ShippedEngine();
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "strap", kT0, kS, 7200, [](int i) { return (i / 900) % 2 ? 135.0 : 70.0 + i % 7; });
  Append(v, kPulseRate, "watch", kT0 + 30 * kS, kMin, 120, [](int i) { return i % 9 < 6 ? 38.0 : 80.0; });
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 24, [](int i) { return i % 5 < 2 ? 88.0 : 97.0; });
  Append(v, kSystolicBp, "cuff", kT0, 20 * kMin, 6, [](int i) { return i % 2 ? 185.0 : 120.0; });
  SortByTime(v);
  std::mt19937_64 rng(5);
  PatientTrackers trackers;
  int active = 0, compared = 0, late = 0;
  for (int64_t now = kT0 + 60 * kS; now <= kT0 + 7400 * kS; now += 30 * kS) {
    if (rng() % 8 == 0) {  // a late row of a random device, up to 20 min back
      const VitalPoint row = std::array<VitalPoint, 3>{VitalPoint{kHeartRate, 140, 0, 0, "strap"},
                                                       VitalPoint{kPulseRate, 36, 0, 0, "watch"},
                                                       VitalPoint{kSpo2, 86, 0, 0, "oxi"}}[rng() % 3];
      VitalPoint r = row;
      r.measured_us = now - static_cast<int64_t>(rng() % 1200) * kS;
      v.insert(std::upper_bound(v.begin(), v.end(), r.measured_us,
                                [](int64_t t, const VitalPoint& p) { return t < p.measured_us; }),
               r);
      trackers.SampleAdded(r.device_id, r.measured_us);
      ++late;
    }
    PatientInputs in;
    in.patient_id = "pat-0001";
    in.vitals = v;
    const PreparedVitals prepared(in.vitals);
    const auto want = engine.Evaluate(in, prepared, now, nullptr);
    const auto got = engine.Evaluate(in, prepared, now, nullptr, &trackers);
    active += ExpectSameVerdicts(got, want, now);
    compared += static_cast<int>(want.size());
    if (HasFailure()) return;
  }
  EXPECT_GT(active, 100);
  EXPECT_GT(compared, 1000);
  EXPECT_GT(late, 20);
  EXPECT_GT(trackers.Of("hr_high", "strap").met(), 100);
}

// NEWS2 steps kept across instants: a step reads spot readings up to 12 h before it and
// smooths over the 5 minutes before the newest, so as the window's start passes a cluster of
// readings the oldest steps read fewer of them; kept steps must follow (patient_trackers.h).
TEST(SustainedTrackerTest, KeptNews2StepsFollowTheWindowStart) {
  const RuleEngine engine = ShippedEngine();
  std::mt19937_64 rng(17);
  std::vector<VitalPoint> v;
  // Clusters of spot readings, most 30 min apart, some after a pause of about 12 h (the
  // freshness limit), so that the newest reading a step reads lies at the window's start.
  for (int64_t t = kT0; t < kT0 + 3 * kDay;
       t += rng() % 3 == 0 ? 11 * kHour + 54 * kMin + static_cast<int64_t>(rng() % 720) * kS : 30 * kMin) {
    for (int k = 0, n = 2 + static_cast<int>(rng() % 2); k < n; ++k) {
      v.push_back({kSystolicBp, 80.0 + static_cast<double>(rng() % 150), t + k * 100 * kS, 0, "cuff"});
      v.push_back({kBodyTemperature, 34.5 + static_cast<double>(rng() % 50) / 10, t + k * 110 * kS, 0, "thermo"});
    }
  }
  SortByTime(v);
  PatientInputs in;
  in.patient_id = "pat-0001";
  in.vitals = v;
  const PreparedVitals prepared(in.vitals);
  PatientTrackers trackers;
  int active = 0, compared = 0;
  for (int64_t now = kT0 + 19 * kHour; now <= kT0 + 3 * kDay; now += static_cast<int64_t>(10 + rng() % 50) * kS) {
    const auto want = engine.Evaluate(in, prepared, now, nullptr);
    active += ExpectSameVerdicts(engine.Evaluate(in, prepared, now, nullptr, &trackers), want, now);
    compared += static_cast<int>(want.size());
    if (HasFailure()) return;
  }
  EXPECT_GT(active, 100);
  EXPECT_GT(compared, 5000);
}

// The case the start check is for: the first step of the window smooths the newest cuff
// reading (12 h old, at the freshness limit) with one 60 s older; as the window's start passes
// that older reading, the step's value changes (200 -> 85 mmHg, NEWS2 0 -> 3).
TEST(SustainedTrackerTest, AKeptNews2StepIsScoredAgainWhenTheWindowStartPassesWhatItRead) {
  const RuleEngine engine = ShippedEngine();
  const int64_t step = kT0 + 12 * kHour;  // a multiple of 5 min
  std::vector<VitalPoint> v = {{kSystolicBp, 200, kT0 - 30 * kS, 0, "cuff"},
                               {kSystolicBp, 85, kT0 + 30 * kS, 0, "cuff"}};
  PatientInputs in;
  in.patient_id = "pat-0001";
  in.vitals = v;
  const PreparedVitals prepared(in.vitals);
  PatientTrackers trackers;
  // Both instants have `step` as their first step; the window starts 18 h before each.
  for (const int64_t now : {step + 6 * kHour - 4 * kMin, step + 6 * kHour - 10 * kS}) {
    const auto want = engine.Evaluate(in, prepared, now, nullptr);
    ExpectSameVerdicts(engine.Evaluate(in, prepared, now, nullptr, &trackers), want, now);
  }
  EXPECT_EQ(Find(engine.Evaluate(in, prepared, step + 6 * kHour - 4 * kMin, nullptr), "news2").summary.substr(0, 7),
            "NEWS2 0");
  EXPECT_EQ(Find(engine.Evaluate(in, prepared, step + 6 * kHour - 10 * kS, nullptr), "news2").summary.substr(0, 7),
            "NEWS2 3");
}

}  // namespace
}  // namespace healthtwin::alerts::rules
