// The validation table: model values against published references, graded.
//
// RunValidation() simulates the standard adult, each condition, a 10 % haemorrhage and two
// numerics checks, deterministically; RenderValidationMarkdown() turns the rows into
// models/VALIDATION.md. A golden test keeps the committed file equal to what the code produces.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::models {

enum class Grade { kGreen, kYellow, kRed, kInfo };

// Inside [lo, hi], or less than 10 % outside the nearer bound: green; less than 30 %: yellow.
Grade GradeAgainstRange(double value, double lo, double hi);

struct ValidationRow {
  std::string section;
  std::string quantity;
  std::string unit;
  double value = 0.0;
  int decimals = 1;
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  std::string reference;  // as printed, e.g. "60-100"
  std::string source;
  Grade grade = Grade::kInfo;
  // A known miss: the grade the value has against its range, printed ("red, not counted") and
  // summed apart in the summary, while `grade` stays kInfo. `source` names the limit.
  Grade not_counted = Grade::kInfo;
};

absl::StatusOr<std::vector<ValidationRow>> RunValidation();
std::string RenderValidationMarkdown(const std::vector<ValidationRow>& rows);

}  // namespace healthtwin::models
