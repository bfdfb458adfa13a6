// Parameters of the alarm lifecycle, with the reason for each default.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "services/alerts/observation.h"

namespace healthtwin::alerts::lifecycle {

inline constexpr int64_t kMinuteUs = 60'000'000;

struct Config {
  // A re-trigger of the same rule in the same patient this soon (data time) after the alert's
  // condition ended reopens that alert instead of raising another. Ten minutes is the window
  // the heart-rate rule already used to deduplicate episodes before the lifecycle existed
  // (evaluator.cc, NOT EXISTS ... - interval '10 minutes', then measured start to start), kept
  // so an episode the chaos wearables repeat every 12 min stays one alert each; an engineering
  // default for the hospital's alarm policy to tune, not a clinical threshold.
  int64_t reopen_window_us = 10 * kMinuteUs;

  // The longest a recipient may shelve an alert. IEC 60601-1-8 requires every alarm-signal
  // inactivation other than AUDIO OFF / ALARM OFF to last a stated, limited time; 60 min is an
  // engineering default (long enough for a procedure such as a dressing change or a transfer),
  // for the hospital to lower.
  int64_t max_shelve_us = 60 * kMinuteUs;

  // Unacknowledged for this long at one tier -> the next tier of the care team. No standard
  // fixes these: The Joint Commission NPSG.06.01.01 (2014) makes each hospital set its own
  // alarm-escalation policy. The defaults follow the NEWS2 clinical response (RCP 2017,
  // chart 4): a HIGH alert calls for an immediate/emergency response, so a second person is
  // called after 2 min; MEDIUM ("urgent") after 10 min; LOW ("ward-based") after 60 min, about
  // the most frequent routine observation interval of NEWS2 chart 3.
  int64_t escalate_high_us = 2 * kMinuteUs;
  int64_t escalate_medium_us = 10 * kMinuteUs;
  int64_t escalate_low_us = 60 * kMinuteUs;

  // Suppression table: rule -> the physiology ("covers") its open alerts suppress in
  // lower-priority alerts of the same patient (README.md, "Suppression").
  std::map<std::string, std::set<std::string>> suppresses;

  // Rules whose alerts latch whatever their priority: one-shot technical events that would
  // otherwise end the moment they are raised and never be seen.
  std::set<std::string> latching_rules;

  int64_t EscalationDelayUs(Priority p) const {
    switch (p) {
      case Priority::kHigh:
        return escalate_high_us;
      case Priority::kMedium:
        return escalate_medium_us;
      case Priority::kLow:
        break;
    }
    return escalate_low_us;
  }
};

// The service's defaults: the suppression table of README.md ("Suppression") and the technical
// rules that latch. A NEWS2 aggregate alert already tells the team about the parameters it
// scores, so while it is open their single-parameter alerts of lower priority are held (RCP
// 2017, NEWS2 chapter 5: respond to the aggregate score; a single red parameter is itself a
// medium-level trigger, which the NEWS2 rule raises as such).
Config DefaultConfig();

}  // namespace healthtwin::alerts::lifecycle
