// Local sensitivity and practical identifiability of the candidate twin parameters from
// wearable observables, at the patient's resting steady state.
//
// Method (Brun, Reichert & Künsch, Water Res 35:3705, 2001, "Practical identifiability
// analysis of large environmental simulation models"): the normalised sensitivity
//   s_ij = (dy_i / dtheta_j) * dtheta_j_scale / y_i_scale,
// with dtheta_j_scale the population prior SD of parameter j (prior.h) and y_i_scale the
// single-reading measurement SD of observable i; central differences on the real
// beat-resolved engine (EngineSteadyState, not the surrogate map). From S:
//   - importance delta_j = sqrt(mean_i s_ij^2),
//   - singular values and condition number of S (Fisher information F = S^T S),
//   - Brun's collinearity index gamma_K = 1 / sqrt(min eig(S~_K^T S~_K)) for every subset K,
//     S~ the column-normalised S (gamma > 10-15: the subset is practically unidentifiable),
//   - posterior correlations of the subset with the prior added (F_K + P^-1).
// Observables are the resting HR, SBP and DBP; SpO2 and temperature do not depend on any
// candidate in the model (zero rows), and weight depends only on blood volume through an
// unknown dry-weight offset, so it informs changes of blood volume, not its level.
//
// Cost: 1 + 2 x 6 engine steady states (about 0.25 s at -O2). Stateless; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/calibration/parameters.h"
#include "models/calibration/prior.h"
#include "models/circulation_params.h"

namespace healthtwin::models::calibration {

struct SubsetIdentifiability {
  std::vector<Param> params;
  double collinearity_index = 0.0;  // Brun's gamma_K
  double determinant_measure = 0.0; // det(S_K^T S_K)^(1/(2k)), Brun's rho_K
};

struct IdentifiabilityResult {
  std::vector<Param> params;                      // all candidates, column order
  std::vector<Vital> observables;                 // row order: HR, SBP, DBP
  std::vector<double> nominal_values;             // per observable
  std::vector<std::vector<double>> sensitivity;   // normalised, [observable][param]
  std::vector<double> importance;                 // delta_j, per param
  std::vector<double> singular_values;            // of S, descending
  double condition_number = 0.0;                  // largest / smallest of the first rank values
  std::vector<SubsetIdentifiability> subsets;     // every subset of size 2..4, by gamma ascending
  // The chosen estimable set (the identifiable triple with the largest determinant measure)
  // and its posterior correlation matrix with the prior, row-major.
  std::vector<Param> chosen;
  std::vector<double> chosen_correlation;
};

// `prior` gives the parameter scales (its SDs); pass the patient's own (conditions, age).
absl::StatusOr<IdentifiabilityResult> AnalyseIdentifiability(const ModelParams& nominal, const PriorInputs& prior = {});

// The tables for models/README.md.
std::string RenderIdentifiabilityMarkdown(const IdentifiabilityResult& result);

}  // namespace healthtwin::models::calibration
