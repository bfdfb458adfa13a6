#include "models/scores/cli_commands.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <ostream>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/scores/news2.h"

namespace healthtwin::models::scores::cli {
namespace {

using P = News2Parameter;

constexpr char kPartialNote[] =
    "partial: score and risk are lower bounds; the missing parameters can only raise them, so a partial low is "
    "not reassurance";
constexpr char kAssumedAirNote[] =
    "oxygen not given: SpO2 of 93 or more on scale 2 was scored as on air; on oxygen it would score 1-3 more";

// The flag of each parameter, to name it in an error line.
struct Flag {
  P parameter;
  const char* flag;
};
constexpr Flag kFlags[] = {{P::kRespiratoryRate, "--respiratory-rate"},
                           {P::kSpo2, "--spo2"},
                           {P::kOxygen, "--oxygen"},
                           {P::kSystolic, "--systolic"},
                           {P::kHeartRate, "--heart-rate"},
                           {P::kConsciousness, "--consciousness"},
                           {P::kTemperature, "--temperature"}};

// The library's messages start "<parameter name>: "; the user typed a flag, so name that.
std::string WithFlag(absl::string_view message) {
  for (const Flag& f : kFlags) {
    const std::string prefix = absl::StrCat(News2ParameterName(f.parameter), ": ");
    if (absl::StartsWith(message, prefix)) return absl::StrCat(f.flag, ": ", message.substr(prefix.size()));
  }
  return std::string(message);
}

std::optional<double> Given(const CLI::Option* option, double value) {
  if (option->count() == 0) return std::nullopt;
  return value;
}

std::vector<std::string> MissingNames(const News2Result& r) {
  std::vector<std::string> names;
  for (P p : r.missing) names.emplace_back(News2ParameterName(p));
  return names;
}

void PrintJson(std::ostream& out, const News2Result& r, int scale) {
  nlohmann::ordered_json components = nlohmann::ordered_json::object();
  for (const News2Component& c : r.components) components[std::string(News2ParameterName(c.parameter))] = c.points;
  nlohmann::ordered_json j{{"score", r.score},           {"risk", News2RiskName(r.risk)}, {"partial", r.partial},
                           {"missing", MissingNames(r)}, {"components", components},      {"scale", scale}};
  if (r.spo2_scored_as_on_air) j["assumed"] = {{"oxygen", "air"}};
  if (r.partial) j["note"] = kPartialNote;
  out << j.dump() << "\n";
}

void PrintText(std::ostream& out, const News2Result& r, int scale) {
  const char* at_least = r.partial ? "at least " : "";
  out << "NEWS2 " << at_least << r.score << ", risk " << at_least << News2RiskName(r.risk) << " (SpO2 scale " << scale
      << ")\n";
  std::vector<std::string> parts;
  for (const News2Component& c : r.components)
    parts.push_back(absl::StrCat(News2ParameterName(c.parameter), " ", c.points));
  out << "components: " << (parts.empty() ? "none" : absl::StrJoin(parts, ", ")) << "\n";
  if (r.partial) out << "missing: " << absl::StrJoin(MissingNames(r), ", ") << "\n" << kPartialNote << "\n";
  if (r.spo2_scored_as_on_air) out << kAssumedAirNote << "\n";
}

}  // namespace

ScoreCommands::ScoreCommands(CLI::App& app) {
  CLI::App* score = app.add_subcommand("score", "bedside early-warning scores from vital signs (offline)");
  score->require_subcommand(1);
  news2_ = score->add_subcommand("news2", "NEWS2 (Royal College of Physicians 2017); missing vitals make it partial");
  news2_->add_flag("--json", json_, "one JSON object");
  respiratory_rate_given_ =
      news2_->add_option("--respiratory-rate", respiratory_rate_per_min_, "respiration rate, breaths per minute");
  spo2_given_ = news2_->add_option("--spo2", spo2_percent_, "oxygen saturation, %");
  news2_->add_option("--scale", scale_, "SpO2 scale: 2 for hypercapnic respiratory failure (target 88-92 %)")
      ->check(CLI::IsMember({1, 2}))
      ->capture_default_str();
  oxygen_given_ = news2_->add_option("--oxygen", oxygen_, "air or supplemental oxygen")
                      ->check(CLI::IsMember({"air", "supplemental"}));
  systolic_given_ = news2_->add_option("--systolic", systolic_mmhg_, "systolic blood pressure, mmHg");
  heart_rate_given_ = news2_->add_option("--heart-rate", heart_rate_bpm_, "pulse, beats per minute");
  consciousness_given_ = news2_->add_option("--consciousness", consciousness_,
                                            "ACVPU: A alert, C new confusion, V voice, P pain, U unresponsive");
  temperature_given_ = news2_->add_option("--temperature", temperature_c_, "temperature, degrees C");
}

bool ScoreCommands::parsed() const { return news2_->parsed(); }

int ScoreCommands::Run(std::ostream& out, std::ostream& err) const {
  News2Observation obs{.respiratory_rate_per_min = Given(respiratory_rate_given_, respiratory_rate_per_min_),
                       .spo2_percent = Given(spo2_given_, spo2_percent_),
                       .systolic_mmhg = Given(systolic_given_, systolic_mmhg_),
                       .heart_rate_bpm = Given(heart_rate_given_, heart_rate_bpm_),
                       .temperature_c = Given(temperature_given_, temperature_c_)};
  if (oxygen_given_->count() > 0) obs.oxygen = oxygen_ == "supplemental" ? Oxygen::kSupplemental : Oxygen::kAir;
  if (consciousness_given_->count() > 0) {
    absl::StatusOr<Consciousness> c = ParseAcvpu(consciousness_);
    if (!c.ok()) {
      err << "healthtwin: " << WithFlag(c.status().message()) << "\n";
      return 2;
    }
    obs.consciousness = *c;
  }
  absl::StatusOr<News2Result> r = ScoreNews2(obs, scale_ == 2 ? Spo2Scale::kScale2 : Spo2Scale::kScale1);
  if (!r.ok()) {
    err << "healthtwin: " << WithFlag(r.status().message()) << "\n";
    return 2;
  }
  if (json_) {
    PrintJson(out, *r, scale_);
  } else {
    PrintText(out, *r, scale_);
  }
  return 0;
}

}  // namespace healthtwin::models::scores::cli
