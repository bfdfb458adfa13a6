// ValidateRegimen: every error names the field, so a service can return it as INVALID_ARGUMENT.
#include <cmath>

#include "absl/strings/str_cat.h"
#include "models/pharmacology/pharmacology.h"

namespace healthtwin::models::pharma {
namespace {

constexpr double kMaxIntervalH = 168.0;  // one week

std::string Num(double v) { return absl::StrCat(v); }

}  // namespace

absl::Status ValidateRegimen(const Regimen& r, std::string_view field_sv) {
  const absl::string_view field(field_sv.data(), field_sv.size());
  const DrugInfo* d = FindDrug(r.drug);
  if (d == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".drug: unknown drug '", r.drug,
                                                   "'; known drugs: ", KnownDrugNamesList()));
  }
  if (!std::isfinite(r.dose_mg) || r.dose_mg <= 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".dose_mg: must be a positive finite number, got ", Num(r.dose_mg)));
  }
  if (!r.off_label && (r.dose_mg < d->label_min_dose_mg || r.dose_mg > d->label_max_dose_mg)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".dose_mg: ", Num(r.dose_mg), " mg is outside the label range for ", std::string(d->name), " (",
        Num(d->label_min_dose_mg), "-", Num(d->label_max_dose_mg), " mg per dose); set off_label to accept it"));
  }
  if (!std::isfinite(r.interval_h) || r.interval_h <= 0.0 || r.interval_h > kMaxIntervalH) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".interval_h: must be in (0, 168] hours, got ", Num(r.interval_h)));
  }
  if (!std::isfinite(r.adherence) || r.adherence <= 0.0 || r.adherence > 1.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".adherence: must be in (0, 1], got ", Num(r.adherence)));
  }
  if (!std::isfinite(r.start_h) || r.start_h < 0.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".start_h: must be a finite number >= 0, got ", Num(r.start_h)));
  }
  if (std::isnan(r.stop_h) || r.stop_h <= r.start_h) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".stop_h: must be after start_h (", Num(r.start_h), "), got ", Num(r.stop_h)));
  }
  for (std::size_t i = 0; i < r.missed_doses.size(); ++i) {
    if (r.missed_doses[i] < 0) {
      return absl::InvalidArgumentError(absl::StrCat(field, ".missed_doses[", i,
                                                     "]: dose indices are 0-based and >= 0, got ",
                                                     r.missed_doses[i]));
    }
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::models::pharma
