#include <limits>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "models/pharmacology/pharmacology.h"

namespace healthtwin::models::pharma {
namespace {

using ::testing::HasSubstr;

Regimen Good() {
  Regimen r;
  r.drug = "amlodipine";
  r.dose_mg = 5;
  return r;
}

std::string Message(const Regimen& r) {
  const absl::Status s = ValidateRegimen(r, "options[1].drugs[0]");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST(ValidateRegimenTest, AcceptsALabelRegimen) { EXPECT_TRUE(ValidateRegimen(Good(), "x").ok()); }

TEST(ValidateRegimenTest, UnknownDrugNamesTheFieldAndListsKnownDrugs) {
  Regimen r = Good();
  r.drug = "aspirin";
  const std::string m = Message(r);
  EXPECT_THAT(m, HasSubstr("options[1].drugs[0].drug"));
  EXPECT_THAT(m, HasSubstr("aspirin"));
  EXPECT_THAT(m, HasSubstr(KnownDrugNamesList()));
}

TEST(ValidateRegimenTest, RejectsNonPositiveOrNonFiniteDose) {
  for (double dose : {0.0, -5.0, std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity()}) {
    Regimen r = Good();
    r.dose_mg = dose;
    r.off_label = true;
    EXPECT_THAT(Message(r), HasSubstr("options[1].drugs[0].dose_mg")) << dose;
  }
}

TEST(ValidateRegimenTest, OutOfLabelDoseGivesTheRangeUnlessOffLabel) {
  Regimen r = Good();
  r.dose_mg = 20;
  const std::string m = Message(r);
  EXPECT_THAT(m, HasSubstr("options[1].drugs[0].dose_mg"));
  EXPECT_THAT(m, HasSubstr("2.5-10 mg"));
  EXPECT_THAT(m, HasSubstr("off_label"));
  r.off_label = true;
  EXPECT_TRUE(ValidateRegimen(r, "x").ok());
  r.dose_mg = 1;
  EXPECT_TRUE(ValidateRegimen(r, "x").ok());
}

TEST(ValidateRegimenTest, RejectsBadIntervalAdherenceStartStopAndMissedIndex) {
  Regimen r = Good();
  r.interval_h = 0;
  EXPECT_THAT(Message(r), HasSubstr(".interval_h"));
  r.interval_h = 169;
  EXPECT_THAT(Message(r), HasSubstr(".interval_h"));
  r = Good();
  r.adherence = 0;
  EXPECT_THAT(Message(r), HasSubstr(".adherence"));
  r.adherence = 1.01;
  EXPECT_THAT(Message(r), HasSubstr(".adherence"));
  r = Good();
  r.start_h = -1;
  EXPECT_THAT(Message(r), HasSubstr(".start_h"));
  r = Good();
  r.start_h = 10;
  r.stop_h = 10;
  EXPECT_THAT(Message(r), HasSubstr(".stop_h"));
  r = Good();
  r.missed_doses = {2, -1};
  EXPECT_THAT(Message(r), HasSubstr(".missed_doses[1]"));
}

TEST(TreatmentPkPdTest, CreateNamesTheBadRegimenAndCovariate) {
  Regimen bad = Good();
  bad.drug = "nope";
  auto pk = TreatmentPkPd::Create({Good(), bad}, {}, {}, 1);
  ASSERT_FALSE(pk.ok());
  EXPECT_THAT(std::string(pk.status().message()), HasSubstr("regimens[1].drug"));
  PkCovariates cov;
  cov.weight_kg = 5;
  pk = TreatmentPkPd::Create({Good()}, cov, {}, 1);
  ASSERT_FALSE(pk.ok());
  EXPECT_THAT(std::string(pk.status().message()), HasSubstr("weight_kg"));
  ResponseSensitivity sens;
  sens.by_class[3] = -1;
  pk = TreatmentPkPd::Create({Good()}, {}, sens, 1);
  ASSERT_FALSE(pk.ok());
  EXPECT_THAT(std::string(pk.status().message()), HasSubstr("sensitivity.by_class[3] (ccb)"));
}

}  // namespace
}  // namespace healthtwin::models::pharma
