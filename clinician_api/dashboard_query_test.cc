#include "clinician_api/dashboard_query.h"

#include <gtest/gtest.h>

namespace healthtwin::clinician {
namespace {

constexpr int64_t kHourUs = int64_t{3600} * 1'000'000;
constexpr int64_t kNowUs = int64_t{1'796'083'200} * 1'000'000;  // 2026-12-01T00:00:00Z

using Params = std::multimap<std::string, std::string>;

void ExpectError(const Params& p, const std::string& field) {
  auto q = ParseVitalsQuery(p, kNowUs);
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(q.status().message()).rfind(field + ":", 0), 0u) << q.status();
}

TEST(DashboardQuery, DefaultsToTheLastDayOfHeartRateRaw) {
  auto q = ParseVitalsQuery({}, kNowUs);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->types, std::vector<int>{1});
  EXPECT_EQ(q->to_us, kNowUs);
  EXPECT_EQ(q->from_us, kNowUs - 24 * kHourUs);
  EXPECT_EQ(q->bucket_s, 0u);
}

TEST(DashboardQuery, LongRangesAreBucketedToAboutTwoThousandWholeMinutes) {
  auto q = ParseVitalsQuery({{"from", "2026-11-01T00:00:00Z"}, {"to", "2026-12-01T00:00:00Z"}}, kNowUs);
  ASSERT_TRUE(q.ok()) << q.status();
  // 30 days = 2,592,000 s / 2000 = 1296 s, rounded up to whole minutes: 1320 s (1964 buckets).
  EXPECT_EQ(q->bucket_s, 1320u);
  auto two_days = ParseVitalsQuery({{"from", "2026-11-29T00:00:00Z"}, {"to", "2026-12-01T00:00:00Z"}}, kNowUs);
  ASSERT_TRUE(two_days.ok());
  EXPECT_EQ(two_days->bucket_s, 0u);  // 48 h exactly: still raw
  auto forced = ParseVitalsQuery({{"from", "2026-11-01T00:00:00Z"}, {"bucket_s", "0"}}, kNowUs);
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ(forced->bucket_s, 0u);
}

TEST(DashboardQuery, SeveralTypesOnceEach) {
  auto q = ParseVitalsQuery({{"type", "systolic_bp,diastolic_bp,systolic_bp"}}, kNowUs);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->types, (std::vector<int>{2, 3}));
}

TEST(DashboardQuery, BadInputNamesTheField) {
  ExpectError({{"type", "mood"}}, "type");
  ExpectError({{"type", ""}}, "type");
  ExpectError({{"from", "yesterday"}}, "from");
  ExpectError({{"to", "2026-12-01"}}, "to");
  ExpectError({{"from", "2026-12-01T00:00:00Z"}, {"to", "2026-12-01T00:00:00Z"}}, "from");
  ExpectError({{"from", "2024-01-01T00:00:00Z"}}, "from");  // longer than 400 days
  ExpectError({{"bucket_s", "-5"}}, "bucket_s");
  ExpectError({{"bucket_s", "86401"}}, "bucket_s");
  ExpectError({{"limit", "5"}}, "limit");
  ExpectError({{"from", "2026-11-30T00:00:00Z"}, {"from", "2026-11-30T01:00:00Z"}}, "from");
}

TEST(DashboardQuery, PatientIds) {
  EXPECT_TRUE(IsPatientId("pat-a.1_B"));
  EXPECT_FALSE(IsPatientId(""));
  EXPECT_FALSE(IsPatientId("pat a"));
  EXPECT_FALSE(IsPatientId("../etc"));
  EXPECT_FALSE(IsPatientId(std::string(65, 'a')));
}

}  // namespace
}  // namespace healthtwin::clinician
