#include "tests/chaos/oracle.h"

#include <algorithm>
#include <cmath>
#include <tuple>

#include "services/alerts/evaluation_plan.h"

namespace healthtwin::chaos {
namespace {

using alerts::Observation;

bool InBlindWindow(const HrEmission& e, const std::vector<BlindWindow>& blind) {
  return std::any_of(blind.begin(), blind.end(), [&](const BlindWindow& w) {
    return w.device == e.device && e.emitted_at_us >= w.from_us && e.emitted_at_us <= w.to_us;
  });
}

}  // namespace

HrVerdict JudgeHeartRates(std::vector<HrEmission> emitted, std::vector<StoredHr> stored,
                          const std::vector<BlindWindow>& blind, int64_t max_latency_us, int64_t clock_slack_us) {
  HrVerdict v;
  v.emitted = static_cast<int64_t>(emitted.size());
  v.stored = static_cast<int64_t>(stored.size());
  std::stable_sort(emitted.begin(), emitted.end(), [](const HrEmission& a, const HrEmission& b) {
    return std::tie(a.device, a.emitted_at_us) < std::tie(b.device, b.emitted_at_us);
  });
  std::stable_sort(stored.begin(), stored.end(), [](const StoredHr& a, const StoredHr& b) {
    return std::tie(a.device, a.measured_at_us) < std::tie(b.device, b.measured_at_us);
  });
  std::vector<bool> used(emitted.size(), false);
  size_t first_open = 0;  // emissions before this index are matched or out of every window
  for (const StoredHr& s : stored) {
    while (first_open < emitted.size() && (emitted[first_open].device < s.device ||
                                           (emitted[first_open].device == s.device &&
                                            emitted[first_open].emitted_at_us < s.measured_at_us - max_latency_us))) {
      ++first_open;
    }
    bool found = false;
    for (size_t i = first_open; i < emitted.size() && emitted[i].device == s.device &&
                                emitted[i].emitted_at_us <= s.measured_at_us + clock_slack_us;
         ++i) {
      if (!used[i] && emitted[i].bpm == s.bpm) {
        used[i] = true;
        found = true;
        break;
      }
    }
    if (found) {
      ++v.matched;
    } else {
      v.unexplained.push_back(s);
    }
  }
  for (size_t i = 0; i < emitted.size(); ++i) {
    if (used[i]) continue;
    if (InBlindWindow(emitted[i], blind)) {
      ++v.missed_blind;
    } else {
      v.missed.push_back(emitted[i]);
    }
  }
  return v;
}

RecordVerdict JudgeRecords(const std::vector<Record>& emitted, const std::vector<Record>& stored) {
  RecordVerdict v;
  v.emitted = static_cast<int64_t>(emitted.size());
  v.stored = static_cast<int64_t>(stored.size());
  std::map<std::pair<std::string, int64_t>, double> want;
  for (const Record& r : emitted) want[{r.device, r.record_seq}] = r.value;
  std::map<std::pair<std::string, int64_t>, int> seen;
  for (const Record& r : stored) {
    const auto key = std::make_pair(r.device, r.record_seq);
    auto it = want.find(key);
    if (it == want.end() || std::abs(it->second - r.value) > 1e-6) {
      v.unexpected.push_back(r);
      continue;
    }
    if (++seen[key] > 1) v.duplicated.push_back(r);
  }
  for (const Record& r : emitted) {
    if (!seen.contains({r.device, r.record_seq})) v.missing.push_back(r);
  }
  return v;
}

std::vector<ExpectedAlert> ExpectedAlerts(const alerts::rules::RuleEngine& engine,
                                          const alerts::rules::PatientInputs& in, const std::vector<int64_t>& instants,
                                          int64_t reopen_window_us) {
  // (rule, start) -> end of that episode; 0 while it was active at the last instant that saw it.
  std::map<std::pair<std::string, int64_t>, int64_t> episodes;
  for (int64_t now_us : instants) {
    for (const Observation& o : engine.Evaluate(in, now_us)) {
      const alerts::rules::RuleSpec* spec = engine.catalogue().Find(o.rule_id);
      if (spec == nullptr || !alerts::JudgedAtDataInstants(spec->kind) || o.condition_started_us == 0) continue;
      episodes[{o.rule_id, o.condition_started_us}] = o.active ? 0 : o.condition_ended_us;
    }
  }
  std::vector<ExpectedAlert> out;
  std::string rule;
  int64_t last_end = 0;                      // of the current rule's newest alert
  for (const auto& [key, end] : episodes) {  // by rule, then start
    const auto& [rule_id, start] = key;
    // The lifecycle continues (still active) or reopens (ended within the window) the rule's
    // newest alert; anything else is a new alert.
    if (rule_id != rule || (last_end != 0 && start - last_end > reopen_window_us)) out.push_back({rule_id, start});
    rule = rule_id;
    last_end = end;
  }
  return out;
}

}  // namespace healthtwin::chaos
