#include "services/common/gap_tracker.h"

#include <gtest/gtest.h>

#include <vector>

namespace healthtwin::common {
namespace {

using std::chrono::milliseconds;

std::vector<int64_t> Range(int64_t from, int64_t to) {
  std::vector<int64_t> v;
  for (int64_t s = from; s <= to; ++s) v.push_back(s);
  return v;
}

TEST(GapTrackerTest, ContiguousValuesMoveTheCursorToTheLast) {
  GapTracker t(milliseconds(2000));
  EXPECT_EQ(t.Advance(10, Range(11, 20), 0), 20);
}

TEST(GapTrackerTest, AYoungGapHoldsTheCursorBeforeIt) {
  GapTracker t(milliseconds(2000));
  EXPECT_EQ(t.Advance(0, std::vector<int64_t>{1, 2, 5, 6}, 1000), 2);
  EXPECT_EQ(t.Advance(2, std::vector<int64_t>{5, 6}, 2999), 2);
}

TEST(GapTrackerTest, AGapOlderThanTheGraceIsPassed) {
  GapTracker t(milliseconds(2000));
  EXPECT_EQ(t.Advance(0, std::vector<int64_t>{1, 2, 5, 6}, 1000), 2);
  EXPECT_EQ(t.Advance(2, std::vector<int64_t>{5, 6}, 3000), 6);
  EXPECT_EQ(t.tracked_ranges(), 0u);
}

// After a PostgreSQL crash the sequence jumps by up to 32: the whole jump ages together.
TEST(GapTrackerTest, ACrashJumpOf32ValuesCostsOneGracePeriod) {
  GapTracker t(milliseconds(2000));
  std::vector<int64_t> seqs = Range(1, 166);
  const std::vector<int64_t> after = Range(199, 250);
  seqs.insert(seqs.end(), after.begin(), after.end());
  EXPECT_EQ(t.Advance(0, seqs, 0), 166);
  EXPECT_EQ(t.Advance(166, after, 2000), 250);
}

TEST(GapTrackerTest, AValueThatCommitsLateInsideAGapKeepsTheRestOld) {
  GapTracker t(milliseconds(2000));
  EXPECT_EQ(t.Advance(0, std::vector<int64_t>{1, 10}, 0), 1);
  // 5 commits late: 2-4 and 6-9 are still missing, and have been since time 0.
  EXPECT_EQ(t.Advance(1, std::vector<int64_t>{5, 10}, 1000), 1);
  EXPECT_EQ(t.Advance(1, std::vector<int64_t>{5, 10}, 2000), 10);
}

TEST(GapTrackerTest, ANewGapBeyondAnOldOneIsAgedFromWhenItIsSeen) {
  GapTracker t(milliseconds(2000));
  EXPECT_EQ(t.Advance(0, std::vector<int64_t>{1, 4}, 0), 1);
  // 2-3 are old at 2500; 5-7 are first seen missing then.
  EXPECT_EQ(t.Advance(1, std::vector<int64_t>{4, 8}, 2500), 4);
  EXPECT_EQ(t.Advance(4, std::vector<int64_t>{8}, 4499), 4);
  EXPECT_EQ(t.Advance(4, std::vector<int64_t>{8}, 4500), 8);
}

TEST(GapTrackerTest, ZeroGracePassesEveryGapAtOnce) {
  GapTracker t(milliseconds(0));
  EXPECT_EQ(t.Advance(0, std::vector<int64_t>{3, 9}, 0), 9);
}

}  // namespace
}  // namespace healthtwin::common
