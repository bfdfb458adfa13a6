#include "models/treatment/trial_patient.h"

#include <algorithm>
#include <cmath>

namespace healthtwin::models::treatment {
namespace {

// Lowest implementation fraction passed to the pharmacology library, whose adherence must be > 0.
constexpr double kMinAdherence = 0.01;
// The stop time must follow the first dose (t = 0): one hour at least.
constexpr double kMinStopDay = 1.0 / 24.0;
// The largest sensitivity the pharmacology library accepts (TreatmentPkPd::Create, pkpd.cc).
constexpr double kMaxSensitivity = 5.0;

}  // namespace

double GammaDraw(Rng& rng, double shape) {
  if (shape < 1.0) {
    // Gamma(shape) = Gamma(shape + 1) × U^(1 / shape).
    const double g = GammaDraw(rng, shape + 1.0);
    return g * std::pow(rng.Uniform(), 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x = 0.0, v = 0.0;
    do {
      x = rng.Normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = rng.Uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

double BetaDraw(Rng& rng, double a, double b) {
  const double x = GammaDraw(rng, a);
  const double y = GammaDraw(rng, b);
  if (!(x + y > 0.0)) return a / (a + b);  // both underflowed (tiny shapes)
  return x / (x + y);
}

TrialPatient DrawTrialPatient(const TrialSpec& t, std::uint64_t seed, int patient) {
  TrialPatient p;
  const auto i = static_cast<std::uint64_t>(patient);
  if (t.response_heterogeneity) {
    Rng rng(StreamSeed(seed, {i, 7}));
    p.response_factor = std::exp(t.response_log_sd * rng.TruncatedNormal(3.0));
  }
  if (t.adherence) {
    Rng rng(StreamSeed(seed, {i, 8}));
    const double k = t.adherence_concentration;
    p.adherence = t.adherence_mean >= 1.0
                      ? 1.0
                      : std::max(kMinAdherence, BetaDraw(rng, t.adherence_mean * k, (1.0 - t.adherence_mean) * k));
    if (t.stop_per_year > 0.0) {
      const double hazard_per_day = -std::log1p(-t.stop_per_year) / 365.0;
      p.stop_day = std::max(kMinStopDay, -std::log(rng.Uniform()) / hazard_per_day);
    }
  }
  return p;
}

pharma::ResponseSensitivity ScaleSensitivity(const pharma::ResponseSensitivity& sensitivity, const TrialPatient& p) {
  pharma::ResponseSensitivity s = sensitivity;
  if (p.response_factor != 1.0) {
    for (double& f : s.by_class) f = std::min(kMaxSensitivity, f * p.response_factor);
  }
  return s;
}

std::vector<pharma::Regimen> AsTaken(const std::vector<pharma::Regimen>& regimens, const TrialPatient& p) {
  std::vector<pharma::Regimen> out = regimens;
  for (pharma::Regimen& r : out) {
    r.adherence *= p.adherence;
    if (p.stop_day >= 0.0) r.stop_h = std::min(r.stop_h, 24.0 * p.stop_day);
  }
  return out;
}

}  // namespace healthtwin::models::treatment
