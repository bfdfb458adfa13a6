// Sharded cohorts (cohort.h, "Shards"): the shards of any N partition the patients into
// contiguous blocks, and their rows, concatenated in shard order and summarised by
// SummariseCohort, are the unsharded run's rows and summaries bit for bit.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "models/treatment/cohort.h"
#include "models/treatment/treatment_test_util.h"

namespace healthtwin::models::treatment {
namespace {

using ::testing::HasSubstr;

// 20 men around 147/90 (one archetype map), two arms, 3 days.
CohortSpec SmallSpec() {
  CohortSpec s = testing::SmallCohortSpec();
  s.seed = 11;
  s.days = 3;
  return s;
}

void ExpectSameChange(const MeanChange& a, const MeanChange& b) {
  EXPECT_EQ(a.baseline_mean, b.baseline_mean);
  EXPECT_EQ(a.end_mean, b.end_mean);
  EXPECT_EQ(a.mean_change, b.mean_change);
  EXPECT_EQ(a.ci95_low, b.ci95_low);
  EXPECT_EQ(a.ci95_high, b.ci95_high);
  EXPECT_EQ(a.sd_change, b.sd_change);
}

// Runs all N shards (with a thread count other than the full run's) and checks the merge.
void ExpectShardsMergeToTheFullRun(const CohortSpec& spec, const CohortResult& full, int n) {
  SCOPED_TRACE(::testing::Message() << "N = " << n);
  std::vector<PatientRow> rows;
  std::set<int> archetypes;
  int next = 0;
  for (int i = 0; i < n; ++i) {
    absl::StatusOr<CohortShardResult> s = RunCohortShard(spec, {i, n}, {.threads = 1, .progress = {}});
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ(s->shard.index, i);
    EXPECT_EQ(s->shard.count, n);
    EXPECT_EQ(s->range.begin, next);
    next = s->range.end;
    for (const PatientRow& r : s->rows) {
      EXPECT_GE(r.patient, s->range.begin);
      EXPECT_LT(r.patient, s->range.end);
    }
    rows.insert(rows.end(), s->rows.begin(), s->rows.end());
    archetypes.insert(s->archetypes.begin(), s->archetypes.end());
  }
  EXPECT_EQ(next, spec.patients);
  CohortResult merged;
  merged.rows = rows;
  merged.arms = SummariseCohort(spec, rows);
  merged.archetypes_built = static_cast<int>(archetypes.size());
  EXPECT_EQ(PerPatientCsv(spec, merged), PerPatientCsv(spec, full));
  ASSERT_EQ(merged.rows.size(), full.rows.size());
  for (std::size_t k = 0; k < rows.size(); ++k) {
    EXPECT_EQ(rows[k].drawn_sbp_mmhg, full.rows[k].drawn_sbp_mmhg) << k;
    EXPECT_EQ(rows[k].end_sbp_mmhg, full.rows[k].end_sbp_mmhg) << k;
    EXPECT_EQ(rows[k].weight_change_percent, full.rows[k].weight_change_percent) << k;
  }
  EXPECT_EQ(merged.archetypes_built, full.archetypes_built);
  ASSERT_EQ(merged.arms.size(), full.arms.size());
  for (std::size_t a = 0; a < full.arms.size(); ++a) {
    EXPECT_EQ(merged.arms[a].name, full.arms[a].name);
    EXPECT_EQ(merged.arms[a].n, full.arms[a].n);
    ExpectSameChange(merged.arms[a].sbp_mmhg, full.arms[a].sbp_mmhg);
    ExpectSameChange(merged.arms[a].dbp_mmhg, full.arms[a].dbp_mmhg);
    ExpectSameChange(merged.arms[a].heart_rate_bpm, full.arms[a].heart_rate_bpm);
    EXPECT_EQ(merged.arms[a].target_attainment_fraction, full.arms[a].target_attainment_fraction);
    EXPECT_EQ(merged.arms[a].hypotension_count, full.arms[a].hypotension_count);
    EXPECT_EQ(merged.arms[a].bradycardia_count, full.arms[a].bradycardia_count);
    EXPECT_EQ(merged.arms[a].volume_loss_count, full.arms[a].volume_loss_count);
    EXPECT_EQ(merged.arms[a].analysed, full.arms[a].analysed);
    EXPECT_EQ(merged.arms[a].dropouts, full.arms[a].dropouts);
    const PlaceboAdjusted &m = merged.arms[a].placebo_adjusted, &f = full.arms[a].placebo_adjusted;
    EXPECT_EQ(m.control_arm, f.control_arm);
    EXPECT_EQ(m.sbp_mmhg.difference, f.sbp_mmhg.difference);
    EXPECT_EQ(m.sbp_mmhg.ci95_low, f.sbp_mmhg.ci95_low);
    EXPECT_EQ(m.dbp_mmhg.ci95_high, f.dbp_mmhg.ci95_high);
  }
}

// One map build per process, so both designs and all N are checked in one case.
TEST(CohortShardTest, ShardsOfOneThreeAndSevenMergeToTheUnshardedRunBitForBit) {
  for (Allocation allocation : {Allocation::kEveryArm, Allocation::kRandomized}) {
    CohortSpec spec = SmallSpec();
    spec.allocation = allocation;
    absl::StatusOr<CohortResult> full = RunCohort(spec, {.threads = 2, .progress = {}});
    ASSERT_TRUE(full.ok()) << full.status();
    ASSERT_LT(full->arms[1].sbp_mmhg.mean_change, -1.0);  // the drug did something to compare
    for (int n : {1, 3, 7}) ExpectShardsMergeToTheFullRun(spec, *full, n);
  }
}

// The trial layer with screening that rejects candidates, visits, frequent dropout analysed as
// completers, adherence and the response factor (trial_patient.h, both switched on): shards still
// give the unsharded run's rows and summaries.
TEST(CohortShardTest, TrialWithDropoutAndScreeningMergesBitForBit) {
  CohortSpec spec = SmallSpec();
  spec.days = 15;
  spec.trial.visit_interval_days = 5;
  spec.trial.dropout_per_30_days = 0.6;
  spec.trial.analysis = DropoutAnalysis::kCompleters;
  spec.trial.screen_sbp_min_mmhg = 147.0;  // about half the candidates fail (population 147 ± 2)
  spec.trial.response_heterogeneity = true;
  spec.trial.adherence = true;
  spec.trial.stop_per_year = 0.9;  // some patients stop within the 15 days
  absl::StatusOr<CohortResult> full = RunCohort(spec, {.threads = 2, .progress = {}});
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_GT(full->arms[0].dropouts, 0);
  ASSERT_LT(full->arms[0].analysed, full->arms[0].n);
  ASSERT_TRUE(std::any_of(full->rows.begin(), full->rows.end(),
                          [](const PatientRow& r) { return r.doses_taken_fraction < 1.0; }));
  for (int n : {3, 7}) ExpectShardsMergeToTheFullRun(spec, *full, n);
}

TEST(CohortShardTest, RangesAreContiguousBlocksDifferingByAtMostOnePatient) {
  for (int patients : {1, 2, 7, 20, 1000, 999'983}) {
    for (int n : {1, 2, 3, 7, 64}) {
      if (n > patients) continue;
      int next = 0, smallest = patients, largest = 0;
      for (int i = 0; i < n; ++i) {
        const PatientRange r = CohortShardRange(patients, {i, n});
        ASSERT_EQ(r.begin, next) << patients << " " << i << "/" << n;
        smallest = std::min(smallest, r.end - r.begin);
        largest = std::max(largest, r.end - r.begin);
        next = r.end;
      }
      EXPECT_EQ(next, patients);
      EXPECT_GE(smallest, 1);
      EXPECT_LE(largest - smallest, 1);
    }
  }
  EXPECT_EQ(CohortShardRange(20, {1, 3}).begin, 6);
  EXPECT_EQ(CohortShardRange(20, {1, 3}).end, 13);
}

TEST(CohortShardTest, BadShardsAreRefusedNamingTheFlag) {
  const CohortSpec spec = SmallSpec();
  EXPECT_TRUE(ValidateCohortShard(spec, {0, 1}).ok());
  EXPECT_TRUE(ValidateCohortShard(spec, {19, 20}).ok());
  for (CohortShard bad : {CohortShard{3, 3}, CohortShard{-1, 3}, CohortShard{0, 0}, CohortShard{0, 21}}) {
    const absl::Status s = ValidateCohortShard(spec, bad);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << bad.index << "/" << bad.count;
    EXPECT_THAT(s.message(), HasSubstr("--shard")) << bad.index << "/" << bad.count;
  }
  EXPECT_THAT(ValidateCohortShard(spec, {0, 21}).message(), HasSubstr("1..20"));
  // RunCohortShard checks before any map is built.
  EXPECT_EQ(RunCohortShard(spec, {5, 3}).status().code(), absl::StatusCode::kInvalidArgument);
  CohortSpec bad_spec = spec;
  bad_spec.days = 0;
  EXPECT_THAT(RunCohortShard(bad_spec, {0, 3}).status().message(), HasSubstr("days"));
}

}  // namespace
}  // namespace healthtwin::models::treatment
