// Fixed-step explicit ODE solvers behind one small interface.
//
// The physiology (CirculationOde and friends) only describes dy/dt; which integrator advances
// it is a separate choice, so numerics can be tested on textbook problems and swapped without
// touching the equations (the Pulse engine keeps its solver apart from its physiology the same
// way).
//
// Ownership and threads: a solver owns scratch buffers sized on first use, so one solver
// instance must not be shared between threads. OdeSystem::Derivatives must be a pure function
// of (t, y) and the system's own state at the time of the call.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace healthtwin::models {

class OdeSystem {
 public:
  virtual ~OdeSystem() = default;
  virtual std::size_t Dimension() const = 0;
  // Writes dy/dt at (t_s, y) into dydt. y and dydt have Dimension() elements and never alias.
  virtual void Derivatives(double t_s, std::span<const double> y, std::span<double> dydt) const = 0;
};

enum class SolverKind { kEuler, kHeun, kRk4 };

class OdeSolver {
 public:
  virtual ~OdeSolver() = default;
  virtual std::string_view Name() const = 0;
  // Global order of accuracy on smooth problems.
  virtual int Order() const = 0;
  // Advances y in place from t_s to t_s + dt_s. Precondition: y.size() == system.Dimension().
  virtual void Step(const OdeSystem& system, double t_s, double dt_s, std::span<double> y) = 0;
};

std::unique_ptr<OdeSolver> MakeSolver(SolverKind kind);

}  // namespace healthtwin::models
