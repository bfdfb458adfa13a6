// PreparedVitals and its views (vital_index.h) against the grouping they replace: at every
// instant, filter the window to [first, now], then group by type and device and sort (what
// VitalIndex did at every instant before issue 11's step 3). And the engine's prepared
// overload against its per-instant one, verdict by verdict.
#include "services/alerts/rules/vital_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <random>

#include "services/alerts/rules/engine.h"
#include "services/alerts/rules/test_support.h"

namespace healthtwin::alerts::rules {
namespace {

using namespace testing;  // NOLINT: helpers and time units

// The reference: the samples of `types` measured in [max(first, from), now], valid ones only,
// concatenated type by type (each in input order), by device, stably sorted by time.
std::map<std::string, std::vector<TimedValue>> NaiveByDevice(const std::vector<VitalPoint>& vitals,
                                                             const std::vector<int>& types, int64_t first, int64_t from,
                                                             int64_t now) {
  std::map<std::string, std::vector<TimedValue>> out;
  for (int t : types) {
    for (const VitalPoint& v : vitals) {
      if (v.vital_type != t || (v.flags & kIgnoredFlags) || v.measured_us < std::max(first, from) ||
          v.measured_us > now) {
        continue;
      }
      out[v.device_id].push_back({v.measured_us, v.value});
    }
  }
  for (auto& [_, s] : out) std::stable_sort(s.begin(), s.end(), [](auto& a, auto& b) { return a.t_us < b.t_us; });
  return out;
}

std::vector<TimedValue> NaiveMerged(const std::vector<VitalPoint>& vitals, const std::vector<int>& types, int64_t first,
                                    int64_t from, int64_t now) {
  std::vector<TimedValue> out;
  for (int t : types) {
    for (const VitalPoint& v : vitals) {
      if (v.vital_type == t && !(v.flags & kIgnoredFlags) && v.measured_us >= std::max(first, from) &&
          v.measured_us <= now) {
        out.push_back({v.measured_us, v.value});
      }
    }
  }
  std::stable_sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.t_us < b.t_us; });
  return out;
}

void ExpectSame(std::span<const TimedValue> got, const std::vector<TimedValue>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].t_us, want[i].t_us) << what << " #" << i;
    EXPECT_EQ(got[i].value, want[i].value) << what << " #" << i;
  }
}

// Heart rate and pulse rate from two devices, some at the same instant (the tie order
// matters), some flagged, plus sparse types.
std::vector<VitalPoint> RandomVitals(uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<VitalPoint> v;
  int64_t t = kT0;
  for (int i = 0; i < 3000; ++i) {
    t += std::uniform_int_distribution<int64_t>(0, 3)(rng) * kS;  // 0: a tie with the previous one
    const int kind = std::uniform_int_distribution<int>(0, 9)(rng);
    const int type = kind < 4 ? kHeartRate : kind < 7 ? kPulseRate : kind < 8 ? kSpo2 : kSystolicBp;
    const uint32_t flags = std::uniform_int_distribution<int>(0, 19)(rng) == 0 ? kFlagMotionArtefact : 0u;
    v.push_back({.vital_type = type,
                 .value = static_cast<double>(std::uniform_int_distribution<int>(40, 160)(rng)),
                 .measured_us = t,
                 .flags = flags,
                 .device_id = std::uniform_int_distribution<int>(0, 1)(rng) ? "strap" : "watch"});
  }
  SortByTime(v);
  return v;
}

TEST(PreparedVitalsTest, ViewsAtEveryInstantEqualAFreshGroupingOfTheWindow) {
  const std::vector<VitalPoint> v = RandomVitals(7);
  const PreparedVitals prepared(v);
  const std::vector<std::vector<int>> type_lists = {{kHeartRate, kPulseRate}, {kSpo2}, {kSystolicBp}, {kBodyWeight}};
  int checked = 0;
  for (size_t i = 0; i < v.size(); i += 97) {
    const int64_t now = v[i].measured_us, first = now - 1200 * kS;
    const VitalIndex view(prepared, first, now);
    const VitalIndex fresh(v, now);  // the one-instant constructor: no lower bound of its own
    for (const auto& types : type_lists) {
      for (const int64_t from : {first - kS, now - 300 * kS, now}) {
        const auto want = NaiveByDevice(v, types, first, from, now);
        const auto got = view.ByDevice(types, from);
        ASSERT_EQ(got.size(), want.size());
        for (const auto& [device, series] : want) {
          ASSERT_TRUE(got.contains(device)) << device;
          ExpectSame(got.at(device), series, device);
        }
        ExpectSame(view.Merged(types, from), NaiveMerged(v, types, first, from, now), "merged");
        ExpectSame(fresh.Merged(types, from), NaiveMerged(v, types, std::numeric_limits<int64_t>::min(), from, now),
                   "fresh merged");
        ++checked;
      }
      const auto all = NaiveMerged(v, types, first, first, now);
      EXPECT_EQ(view.Newest(types), all.empty() ? 0 : all.back().t_us);
    }
  }
  EXPECT_GT(checked, 300);
}

// The evaluator's path (one PreparedVitals, many instants) and the per-instant path give the
// same verdicts, rule by rule, over a stream that raises and clears episodes.
TEST(PreparedVitalsTest, ThePreparedEngineOverloadGivesThePerInstantVerdicts) {
  const RuleEngine engine = ShippedEngine();
  std::vector<VitalPoint> v;
  Append(v, kHeartRate, "strap", kT0, kS, 7200, [](int i) { return (i / 900) % 2 ? 135.0 : 70.0; });
  Append(v, kPulseRate, "watch", kT0 + 30 * kS, kMin, 120, [](int i) { return i % 7 == 0 ? 45.0 : 80.0; });
  Append(v, kSpo2, "oxi", kT0, 5 * kMin, 24, [](int i) { return i % 5 < 2 ? 88.0 : 97.0; });
  Append(v, kSystolicBp, "cuff", kT0, 20 * kMin, 6, [](int i) { return i % 2 ? 185.0 : 120.0; });
  SortByTime(v);
  PatientInputs in;
  in.patient_id = "pat-0001";
  in.vitals = v;
  const PreparedVitals prepared(in.vitals);
  int active = 0, compared = 0;
  for (int64_t now = kT0 + 60 * kS; now <= kT0 + 7200 * kS; now += 170 * kS) {
    const auto want = engine.Evaluate(in, now, nullptr);
    const auto got = engine.Evaluate(in, prepared, now, nullptr);
    active += ExpectSameVerdicts(got, want, now);
    compared += static_cast<int>(want.size());
  }
  EXPECT_GT(active, 10);  // the stream does raise: the comparison is not between two quiet runs
  EXPECT_GT(compared, 100);
}

}  // namespace
}  // namespace healthtwin::alerts::rules
