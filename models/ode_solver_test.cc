#include "models/ode_solver.h"

#include <cmath>
#include <numbers>

#include <gtest/gtest.h>

namespace healthtwin::models {
namespace {

// y' = -k y, y(0) = 1: y(t) = exp(-k t).
class ExponentialDecay final : public OdeSystem {
 public:
  explicit ExponentialDecay(double k_per_s) : k_per_s_(k_per_s) {}
  std::size_t Dimension() const override { return 1; }
  void Derivatives(double, std::span<const double> y, std::span<double> dydt) const override {
    dydt[0] = -k_per_s_ * y[0];
  }

 private:
  double k_per_s_;
};

// x'' = -w^2 x as (x, v); x(0) = 1, v(0) = 0: x(t) = cos(w t).
class HarmonicOscillator final : public OdeSystem {
 public:
  explicit HarmonicOscillator(double omega_rad_s) : omega_rad_s_(omega_rad_s) {}
  std::size_t Dimension() const override { return 2; }
  void Derivatives(double, std::span<const double> y, std::span<double> dydt) const override {
    dydt[0] = y[1];
    dydt[1] = -omega_rad_s_ * omega_rad_s_ * y[0];
  }

 private:
  double omega_rad_s_;
};

double DecayError(SolverKind kind, double dt_s) {
  ExponentialDecay system(1.5);
  auto solver = MakeSolver(kind);
  std::vector<double> y = {1.0};
  const int steps = static_cast<int>(std::lround(2.0 / dt_s));
  for (int i = 0; i < steps; ++i) solver->Step(system, i * dt_s, dt_s, y);
  return std::abs(y[0] - std::exp(-1.5 * 2.0));
}

double OscillatorError(SolverKind kind, double dt_s) {
  HarmonicOscillator system(2.0 * std::numbers::pi);
  auto solver = MakeSolver(kind);
  std::vector<double> y = {1.0, 0.0};
  const int steps = static_cast<int>(std::lround(3.0 / dt_s));  // three full periods
  for (int i = 0; i < steps; ++i) solver->Step(system, i * dt_s, dt_s, y);
  return std::hypot(y[0] - 1.0, y[1]);
}

// Observed order from errors at dt and dt/2.
double ObservedOrder(double err_dt, double err_half) { return std::log2(err_dt / err_half); }

class SolverOrderTest : public ::testing::TestWithParam<SolverKind> {};

TEST_P(SolverOrderTest, ExponentialDecayConvergesAtDeclaredOrder) {
  auto solver = MakeSolver(GetParam());
  const double order = ObservedOrder(DecayError(GetParam(), 0.02), DecayError(GetParam(), 0.01));
  EXPECT_NEAR(order, solver->Order(), 0.15) << solver->Name();
}

TEST_P(SolverOrderTest, HarmonicOscillatorConvergesAtDeclaredOrder) {
  auto solver = MakeSolver(GetParam());
  const double dt = GetParam() == SolverKind::kEuler ? 1e-4 : 1e-2;
  const double order = ObservedOrder(OscillatorError(GetParam(), dt), OscillatorError(GetParam(), dt / 2));
  EXPECT_NEAR(order, solver->Order(), 0.15) << solver->Name();
}

INSTANTIATE_TEST_SUITE_P(AllSolvers, SolverOrderTest,
                         ::testing::Values(SolverKind::kEuler, SolverKind::kHeun, SolverKind::kRk4));

TEST(Rk4SolverTest, HarmonicOscillatorAccurateToOneInTenThousandAtHundredStepsPerPeriod) {
  EXPECT_LT(OscillatorError(SolverKind::kRk4, 0.01), 1e-4);
}

TEST(Rk4SolverTest, DecayIsDeterministic) {
  EXPECT_EQ(DecayError(SolverKind::kRk4, 0.01), DecayError(SolverKind::kRk4, 0.01));
}

}  // namespace
}  // namespace healthtwin::models
