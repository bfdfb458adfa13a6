#include "services/alerts/rules/catalogue.h"

#include <toml++/toml.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace healthtwin::alerts::rules {
namespace {

// The values a threshold of each vital may take at all: beyond them no living patient is
// measured, so a threshold there is a typo (unit mix-up, extra digit).
struct VitalRange {
  double min, max;
};
const std::map<std::string, VitalRange>& VitalRanges() {
  static const auto* m = new std::map<std::string, VitalRange>{
      {"heart_rate", {20, 300}}, {"systolic", {40, 300}}, {"spo2", {50, 100}}, {"temperature", {30, 45}}};
  return *m;
}

const std::map<std::string, RuleKind>& Kinds() {
  static const auto* m = new std::map<std::string, RuleKind>{
      {"threshold_high", RuleKind::kThresholdHigh},  {"threshold_low", RuleKind::kThresholdLow},
      {"relative_drop", RuleKind::kRelativeDrop},    {"weight_gain", RuleKind::kWeightGain},
      {"resting_hr_rise", RuleKind::kRestingHrRise}, {"news2", RuleKind::kNews2},
      {"twin_drift", RuleKind::kTwinDrift},          {"battery_low", RuleKind::kBatteryLow},
      {"contact_lost", RuleKind::kContactLost},      {"device_silent", RuleKind::kDeviceSilent},
      {"clock_skew", RuleKind::kClockSkew},          {"gateway_silent", RuleKind::kGatewaySilent},
      {"quarantine", RuleKind::kQuarantine}};
  return *m;
}

bool IsTechnical(RuleKind k) {
  return k == RuleKind::kBatteryLow || k == RuleKind::kContactLost || k == RuleKind::kDeviceSilent ||
         k == RuleKind::kClockSkew || k == RuleKind::kGatewaySilent || k == RuleKind::kQuarantine;
}

// A numeric key: its range and where it goes.
struct NumKey {
  double min, max;
  std::function<void(RuleSpec&, double)> set;
  bool integer = false;
};

// Keys every rule has, and the numeric keys of each kind. Anything else is an unknown key.
const std::set<std::string> kCommonKeys = {"kind", "priority", "enabled", "covers", "suppresses", "why"};

std::map<std::string, NumKey> NumericKeys(RuleKind kind) {
  auto d = [](double RuleSpec::*m) { return [m](RuleSpec& s, double v) { s.*m = v; }; };
  std::map<std::string, NumKey> keys;
  switch (kind) {
    case RuleKind::kThresholdHigh:
    case RuleKind::kThresholdLow:
    case RuleKind::kRelativeDrop:
      // threshold, threshold_scale2, override_range and high_priority_threshold are checked
      // against the vital's range separately.
      keys["min_duration_s"] = {0, 86400, d(&RuleSpec::min_duration_s)};
      keys["min_samples"] = {1, 10, [](RuleSpec& s, double v) { s.min_samples = static_cast<int>(v); }, true};
      keys["hysteresis"] = {0, 50, d(&RuleSpec::hysteresis)};
      keys["clear_duration_s"] = {0, 86400, d(&RuleSpec::clear_duration_s)};
      keys["stale_after_s"] = {30, 7 * 86400, d(&RuleSpec::stale_after_s)};
      if (kind == RuleKind::kRelativeDrop) {
        keys["window_days"] = {2, 28, d(&RuleSpec::window_days)};
        keys["rise"] = {5, 100, d(&RuleSpec::rise)};
        keys["exclude_recent_s"] = {3600, 7 * 86400, d(&RuleSpec::exclude_recent_s)};
      }
      break;
    case RuleKind::kWeightGain:
      keys["window_days"] = {1, 14, d(&RuleSpec::window_days)};
      keys["rise"] = {0.5, 10, d(&RuleSpec::rise)};
      keys["stale_after_s"] = {3600, 14 * 86400, d(&RuleSpec::stale_after_s)};
      break;
    case RuleKind::kRestingHrRise:
      keys["window_days"] = {3, 28, d(&RuleSpec::window_days)};
      keys["rise"] = {3, 60, d(&RuleSpec::rise)};
      keys["stale_after_s"] = {3600, 7 * 86400, d(&RuleSpec::stale_after_s)};
      break;
    case RuleKind::kNews2:
      keys["fresh_hr_s"] = {60, 86400, d(&RuleSpec::fresh_hr_s)};
      keys["fresh_spo2_s"] = {60, 86400, d(&RuleSpec::fresh_spo2_s)};
      keys["fresh_sbp_s"] = {60, 2 * 86400, d(&RuleSpec::fresh_sbp_s)};
      keys["fresh_temp_s"] = {60, 2 * 86400, d(&RuleSpec::fresh_temp_s)};
      keys["fresh_rr_s"] = {60, 86400, d(&RuleSpec::fresh_rr_s)};
      keys["step_s"] = {60, 3600, d(&RuleSpec::step_s)};
      keys["min_duration_s"] = {0, 86400, d(&RuleSpec::min_duration_s)};
      keys["clear_duration_s"] = {0, 86400, d(&RuleSpec::clear_duration_s)};
      break;
    case RuleKind::kTwinDrift:
      break;
    case RuleKind::kBatteryLow:
      keys["level"] = {1, 50, d(&RuleSpec::level)};
      keys["high_priority_threshold"] = {0, 50, [](RuleSpec& s, double v) { s.high_priority_threshold = v; }};
      break;
    case RuleKind::kContactLost:
      keys["min_duration_s"] = {0, 3600, d(&RuleSpec::min_duration_s)};
      break;
    case RuleKind::kDeviceSilent:
      keys["level"] = {1.5, 100, d(&RuleSpec::level)};
      keys["min_duration_s"] = {60, 86400, d(&RuleSpec::min_duration_s)};
      break;
    case RuleKind::kClockSkew:
      keys["level"] = {1, 86400, d(&RuleSpec::level)};
      break;
    case RuleKind::kGatewaySilent:
      keys["min_duration_s"] = {30, 86400, d(&RuleSpec::min_duration_s)};
      break;
    case RuleKind::kQuarantine:
      keys["level"] = {1, 100000, d(&RuleSpec::level), true};
      break;
  }
  return keys;
}

std::string Num(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

class Parser {
 public:
  explicit Parser(std::string_view source) : source_(source) {}

  absl::Status Bad(const std::string& key, const std::string& why) const {
    return absl::InvalidArgumentError(absl::StrCat(source_, ": ", key, ": ", why));
  }

  absl::StatusOr<double> Number(const toml::node& n, const std::string& key) const {
    if (auto i = n.value_exact<int64_t>()) return static_cast<double>(*i);
    if (auto f = n.value_exact<double>()) return *f;
    return Bad(key, "must be a number");
  }

  absl::StatusOr<double> Ranged(const toml::node& n, const std::string& key, double lo, double hi,
                                bool integer = false) const {
    auto v = Number(n, key);
    if (!v.ok()) return v.status();
    if (!(*v >= lo && *v <= hi)) return Bad(key, absl::StrCat(Num(*v), " is outside ", Num(lo), "..", Num(hi)));
    if (integer && *v != static_cast<double>(static_cast<int64_t>(*v))) return Bad(key, "must be a whole number");
    return *v;
  }

  absl::StatusOr<std::vector<std::string>> Strings(const toml::node& n, const std::string& key) const {
    const auto* arr = n.as_array();
    if (!arr) return Bad(key, "must be an array of strings");
    std::vector<std::string> out;
    for (const auto& item : *arr) {
      auto s = item.value<std::string>();
      if (!s || s->empty()) return Bad(key, "must be an array of non-empty strings");
      out.push_back(*s);
    }
    return out;
  }

  absl::StatusOr<RuleSpec> Rule(const std::string& id, const toml::table& t) const {
    const std::string p = "rules." + id;
    RuleSpec spec;
    spec.id = id;
    const toml::node* kind_node = t.get("kind");
    if (!kind_node || !kind_node->value<std::string>()) return Bad(p + ".kind", "is required (a string)");
    auto kind_it = Kinds().find(*kind_node->value<std::string>());
    if (kind_it == Kinds().end()) {
      std::vector<std::string> names;
      for (const auto& [k, _] : Kinds()) names.push_back(k);
      return Bad(p + ".kind",
                 absl::StrCat("'", *kind_node->value<std::string>(), "' is not one of ", absl::StrJoin(names, ", ")));
    }
    spec.kind = kind_it->second;
    spec.category = IsTechnical(spec.kind) ? AlarmCategory::kTechnical : AlarmCategory::kPhysiological;
    const bool threshold_rule = spec.kind == RuleKind::kThresholdHigh || spec.kind == RuleKind::kThresholdLow;
    const auto numeric = NumericKeys(spec.kind);
    bool have_priority = false, have_threshold = false;

    for (const auto& [key_view, node] : t) {
      const std::string key(key_view.str());
      const std::string full = p + "." + key;
      if (key == "kind" || key == "why") {
        if (!node.value<std::string>()) return Bad(full, "must be a string");
      } else if (key == "priority") {
        auto s = node.value<std::string>();
        if (s == "low")
          spec.priority = Priority::kLow;
        else if (s == "medium")
          spec.priority = Priority::kMedium;
        else if (s == "high")
          spec.priority = Priority::kHigh;
        else
          return Bad(full, "must be \"low\", \"medium\" or \"high\"");
        have_priority = true;
      } else if (key == "enabled") {
        auto b = node.value<bool>();
        if (!b) return Bad(full, "must be true or false");
        spec.enabled = *b;
      } else if (key == "covers" || key == "suppresses" ||
                 (key == "event_types" && spec.kind == RuleKind::kTwinDrift)) {
        auto v = Strings(node, full);
        if (!v.ok()) return v.status();
        (key == "covers" ? spec.covers : key == "suppresses" ? spec.suppresses : spec.event_types) = *v;
      } else if ((threshold_rule || spec.kind == RuleKind::kRelativeDrop) && key == "vital") {
        auto s = node.value<std::string>();
        if (!s || !VitalRanges().contains(*s))
          return Bad(full, "must be one of heart_rate, systolic, spo2, temperature");
        spec.vital = *s;
      } else if (threshold_rule && (key == "threshold" || key == "threshold_scale2" ||
                                    key == "high_priority_threshold" || key == "override_range")) {
        continue;  // checked below, once the vital is known
      } else if (auto it = numeric.find(key); it != numeric.end()) {
        auto v = Ranged(node, full, it->second.min, it->second.max, it->second.integer);
        if (!v.ok()) return v.status();
        it->second.set(spec, *v);
      } else {
        return Bad(full, "unknown key for kind '" + *kind_node->value<std::string>() + "'");
      }
    }
    if (!have_priority) return Bad(p + ".priority", "is required");

    if (threshold_rule) {
      if (spec.vital.empty()) return Bad(p + ".vital", "is required");
      const VitalRange r = VitalRanges().at(spec.vital);
      for (const char* k : {"threshold", "threshold_scale2", "high_priority_threshold"}) {
        const toml::node* n = t.get(k);
        if (!n) continue;
        auto v = Ranged(*n, p + "." + k, r.min, r.max);
        if (!v.ok()) return v.status();
        if (std::string_view(k) == "threshold")
          spec.threshold = *v, have_threshold = true;
        else if (std::string_view(k) == "threshold_scale2")
          spec.threshold_scale2 = *v;
        else
          spec.high_priority_threshold = *v;
      }
      if (!have_threshold) return Bad(p + ".threshold", "is required");
      const toml::node* range = t.get("override_range");
      if (!range) return Bad(p + ".override_range", "is required ([min, max] a clinician may set)");
      const auto* arr = range->as_array();
      if (!arr || arr->size() != 2) return Bad(p + ".override_range", "must be [min, max]");
      auto lo = Ranged(*arr->get(0), p + ".override_range[0]", r.min, r.max);
      if (!lo.ok()) return lo.status();
      auto hi = Ranged(*arr->get(1), p + ".override_range[1]", *lo, r.max);
      if (!hi.ok()) return hi.status();
      spec.override_min = *lo;
      spec.override_max = *hi;
      if (spec.threshold < *lo || spec.threshold > *hi)
        return Bad(p + ".threshold",
                   absl::StrCat(Num(spec.threshold), " is outside its override_range ", Num(*lo), "..", Num(*hi)));
      if (spec.stale_after_s == 0) return Bad(p + ".stale_after_s", "is required");
    }
    if (spec.kind == RuleKind::kRelativeDrop) {
      if (spec.vital.empty()) return Bad(p + ".vital", "is required");
      if (spec.exclude_recent_s == 0) return Bad(p + ".exclude_recent_s", "is required");
    }
    if (spec.kind == RuleKind::kWeightGain || spec.kind == RuleKind::kRestingHrRise ||
        spec.kind == RuleKind::kRelativeDrop) {
      if (spec.window_days == 0) return Bad(p + ".window_days", "is required");
      if (spec.rise == 0) return Bad(p + ".rise", "is required");
      if (spec.stale_after_s == 0) return Bad(p + ".stale_after_s", "is required");
    }
    if (spec.kind == RuleKind::kNews2 && spec.step_s == 0) return Bad(p + ".step_s", "is required");
    if (spec.kind == RuleKind::kTwinDrift && spec.event_types.empty())
      return Bad(p + ".event_types", "is required (a non-empty array)");
    if ((spec.kind == RuleKind::kBatteryLow || spec.kind == RuleKind::kDeviceSilent ||
         spec.kind == RuleKind::kClockSkew || spec.kind == RuleKind::kQuarantine) &&
        spec.level == 0)
      return Bad(p + ".level", "is required");
    return spec;
  }

 private:
  std::string source_;
};

}  // namespace

absl::StatusOr<Catalogue> Catalogue::FromToml(std::string_view toml_text, std::string_view source_name) {
  Parser parser(source_name);
  toml::table doc;
  try {
    doc = toml::parse(toml_text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << e.description() << " (line " << e.source().begin.line << ")";
    return parser.Bad("syntax", os.str());
  }
  Catalogue cat;
  for (const auto& [key, node] : doc) {
    if (key.str() != "rules") return parser.Bad(std::string(key.str()), "unknown top-level key (only [rules.*])");
  }
  const auto* rules = doc.get_as<toml::table>("rules");
  if (!rules || rules->empty()) return parser.Bad("rules", "at least one [rules.<id>] table is required");
  std::set<std::string> ids;
  for (const auto& [key, node] : *rules) {
    const std::string id(key.str());
    const auto* t = node.as_table();
    if (!t) return parser.Bad("rules." + id, "must be a table");
    auto spec = parser.Rule(id, *t);
    if (!spec.ok()) return spec.status();
    ids.insert(id);
    cat.rules_.push_back(*std::move(spec));
  }
  for (const RuleSpec& r : cat.rules_) {
    if (r.covers.empty()) return parser.Bad("rules." + r.id + ".covers", "is required (the physiology it covers)");
  }
  return cat;
}

const RuleSpec* Catalogue::Find(std::string_view id) const {
  for (const RuleSpec& r : rules_) {
    if (r.id == id) return &r;
  }
  return nullptr;
}

absl::Status ValidatePatientSettings(const PatientAlertSettings& settings, const Catalogue& catalogue) {
  for (const auto& [id, value] : settings.threshold_overrides) {
    const std::string field = "threshold_overrides." + id;
    const RuleSpec* spec = catalogue.Find(id);
    if (!spec) return absl::InvalidArgumentError(field + ": no such rule");
    if (spec->kind != RuleKind::kThresholdHigh && spec->kind != RuleKind::kThresholdLow)
      return absl::InvalidArgumentError(field + ": not a threshold rule");
    if (!(value >= spec->override_min && value <= spec->override_max))
      return absl::InvalidArgumentError(absl::StrCat(field, ": ", Num(value), " is outside ", Num(spec->override_min),
                                                     "..", Num(spec->override_max)));
  }
  return absl::OkStatus();
}

double EffectiveThreshold(const RuleSpec& spec, const PatientAlertSettings& settings) {
  if (auto it = settings.threshold_overrides.find(spec.id); it != settings.threshold_overrides.end()) return it->second;
  if (settings.spo2_scale2 && spec.threshold_scale2) return *spec.threshold_scale2;
  return spec.threshold;
}

}  // namespace healthtwin::alerts::rules
