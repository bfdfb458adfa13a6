#include "models/treatment/treatment_option.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace healthtwin::models::treatment {
namespace {

absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

absl::Status ValidateRegimen(const DrugRegimen& r, int days, std::string_view field_sv) {
  const absl::string_view field = Sv(field_sv);
  // The fields the pharmacology library names differently are checked here first, with our names.
  if (!std::isfinite(r.adherence_fraction) || r.adherence_fraction <= 0.0 || r.adherence_fraction > 1.0) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".adherence_fraction: must be in (0, 1], got ", r.adherence_fraction));
  }
  if (r.start_day < 1 || r.start_day > days) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".start_day: must be in 1..", days, " (the simulated days), got ", r.start_day));
  }
  if (r.stop_day != 0 && r.stop_day < r.start_day) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".stop_day: must be 0 (until the end) or >= start_day (",
                                                   r.start_day, "), got ", r.stop_day));
  }
  return pharma::ValidateRegimen(ToPharmaRegimen(r), field_sv);
}

absl::Status ValidateOption(const TreatmentOption& o, int days, std::string_view field_sv) {
  const absl::string_view field = Sv(field_sv);
  if (o.name.empty()) return absl::InvalidArgumentError(absl::StrCat(field, ".name: must not be empty"));
  if (o.drugs.size() > 8) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".drugs: at most 8 drugs per option, got ", o.drugs.size()));
  }
  for (std::size_t i = 0; i < o.drugs.size(); ++i) {
    if (absl::Status s = ValidateRegimen(o.drugs[i], days, absl::StrCat(field, ".drugs[", i, "]")); !s.ok()) return s;
  }
  if (o.sodium_intake_mmol_per_day &&
      !(*o.sodium_intake_mmol_per_day >= 10.0 && *o.sodium_intake_mmol_per_day <= 600.0)) {
    return absl::InvalidArgumentError(absl::StrCat(
        field, ".sodium_intake_mmol_per_day: must be in 10-600 mmol/day, got ", *o.sodium_intake_mmol_per_day));
  }
  if (o.fluid_intake_l_per_day && !(*o.fluid_intake_l_per_day >= 1.0 && *o.fluid_intake_l_per_day <= 6.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".fluid_intake_l_per_day: must be in 1-6 L/day, got ", *o.fluid_intake_l_per_day));
  }
  return absl::OkStatus();
}

absl::Status ValidateTarget(const Target& t, std::string_view field_sv) {
  const absl::string_view field = Sv(field_sv);
  if (!(t.systolic_below_mmhg >= 80.0 && t.systolic_below_mmhg <= 200.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".systolic_below_mmhg: must be in 80-200 mmHg, got ", t.systolic_below_mmhg));
  }
  if (!(t.diastolic_below_mmhg >= 40.0 && t.diastolic_below_mmhg <= 130.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".diastolic_below_mmhg: must be in 40-130 mmHg, got ", t.diastolic_below_mmhg));
  }
  return absl::OkStatus();
}

pharma::Regimen ToPharmaRegimen(const DrugRegimen& r) {
  pharma::Regimen p;
  p.drug = r.drug;
  p.dose_mg = r.dose_mg;
  p.interval_h = r.interval_h;
  p.start_h = 24.0 * (r.start_day - 1);
  p.stop_h = r.stop_day == 0 ? std::numeric_limits<double>::infinity() : 24.0 * r.stop_day;
  p.adherence = r.adherence_fraction;
  p.missed_doses = r.missed_doses;
  p.off_label = r.off_label;
  return p;
}

std::vector<pharma::Regimen> ToPharmaRegimens(const std::vector<DrugRegimen>& drugs) {
  std::vector<pharma::Regimen> out;
  out.reserve(drugs.size());
  for (const DrugRegimen& d : drugs) out.push_back(ToPharmaRegimen(d));
  return out;
}

}  // namespace healthtwin::models::treatment
