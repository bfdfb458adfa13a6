#include "clinician_api/cli/whatif_options.h"

#include <google/protobuf/util/json_util.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"
#include "models/treatment/treatment_json.h"

namespace healthtwin::cli {
namespace {

namespace v1 = healthtwin::simulation::v1;
namespace mt = healthtwin::models::treatment;

// The last day's band of `quantity` in `o`, or zeros when the option has none.
v1::DailyBand LastDay(const v1::OptionResult& o, std::string_view quantity) {
  for (const v1::Trajectory& t : o.trajectories()) {
    if (t.quantity() == quantity && t.days_size() > 0) return t.days(t.days_size() - 1);
  }
  return {};
}

}  // namespace

void AddWhatIfFlags(CLI::App& cmd, WhatIfFlags& flags) {
  cmd.add_option("--options", flags.options_path, "options JSON file (docs/simulation-specs.md)")->required();
  cmd.add_option("--days", flags.days, "days to simulate")->check(CLI::Range(1, 365));
  cmd.add_option("--ensemble", flags.ensemble, "ensemble members drawn from the twin's posterior")
      ->check(CLI::Range(1, 1000));
  cmd.add_option("--seed", flags.seed, "random seed");
  cmd.add_flag("--json", flags.json, "print JSON");
}

std::optional<v1::WhatIfRequest> WhatIfRequestOf(const WhatIfFlags& flags, std::ostream& err) {
  std::ifstream f(flags.options_path, std::ios::binary);
  if (!f) {
    err << "healthtwin: --options: cannot read '" << flags.options_path << "'\n";
    return std::nullopt;
  }
  std::stringstream text;
  text << f.rdbuf();
  mt::WhatIfSpec defaults;
  defaults.days = flags.days;
  defaults.ensemble_size = flags.ensemble;
  defaults.seed = flags.seed;
  absl::StatusOr<mt::WhatIfSpec> spec = mt::ParseWhatIfOptions(text.str(), defaults);
  if (!spec.ok()) {
    err << "healthtwin: --options " << flags.options_path << ": " << spec.status().message() << "\n";
    return std::nullopt;
  }
  v1::WhatIfRequest req;
  req.set_days(static_cast<uint32_t>(spec->days));
  req.set_ensemble_size(static_cast<uint32_t>(spec->ensemble_size));
  req.set_seed(spec->seed);
  req.mutable_target()->set_systolic_below_mmhg(spec->target.systolic_below_mmhg);
  req.mutable_target()->set_diastolic_below_mmhg(spec->target.diastolic_below_mmhg);
  for (const mt::TreatmentOption& o : spec->options) {
    v1::TreatmentOption* po = req.add_options();
    po->set_name(o.name);
    if (o.sodium_intake_mmol_per_day) po->set_sodium_intake_mmol_per_day(*o.sodium_intake_mmol_per_day);
    if (o.fluid_intake_l_per_day) po->set_fluid_intake_l_per_day(*o.fluid_intake_l_per_day);
    for (const mt::DrugRegimen& d : o.drugs) {
      v1::DrugRegimen* pd = po->add_drugs();
      pd->set_drug(d.drug);
      pd->set_dose_mg(d.dose_mg);
      pd->set_interval_h(d.interval_h);
      pd->set_adherence_fraction(d.adherence_fraction);
      pd->set_start_day(static_cast<uint32_t>(d.start_day));
      pd->set_stop_day(static_cast<uint32_t>(d.stop_day));
      pd->set_off_label(d.off_label);
    }
  }
  return req;
}

void PrintWhatIfResult(const v1::WhatIfRequest& req, const v1::WhatIfResult& result, std::string_view who, bool json,
                       std::ostream& out) {
  if (json) {
    std::string text;
    google::protobuf::util::JsonPrintOptions o;
    o.preserve_proto_field_names = true;
    o.add_whitespace = true;
    (void)google::protobuf::util::MessageToJsonString(result, &text, o);
    out << text << "\n";
    return;
  }
  out << absl::StrFormat("%s, %u days, %u ensemble members, twin version %u (0: population prior)\n", who, req.days(),
                         req.ensemble_size(), result.twin_version());
  for (const std::string& a : result.assumptions()) out << "  assumed: " << a << "\n";
  for (const v1::OptionResult& o : result.options()) {
    const v1::DailyBand sbp = LastDay(o, "trough_systolic_mmhg");
    std::string flags;
    for (int f : o.safety_flags()) {
      flags += (flags.empty() ? "" : ",") +
               v1::SafetyFlag_Name(static_cast<v1::SafetyFlag>(f)).substr(std::string("SAFETY_FLAG_").size());
    }
    out << absl::StrFormat("%2u. %-50s trough SBP %5.1f [%5.1f, %5.1f]  at goal %3.0f %%  %s\n", o.rank(), o.name(),
                           sbp.mean(), sbp.lower(), sbp.upper(), 100.0 * o.target_attainment_fraction(),
                           flags.empty() ? "" : "flags: " + flags);
  }
}

}  // namespace healthtwin::cli
