#include "models/treatment/trial_reproduction.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "models/treatment/cohort.h"
#include "models/treatment/treatment_json.h"
#include "models/treatment/trial_validation.h"

namespace healthtwin::models::treatment {
namespace {

constexpr char kCiSource[] = "t-interval for these arm sizes with an SD of change of 10-16 mmHg";
constexpr char kNotReported[] =
    "not reported per arm by the meta-analysis (its trials' placebo arms differ); ours: placebo response, "
    "regression to the mean and the drug";

// Signed for changes and differences ("-8.2"), plain for widths.
std::string Fmt(double v, int decimals, bool sign = true) {
  char buf[32];
  std::snprintf(buf, sizeof buf, sign ? "%+.*f" : "%.*f", decimals, v);
  return buf;
}

ValidationRow Graded(const std::string& section, std::string quantity, double value, int decimals, double lo, double hi,
                     std::string reference, std::string source) {
  ValidationRow r;
  r.section = section;
  r.quantity = std::move(quantity);
  r.unit = "mmHg";
  r.value = value;
  r.decimals = decimals;
  r.lo = lo;
  r.hi = hi;
  r.reference = std::move(reference);
  r.source = std::move(source);
  r.grade = GradeAgainstRange(value, lo, hi);
  return r;
}

absl::StatusOr<CohortSpec> ReadSpec(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return absl::NotFoundError(absl::StrCat(path, ": cannot read the trial spec"));
  std::stringstream text;
  text << f.rdbuf();
  absl::StatusOr<CohortSpec> spec = ParseCohortSpec(text.str());
  if (!spec.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", spec.status().message()));
  if (spec->allocation != Allocation::kRandomized || spec->arms.size() != 2 || !spec->arms[0].treatments.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": a reproduction is a randomized trial of two arms, placebo first"));
  }
  return spec;
}

// The placebo-adjusted difference of one quantity against its published value.
ValidationRow Difference(const std::string& section, const std::string& what, const MeanDifference& ours,
                         const PublishedDifference& published, double tolerance_sd, int n1, int n2,
                         const std::string& source) {
  const double design = 1.96 * tolerance_sd * std::sqrt(1.0 / n1 + 1.0 / n2);
  const double half = std::max(published.ci_half_width, published.rounding) + design;
  const double lo = published.value - half, hi = published.value + half;
  return Graded(section,
                absl::StrCat("Placebo-adjusted ", what, " difference [ours: 95 % CI ", Fmt(ours.ci95_low, 1), ", ",
                             Fmt(ours.ci95_high, 1), "]"),
                ours.difference, 1, lo, hi,
                absl::StrCat(published.as_published, "; accepted ", Fmt(lo, 1), " to ", Fmt(hi, 1)), source);
}

}  // namespace

const std::vector<PublishedTrial>& PublishedTrials() {
  static const std::vector<PublishedTrial> kTrials = {
      {"musini2014-hydrochlorothiazide-25mg.json",
       "hydrochlorothiazide 25 mg vs placebo, 8 weeks (Musini 2014)",
       "Musini, Nazer, Bassett, Wright, Cochrane Database Syst Rev 2014;(5):CD003824, Summary of findings: 25 "
       "trials, 3062 participants, mean 8 weeks; SBP with its CI, DBP the abstract's rounded 8/3 (CI not read)",
       {-8.0, 1.0, 0.05, "-8.0 [-9.0, -7.0]"},
       {-3.0, 0.0, 0.5, "-3 (rounded)"}},
      {"heran2008-ace-inhibitor-half-max.json",
       "lisinopril 40 mg (1/2 maximum dose) vs placebo, 6 weeks (Heran 2008)",
       "Heran, Wong, Heran, Wright, Cochrane Database Syst Rev 2008;(4):CD003823, abstract: ACE inhibitors at 1/2 "
       "the maximum dose and above, 92 trials, 12,954 participants, baseline 157/101, -8/-5 mmHg (rounded, CI not "
       "read)",
       {-8.0, 0.0, 0.5, "-8 (rounded)"},
       {-5.0, 0.0, 0.5, "-5 (rounded)"}},
      {"law2003-amlodipine-standard-dose.json",
       "amlodipine 5 mg (standard dose) vs placebo, 4 weeks (Law 2003)",
       "Law, Wald, Morris, Jordan, BMJ 2003;326:1427, abstract: standard dose, all five classes, 354 trials, "
       "9.1/5.5 mmHg (no CI in the abstract); median duration 4 weeks (Evid Based Med 2004;9:11)",
       {-9.1, 0.0, 0.05, "-9.1"},
       {-5.5, 0.0, 0.05, "-5.5"}},
  };
  return kTrials;
}

absl::StatusOr<std::vector<ValidationRow>> RunTrialReproductions(const std::string& specs_dir) {
  std::vector<ValidationRow> rows;
  for (const PublishedTrial& trial : PublishedTrials()) {
    const std::string path = specs_dir + "/" + trial.spec_file;
    absl::StatusOr<CohortSpec> spec = ReadSpec(path);
    if (!spec.ok()) return spec.status();
    absl::StatusOr<CohortResult> r = RunCohort(*spec, {.threads = 0, .progress = {}});
    if (!r.ok()) return absl::Status(r.status().code(), absl::StrCat(path, ": ", r.status().message()));
    const std::string section = "Reproduction: " + trial.title;
    const ArmSummary& placebo = r->arms[0];
    const ArmSummary& drug = r->arms[1];
    const int n1 = placebo.analysed, n2 = drug.analysed;
    rows.push_back(Graded(section, absl::StrCat("Placebo arm: mean SBP change (n ", n1, ")"),
                          placebo.sbp_mmhg.mean_change, 1, -10.0, -4.0, "-10.0 to -4.0", kPlaceboChangeSource));
    ValidationRow drug_change = Graded(section, absl::StrCat("Drug arm: mean SBP change (n ", n2, ")"),
                                       drug.sbp_mmhg.mean_change, 1, -INFINITY, INFINITY, "—", kNotReported);
    drug_change.grade = Grade::kInfo;
    rows.push_back(std::move(drug_change));
    rows.push_back(Difference(section, "SBP", drug.placebo_adjusted.sbp_mmhg, trial.sbp, kToleranceSbpSdMmhg, n1, n2,
                              trial.source));
    // Shown with the grade it would have, not counted: the engine's linear arterial compliance makes DBP fall
    // almost as much as SBP (issue 17 item 1, models/README.md "Known limits"), so every DBP row is a known miss.
    ValidationRow dbp = Difference(section, "DBP", drug.placebo_adjusted.dbp_mmhg, trial.dbp, kToleranceDbpSdMmhg, n1,
                                   n2, trial.source);
    dbp.source = absl::StrCat(dbp.source,
                              ". A known miss, not counted: DBP falls almost as much as SBP in our engine, the SBP/DBP "
                              "split of issue 17 item 1");
    dbp.not_counted = dbp.grade;
    dbp.grade = Grade::kInfo;
    rows.push_back(std::move(dbp));
    rows.push_back(Graded(section, "Drug arm: SD of SBP change", drug.sbp_mmhg.sd_change, 1, 10.0, 16.0, "10.0 to 16.0",
                          kSdChangeSource));
    const double width = drug.placebo_adjusted.sbp_mmhg.ci95_high - drug.placebo_adjusted.sbp_mmhg.ci95_low;
    const double scale = 2 * 1.96 * std::sqrt(1.0 / n1 + 1.0 / n2);
    rows.push_back(Graded(section, absl::StrCat("Placebo-adjusted SBP difference: 95 % CI width (n ", n1, "/", n2, ")"),
                          width, 1, 10.0 * scale, 16.0 * scale,
                          absl::StrCat(Fmt(10.0 * scale, 1, false), " to ", Fmt(16.0 * scale, 1, false)), kCiSource));
  }
  return rows;
}

}  // namespace healthtwin::models::treatment
