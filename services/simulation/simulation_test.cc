// Request checks of the simulation service that need no server or database.
#include <cstdint>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/simulation/engines.h"
#include "services/simulation/simulation_service.h"

namespace healthtwin::simulation {
namespace {

using ::testing::HasSubstr;

v1::WhatIfRequest OneDrug(uint32_t start_day, uint32_t stop_day) {
  v1::WhatIfRequest req;
  req.set_patient_id("pat-0001");
  req.set_days(30);
  v1::DrugRegimen* d = req.add_options()->add_drugs();
  req.mutable_options(0)->set_name("amlodipine");
  d->set_drug("amlodipine");
  d->set_dose_mg(5);
  d->set_interval_h(24);
  d->set_adherence_fraction(1);
  d->set_start_day(start_day);
  d->set_stop_day(stop_day);
  return req;
}

absl::Status WhatIfStatus(const v1::WhatIfRequest& req) {
  const SimulationEngines engines = MakeTreatmentEngines(1);
  // The request is checked before the patient is used, so an empty patient will do.
  return engines.run_whatif(WhatIfPatient{}, req, {}).status();
}

// stop_day used to be cast to int first: 3000000000 became -1294967296 in the error.
TEST(WhatIfRequestTest, DayAboveTheLongestSimulationIsRejectedWithTheValueSent) {
  absl::Status s = WhatIfStatus(OneDrug(1, 3'000'000'000u));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("options[0].drugs[0].stop_day: 3000000000; at most 365"));
  s = WhatIfStatus(OneDrug(4'294'967'295u, 0));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("options[0].drugs[0].start_day: 4294967295; at most 365"));
}

const std::string kCsv = "patient,arm\n1,a\n2,a\n3,a\n";

TEST(CsvPageTest, ReturnsTheRowsAskedForAndTheTotal) {
  uint32_t total = 0;
  EXPECT_EQ(CsvPage(kCsv, 1, 1, total), "patient,arm\n2,a\n");
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(CsvPage(kCsv, 0, 5000, total), kCsv);
}

// offset + limit used to be summed in uint32; the page must not depend on that sum.
TEST(CsvPageTest, OffsetAndLimitNearTheTopOfUint32DoNotWrap) {
  uint32_t total = 0;
  EXPECT_EQ(CsvPage(kCsv, UINT32_MAX, UINT32_MAX, total), "patient,arm\n");
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(CsvPage(kCsv, 2, UINT32_MAX, total), "patient,arm\n3,a\n");
}

}  // namespace
}  // namespace healthtwin::simulation
