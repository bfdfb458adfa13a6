// Baroreflex behaviour of the engine: haemorrhage response and set-point resetting.
#include <cmath>

#include <gtest/gtest.h>

#include "models/cardiovascular_engine.h"
#include "models/patient.h"

namespace healthtwin::models {
namespace {

struct HaemorrhageResult {
  BeatSummary before;
  BeatSummary after;
};

HaemorrhageResult Haemorrhage(bool clamp_reflex) {
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(StandardAdult());
  EXPECT_TRUE(e.ok());
  HaemorrhageResult r;
  r.before = SettleAndAverage(*e, 40.0, 10.0);
  e->SetBaroreflexClamped(clamp_reflex);
  e->ExchangeBlood(-0.10 * e->total_blood_volume_ml(), 60.0);
  r.after = SettleAndAverage(*e, 120.0, 10.0);
  return r;
}

TEST(BaroreflexTest, TenPercentHaemorrhageRaisesHeartRateAndLargelyDefendsMap) {
  const HaemorrhageResult closed = Haemorrhage(false);
  const HaemorrhageResult open = Haemorrhage(true);
  EXPECT_GT(closed.after.heart_rate_bpm, closed.before.heart_rate_bpm + 3.0);
  const double closed_drop = closed.before.map_mmhg - closed.after.map_mmhg;
  const double open_drop = open.before.map_mmhg - open.after.map_mmhg;
  EXPECT_LT(closed_drop / closed.before.map_mmhg, 0.12);
  // The reflex removes at least half of the fall the unregulated circulation would show.
  EXPECT_LT(closed_drop, 0.5 * open_drop);
}

TEST(BaroreflexTest, SetPointBarelyMovesInAMinuteWithTheElevenHourHalfTime) {
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(StandardAdult());
  ASSERT_TRUE(e.ok());
  e->SetModifiers({.systemic_resistance_factor = 1.4});
  e->AdvanceSeconds(60.0);
  EXPECT_NEAR(e->baroreflex_set_point_mmhg(), StandardAdult().baroreflex.set_point_mmhg, 0.1);
}

TEST(BaroreflexTest, SetPointResetsTowardTheNewPressureWithItsHalfTime) {
  ModelParams p = StandardAdult();
  p.baroreflex.resetting_half_time_s = 30.0;  // compressed so the test stays short
  absl::StatusOr<CardiovascularEngine> e = CardiovascularEngine::Create(p);
  ASSERT_TRUE(e.ok());
  const BeatSummary before = SettleAndAverage(*e, 30.0, 5.0);
  e->SetModifiers({.systemic_resistance_factor = 1.4});
  const BeatSummary after = SettleAndAverage(*e, 300.0, 10.0);
  EXPECT_GT(e->baroreflex_set_point_mmhg(), p.baroreflex.set_point_mmhg + 5.0);
  // Once reset, the reflex no longer opposes the new resistance as much: pressure rises more.
  EXPECT_GT(after.map_mmhg, before.map_mmhg + 10.0);
}

}  // namespace
}  // namespace healthtwin::models
