#include "models/ode_solver.h"

#include <cassert>

namespace healthtwin::models {
namespace {

// Forward Euler: first order; kept for tests and as a cheap reference.
class EulerSolver final : public OdeSolver {
 public:
  std::string_view Name() const override { return "euler"; }
  int Order() const override { return 1; }
  void Step(const OdeSystem& system, double t_s, double dt_s, std::span<double> y) override {
    const std::size_t n = system.Dimension();
    assert(y.size() == n);
    k1_.resize(n);
    system.Derivatives(t_s, y, k1_);
    for (std::size_t i = 0; i < n; ++i) y[i] += dt_s * k1_[i];
  }

 private:
  std::vector<double> k1_;
};

// Heun's method (explicit trapezoid): second order.
class HeunSolver final : public OdeSolver {
 public:
  std::string_view Name() const override { return "heun"; }
  int Order() const override { return 2; }
  void Step(const OdeSystem& system, double t_s, double dt_s, std::span<double> y) override {
    const std::size_t n = system.Dimension();
    assert(y.size() == n);
    k1_.resize(n);
    k2_.resize(n);
    tmp_.resize(n);
    system.Derivatives(t_s, y, k1_);
    for (std::size_t i = 0; i < n; ++i) tmp_[i] = y[i] + dt_s * k1_[i];
    system.Derivatives(t_s + dt_s, tmp_, k2_);
    for (std::size_t i = 0; i < n; ++i) y[i] += 0.5 * dt_s * (k1_[i] + k2_[i]);
  }

 private:
  std::vector<double> k1_, k2_, tmp_;
};

// Classical fourth-order Runge-Kutta. Its weights sum to one per stage, so any linear invariant
// of the system (total blood volume here) is kept to round-off.
class Rk4Solver final : public OdeSolver {
 public:
  std::string_view Name() const override { return "rk4"; }
  int Order() const override { return 4; }
  void Step(const OdeSystem& system, double t_s, double dt_s, std::span<double> y) override {
    const std::size_t n = system.Dimension();
    assert(y.size() == n);
    k1_.resize(n);
    k2_.resize(n);
    k3_.resize(n);
    k4_.resize(n);
    tmp_.resize(n);
    const double h2 = 0.5 * dt_s;
    system.Derivatives(t_s, y, k1_);
    for (std::size_t i = 0; i < n; ++i) tmp_[i] = y[i] + h2 * k1_[i];
    system.Derivatives(t_s + h2, tmp_, k2_);
    for (std::size_t i = 0; i < n; ++i) tmp_[i] = y[i] + h2 * k2_[i];
    system.Derivatives(t_s + h2, tmp_, k3_);
    for (std::size_t i = 0; i < n; ++i) tmp_[i] = y[i] + dt_s * k3_[i];
    system.Derivatives(t_s + dt_s, tmp_, k4_);
    const double h6 = dt_s / 6.0;
    for (std::size_t i = 0; i < n; ++i) y[i] += h6 * (k1_[i] + 2.0 * (k2_[i] + k3_[i]) + k4_[i]);
  }

 private:
  std::vector<double> k1_, k2_, k3_, k4_, tmp_;
};

}  // namespace

std::unique_ptr<OdeSolver> MakeSolver(SolverKind kind) {
  switch (kind) {
    case SolverKind::kEuler: return std::make_unique<EulerSolver>();
    case SolverKind::kHeun: return std::make_unique<HeunSolver>();
    case SolverKind::kRk4: return std::make_unique<Rk4Solver>();
  }
  return nullptr;
}

}  // namespace healthtwin::models
