// Cohort part files and their merge (cohort_part.h), on synthetic rows (no simulation): the
// round trip is bit-exact, the merge is the single run's summary of the concatenated rows, and
// every bad set of parts is refused naming the file (or, for a missing shard, the shard).
#include "models/treatment/cohort_part.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "models/treatment/treatment_json.h"

namespace healthtwin::models::treatment {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

CohortSpec Spec() {
  CohortSpec s;
  s.seed = 9;
  s.patients = 20;
  s.days = 5;
  s.arms = {{"placebo", {}}, {"amlodipine, 10 mg", {{"amlodipine", 10.0, 24.0, false}}}};
  return s;
}

// Rows with values that do not print exactly in few digits.
PatientRow Row(int patient, int arm) {
  PatientRow r;
  r.patient = patient;
  r.arm = arm;
  r.sex = patient % 3 == 0 ? Sex::kFemale : Sex::kMale;
  r.age_years = 40.0 + patient / 3.0;
  r.weight_kg = 70.0 + std::sqrt(2.0) * patient;
  r.drawn_sbp_mmhg = 140.0 + 0.1 * patient;
  r.drawn_dbp_mmhg = 90.0 + 1.0 / 7.0 * patient;
  r.drawn_heart_rate_bpm = 60.0 + std::exp(-patient);
  r.baseline_sbp_mmhg = r.drawn_sbp_mmhg + 1e-13 * patient;
  r.baseline_dbp_mmhg = r.drawn_dbp_mmhg - 3e-12;
  r.baseline_heart_rate_bpm = r.drawn_heart_rate_bpm + std::numeric_limits<double>::denorm_min();
  r.end_sbp_mmhg = r.baseline_sbp_mmhg - arm * (7.3 + std::sin(patient));
  r.end_dbp_mmhg = r.baseline_dbp_mmhg - arm * (3.1 + std::cos(patient));
  r.end_heart_rate_bpm = r.baseline_heart_rate_bpm + arm * 0.3;
  r.min_sbp_mmhg = r.end_sbp_mmhg - 2.5;
  r.min_heart_rate_bpm = r.end_heart_rate_bpm - 1.0 / 3.0;
  r.weight_change_percent = arm == 0 ? -0.0 : -0.123456789012345678;
  r.at_target = r.end_sbp_mmhg < 140.0;
  r.hypotension = patient == 4 && arm == 1;
  r.bradycardia = patient == 5;
  r.volume_loss = patient % 7 == 0 && arm == 1;
  r.extrapolated = patient == 19;
  return r;
}

CohortShardResult Shard(const CohortSpec& spec, int index, int count) {
  CohortShardResult s;
  s.shard = {index, count};
  s.range = CohortShardRange(spec.patients, s.shard);
  for (int p = s.range.begin; p < s.range.end; ++p) {
    for (int a = 0; a < static_cast<int>(spec.arms.size()); ++a) s.rows.push_back(Row(p, a));
  }
  s.archetypes = {index % 2, 3 + index};
  return s;
}

std::vector<NamedPart> Parts(const CohortSpec& spec, int count) {
  std::vector<NamedPart> parts;
  for (int i = 0; i < count; ++i) {
    parts.push_back({absl::StrCat("part-", i, ".json"), CohortPartText(spec, Shard(spec, i, count))});
  }
  return parts;
}

std::string MergeError(const std::vector<NamedPart>& parts) {
  absl::StatusOr<MergedCohort> m = MergeCohortParts(parts);
  EXPECT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(m.status().message());
}

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

TEST(CohortPartTest, RoundTripIsBitExactAndCarriesSpecHashShardAndRange) {
  const CohortSpec spec = Spec();
  const CohortShardResult shard = Shard(spec, 1, 3);
  absl::StatusOr<CohortPart> p = ParseCohortPart(CohortPartText(spec, shard));
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->spec_sha256, CohortSpecSha256(spec));
  EXPECT_EQ(p->spec_sha256.size(), 64u);
  EXPECT_EQ(CohortSpecToJson(p->spec), CohortSpecToJson(spec));
  EXPECT_EQ(p->shard.shard.index, 1);
  EXPECT_EQ(p->shard.shard.count, 3);
  EXPECT_EQ(p->shard.range.begin, 6);
  EXPECT_EQ(p->shard.range.end, 13);
  EXPECT_EQ(p->shard.archetypes, shard.archetypes);
  ASSERT_EQ(p->shard.rows.size(), shard.rows.size());
  for (std::size_t k = 0; k < shard.rows.size(); ++k) {
    const PatientRow &a = p->shard.rows[k], &b = shard.rows[k];
    EXPECT_EQ(a.patient, b.patient);
    EXPECT_EQ(a.arm, b.arm);
    EXPECT_EQ(a.sex, b.sex);
    for (double PatientRow::*f :
         {&PatientRow::age_years, &PatientRow::weight_kg, &PatientRow::drawn_sbp_mmhg, &PatientRow::drawn_dbp_mmhg,
          &PatientRow::drawn_heart_rate_bpm, &PatientRow::baseline_sbp_mmhg, &PatientRow::baseline_dbp_mmhg,
          &PatientRow::baseline_heart_rate_bpm, &PatientRow::end_sbp_mmhg, &PatientRow::end_dbp_mmhg,
          &PatientRow::end_heart_rate_bpm, &PatientRow::min_sbp_mmhg, &PatientRow::min_heart_rate_bpm,
          &PatientRow::weight_change_percent}) {
      EXPECT_TRUE(SameBits(a.*f, b.*f)) << k << ": " << a.*f << " vs " << b.*f;
    }
    EXPECT_EQ(a.at_target, b.at_target);
    EXPECT_EQ(a.hypotension, b.hypotension);
    EXPECT_EQ(a.bradycardia, b.bradycardia);
    EXPECT_EQ(a.volume_loss, b.volume_loss);
    EXPECT_EQ(a.extrapolated, b.extrapolated);
  }
}

TEST(CohortPartTest, SpecHashIgnoresFormattingButNotValues) {
  const CohortSpec spec = Spec();
  absl::StatusOr<CohortSpec> reparsed = ParseCohortSpec(CohortSpecToJson(spec).dump(2));
  ASSERT_TRUE(reparsed.ok()) << reparsed.status();
  EXPECT_EQ(CohortSpecSha256(*reparsed), CohortSpecSha256(spec));
  CohortSpec other = spec;
  other.seed = 10;
  EXPECT_NE(CohortSpecSha256(other), CohortSpecSha256(spec));
  other = spec;
  other.population.sbp_mmhg.sd += 1e-9;
  EXPECT_NE(CohortSpecSha256(other), CohortSpecSha256(spec));
}

TEST(CohortPartTest, MergeInAnyOrderIsTheSingleRunSummaryOfTheConcatenatedRows) {
  const CohortSpec spec = Spec();
  std::vector<PatientRow> all;
  for (int p = 0; p < spec.patients; ++p) {
    for (int a = 0; a < 2; ++a) all.push_back(Row(p, a));
  }
  CohortResult single;
  single.rows = all;
  single.arms = SummariseCohort(spec, all);
  for (int n : {1, 3, 7}) {
    std::vector<NamedPart> parts = Parts(spec, n);
    std::swap(parts.front(), parts.back());
    absl::StatusOr<MergedCohort> m = MergeCohortParts(parts);
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_EQ(m->shard_count, n);
    EXPECT_EQ(PerPatientCsv(m->spec, m->result), PerPatientCsv(spec, single));
    single.archetypes_built = m->result.archetypes_built;
    EXPECT_EQ(CohortResultToJson(m->spec, m->result), CohortResultToJson(spec, single));
    ASSERT_EQ(m->result.arms.size(), 2u);
    EXPECT_TRUE(SameBits(m->result.arms[1].sbp_mmhg.ci95_low, single.arms[1].sbp_mmhg.ci95_low));
  }
  // Archetypes are the union: shards 0..6 use {0, 1} and 3..9.
  EXPECT_EQ(single.archetypes_built, 2 + 7);
}

TEST(CohortPartTest, MissingDuplicatedMixedAndForeignPartsAreRefusedNamingTheFile) {
  const CohortSpec spec = Spec();
  std::vector<NamedPart> parts = Parts(spec, 3);

  EXPECT_EQ(MergeError({parts[0], parts[2]}), "shard 1/3 (patients 6..12) is missing: got 2 of 3 parts");
  EXPECT_THAT(MergeError({}), HasSubstr("no part files"));

  NamedPart copy{"copy-of-1.json", parts[1].text};
  EXPECT_EQ(MergeError({parts[0], parts[1], copy, parts[2]}), "copy-of-1.json: shard 1/3 again (also in part-1.json)");

  NamedPart of_seven{"seven-2.json", CohortPartText(spec, Shard(spec, 2, 7))};
  EXPECT_THAT(MergeError({parts[0], parts[1], of_seven}),
              StartsWith("seven-2.json: shard 2/7 is of a 7-shard run, but part-0.json is of a 3-shard run"));

  CohortSpec other = spec;
  other.seed = 10;
  NamedPart foreign{"other-2.json", CohortPartText(other, Shard(other, 2, 3))};
  EXPECT_THAT(MergeError({parts[0], parts[1], foreign}), StartsWith("other-2.json: a part of another spec"));
}

TEST(CohortPartTest, EditedTruncatedAndInconsistentPartsAreRefusedNamingTheFile) {
  const CohortSpec spec = Spec();
  std::vector<NamedPart> parts = Parts(spec, 3);

  // Any changed byte of content: here patient 6 (female) becomes male in her arm-0 row.
  NamedPart edited = parts[1];
  const std::size_t at = edited.text.find("\"rows\":[[6,0,1,");
  ASSERT_NE(at, std::string::npos);
  edited.text[at + std::strlen("\"rows\":[[6,0,")] = '0';
  EXPECT_EQ(MergeError({parts[0], edited, parts[2]}),
            "part-1.json: content_sha256 does not match the content (the part was edited or damaged)");

  NamedPart truncated = parts[2];
  truncated.text.resize(truncated.text.size() / 2);
  EXPECT_THAT(MergeError({parts[0], parts[1], truncated}), StartsWith("part-2.json: not valid JSON (truncated"));
  truncated.text = parts[2].text.substr(0, parts[2].text.size() - 2);  // only the closing brace
  EXPECT_THAT(MergeError({parts[0], parts[1], truncated}), StartsWith("part-2.json: not valid JSON"));

  NamedPart spec_file{"spec.json", CohortSpecToJson(spec).dump()};
  EXPECT_THAT(MergeError({spec_file}), StartsWith("spec.json: not a cohort part file"));

  // Consistent checksums but a range that is not the shard's, or missing rows.
  CohortShardResult moved = Shard(spec, 1, 3);
  moved.range = {0, 7};
  EXPECT_THAT(ParseCohortPart(CohortPartText(spec, moved)).status().message(),
              HasSubstr("patients 0..7 are not shard 1/3's (6..13)"));
  CohortShardResult short_of_rows = Shard(spec, 1, 3);
  short_of_rows.rows.pop_back();
  EXPECT_THAT(ParseCohortPart(CohortPartText(spec, short_of_rows)).status().message(),
              HasSubstr("rows: expected 14 rows"));
  CohortShardResult out_of_order = Shard(spec, 1, 3);
  std::swap(out_of_order.rows[0], out_of_order.rows[2]);
  EXPECT_THAT(ParseCohortPart(CohortPartText(spec, out_of_order)).status().message(), HasSubstr("out of order"));
}

}  // namespace
}  // namespace healthtwin::models::treatment
