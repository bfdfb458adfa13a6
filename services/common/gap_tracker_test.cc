#include "services/common/gap_tracker.h"

#include <gtest/gtest.h>

#include <chrono>
#include <vector>

namespace healthtwin::common {
namespace {

using V = std::vector<int64_t>;

V Range(int64_t from, int64_t to) {
  V v;
  for (int64_t s = from; s <= to; ++s) v.push_back(s);
  return v;
}

// One consumer round as the PostgreSQL glue runs it: settle with the witnesses still running
// (checked before the read), advance over the read, witness new gaps with the transactions
// in progress after it.
int64_t Round(GapTracker& t, int64_t cursor, const V& seqs, const V& running) {
  V still;
  for (int64_t w : t.Witnesses()) {
    if (std::find(running.begin(), running.end(), w) != running.end()) still.push_back(w);
  }
  t.Settle(still);
  const int64_t to = t.Advance(cursor, seqs);
  if (t.NeedsWitnesses()) t.Witness(running);
  return to;
}

TEST(GapTrackerTest, ContiguousValuesMoveTheCursorToTheLast) {
  GapTracker t;
  EXPECT_EQ(Round(t, 10, Range(11, 20), {}), 20);
  EXPECT_FALSE(t.NeedsWitnesses());
}

TEST(GapTrackerTest, AGapIsNeverPassedInTheRoundThatFirstSeesIt) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 2, 5, 6}, {}), 2);
  EXPECT_EQ(t.tracked_ranges(), 1u);
}

// The values PostgreSQL skips in a crash, or a rollback that ended before the witnessing
// snapshot: no witness runs, so the next round passes the gap.
TEST(GapTrackerTest, AGapWithNoTransactionInFlightIsPassedInTheNextRound) {
  GapTracker t;
  V seqs = Range(1, 166);
  const V after = Range(199, 250);
  seqs.insert(seqs.end(), after.begin(), after.end());
  EXPECT_EQ(Round(t, 0, seqs, {}), 166);
  EXPECT_EQ(Round(t, 166, after, {}), 250);
  EXPECT_EQ(t.tracked_ranges(), 0u);
}

// The case a timed grace got wrong: the writer of 3-4 stalls for as long as it likes.
TEST(GapTrackerTest, AGapWaitsForAsLongAsAWitnessRuns) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 2, 5, 6}, {700, 701}), 2);
  for (int round = 0; round < 100; ++round) EXPECT_EQ(Round(t, 2, V{5, 6}, {701}), 2);
  EXPECT_EQ(t.Witnesses(), (V{700, 701}));
  // 701 commits: its rows are visible in the next read.
  EXPECT_EQ(Round(t, 2, V{3, 4, 5, 6}, {}), 6);
  EXPECT_EQ(t.tracked_ranges(), 0u);
}

TEST(GapTrackerTest, AGapWhoseWitnessesEndedWithoutItIsPassed) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 4}, {9}), 1);
  EXPECT_EQ(Round(t, 1, V{4}, {}), 4);  // 9 rolled back
}

// Transactions that start after the witnessing snapshot cannot hold a missing value, so they
// never hold the gap back.
TEST(GapTrackerTest, TransactionsStartedAfterTheGapWasWitnessedDoNotHoldIt) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 4}, {9}), 1);
  EXPECT_EQ(Round(t, 1, V{4, 5}, {10, 11}), 5);
}

TEST(GapTrackerTest, AValueThatCommitsInsideAGapLeavesTheRestTracked) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 10}, {20, 21}), 1);
  // 5 commits (writer 20 ends); 2-4 and 6-9 are still missing while 21 runs.
  EXPECT_EQ(Round(t, 1, V{5, 10}, {21}), 1);
  EXPECT_EQ(Round(t, 1, V{5, 10}, {}), 10);
}

TEST(GapTrackerTest, GapsBeyondAnUnsettledOneAreWitnessedInTheSameRound) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 3, 5, 7}, {30}), 1);
  EXPECT_EQ(t.tracked_ranges(), 3u);
  EXPECT_FALSE(t.NeedsWitnesses());
  EXPECT_EQ(Round(t, 1, V{3, 5, 7}, {}), 7);
}

// A gap first seen in a later round is witnessed by the transactions running then, not by
// the older gap's witnesses.
TEST(GapTrackerTest, ANewGapBeyondAnOldOneHasItsOwnWitnesses) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 4}, {40}), 1);
  EXPECT_EQ(Round(t, 1, V{4, 8}, {41}), 4);  // 40 ended: 2-3 pass; 5-7 new, witnessed by 41
  EXPECT_EQ(Round(t, 4, V{8}, {41}), 4);
  EXPECT_EQ(Round(t, 4, V{8}, {}), 8);
}

TEST(GapTrackerTest, AnUnwitnessedGapIsNotSettledBySettle) {
  GapTracker t;
  EXPECT_EQ(t.Advance(0, V{1, 3}), 1);
  t.Settle({});
  EXPECT_EQ(t.Advance(1, V{3}), 1);
  EXPECT_TRUE(t.NeedsWitnesses());
}

TEST(GapTrackerTest, AGapHeldLongerThanTheReportAgeIsReportedOnce) {
  GapTracker t;
  EXPECT_EQ(Round(t, 0, V{1, 2, 5, 6, 9}, {700, 701}), 2);
  const auto now = std::chrono::steady_clock::now();
  EXPECT_TRUE(t.TakeHeldLongerThan(std::chrono::seconds(10), now).empty());
  const auto later = now + std::chrono::seconds(11);
  const auto held = t.TakeHeldLongerThan(std::chrono::seconds(10), later);
  ASSERT_EQ(held.size(), 2u);
  EXPECT_EQ(held[0].first, 3);
  EXPECT_EQ(held[0].last, 4);
  EXPECT_EQ(held[0].witnesses, (V{700, 701}));
  EXPECT_GE(held[0].held, std::chrono::seconds(10));
  EXPECT_EQ(held[1].first, 7);
  EXPECT_TRUE(t.TakeHeldLongerThan(std::chrono::seconds(10), later).empty());
}

TEST(GapTrackerTest, ASettledOrUnwitnessedGapIsNotReported) {
  GapTracker t;
  EXPECT_EQ(t.Advance(0, V{1, 3}), 1);  // 2 missing, not yet witnessed
  const auto later = std::chrono::steady_clock::now() + std::chrono::hours(1);
  EXPECT_TRUE(t.TakeHeldLongerThan(std::chrono::seconds(0), later).empty());
  t.Witness(V{700});
  t.Settle(V{});  // 700 ended
  EXPECT_TRUE(t.TakeHeldLongerThan(std::chrono::seconds(0), later).empty());
}

}  // namespace
}  // namespace healthtwin::common
