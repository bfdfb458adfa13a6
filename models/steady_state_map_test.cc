#include "models/steady_state_map.h"

#include <cmath>

#include <gtest/gtest.h>

#include "models/patient.h"

namespace healthtwin::models {
namespace {

// Off-grid points, one modifier at a time and combined. The promise in the header:
// MAP and HR within 1.5 %, CO within 3 %.
TEST(SteadyStateMapTest, AgreesWithTheEngineOffGrid) {
  const ModelParams p = StandardAdult();
  absl::StatusOr<SteadyStateMap> map = SteadyStateMap::Build(p);
  ASSERT_TRUE(map.ok()) << map.status();
  const double v0 = p.circulation.total_blood_volume_ml;
  const double pn0 = p.baroreflex.set_point_mmhg;
  struct Case {
    double volume_factor, set_point_offset;
    EffectorModifiers m;
  };
  const Case cases[] = {
      {1.05, 6.0, {}},
      {0.93, -8.0, {}},
      {1.17, 17.0, {}},
      {1.0, 0.0, {.heart_rate_factor = 0.8}},
      {1.0, 0.0, {.contractility_factor = 0.9}},
      {1.0, 0.0, {.systemic_resistance_factor = 0.9}},
      {1.0, 0.0, {.venous_unstressed_delta_ml = 150.0}},
      {1.06, 5.0, {.heart_rate_factor = 0.9, .systemic_resistance_factor = 0.92}},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Haemodynamics> e = EngineSteadyState(p, c.volume_factor * v0, pn0 + c.set_point_offset, c.m);
    ASSERT_TRUE(e.ok()) << e.status();
    const Haemodynamics m = map->At(c.volume_factor * v0, pn0 + c.set_point_offset, c.m);
    EXPECT_FALSE(m.extrapolated);
    EXPECT_NEAR(m.map_mmhg / e->map_mmhg, 1.0, 0.015) << c.volume_factor << " " << c.set_point_offset;
    EXPECT_NEAR(m.heart_rate_bpm / e->heart_rate_bpm, 1.0, 0.015) << c.volume_factor << " " << c.set_point_offset;
    EXPECT_NEAR(m.cardiac_output_l_per_min / e->cardiac_output_l_per_min, 1.0, 0.03)
        << c.volume_factor << " " << c.set_point_offset;
  }
}

TEST(SteadyStateMapTest, ExactOnTheNominalNodeAndFlagsExtrapolation) {
  const ModelParams p = StandardAdult();
  absl::StatusOr<SteadyStateMap> map = SteadyStateMap::Build(p);
  ASSERT_TRUE(map.ok()) << map.status();
  absl::StatusOr<Haemodynamics> e =
      EngineSteadyState(p, p.circulation.total_blood_volume_ml, p.baroreflex.set_point_mmhg, {});
  ASSERT_TRUE(e.ok());
  const Haemodynamics m = map->At(p.circulation.total_blood_volume_ml, p.baroreflex.set_point_mmhg, {});
  EXPECT_DOUBLE_EQ(m.map_mmhg, e->map_mmhg);
  EXPECT_FALSE(m.extrapolated);
  EXPECT_TRUE(map->At(1.5 * p.circulation.total_blood_volume_ml, p.baroreflex.set_point_mmhg, {}).extrapolated);
}

}  // namespace
}  // namespace healthtwin::models
