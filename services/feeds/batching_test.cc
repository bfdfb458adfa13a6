#include "services/feeds/batching.h"

#include "gtest/gtest.h"

namespace healthtwin::feeds {
namespace {

VitalRow Row(int64_t seq, const std::string& patient) {
  VitalRow r;
  r.ingest_seq = seq;
  r.patient_id = patient;
  return r;
}

TEST(MessageIdTest, FollowMigration0013) {
  EXPECT_EQ(AlertMessageId(3, 42), "ht-3-a42");
  EXPECT_EQ(VitalsMessageId(3, 10, 19), "ht-3-v10-19");
}

TEST(BatchVitalsTest, OneBatchPerPatientInIngestOrder) {
  const std::vector<VitalRow> rows = {Row(1, "p1"), Row(2, "p2"), Row(3, "p1"), Row(5, "p2")};
  const auto batches = BatchVitalsByPatient(rows, 100);
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].front().ingest_seq, 1);
  EXPECT_EQ(batches[0].back().ingest_seq, 3);
  EXPECT_EQ(batches[1].front().ingest_seq, 2);
  EXPECT_EQ(batches[1].back().ingest_seq, 5);
}

TEST(BatchVitalsTest, SplitsAPatientAtTheLimitKeepingOrder) {
  std::vector<VitalRow> rows;
  for (int i = 1; i <= 5; ++i) rows.push_back(Row(i, "p1"));
  const auto batches = BatchVitalsByPatient(rows, 2);
  ASSERT_EQ(batches.size(), 3u);
  EXPECT_EQ(batches[0].back().ingest_seq, 2);
  EXPECT_EQ(batches[1].front().ingest_seq, 3);
  EXPECT_EQ(batches[2].front().ingest_seq, 5);
}

TEST(BatchVitalsTest, NothingInNothingOut) { EXPECT_TRUE(BatchVitalsByPatient({}, 10).empty()); }

}  // namespace
}  // namespace healthtwin::feeds
