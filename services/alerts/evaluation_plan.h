// What the evaluator asks of the rule engine, decided without a database: which catalogue
// rules are judged at data instants (they read vitals) and which on the wall-clock timer
// (technical rules and twin drift), at which instants a round evaluates, and how a stored
// vitals row's flags become the engine's VitalPoint::flags. Pure; evaluation_plan_test.cc.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "services/alerts/rules/catalogue.h"

namespace healthtwin::alerts {

// Heart-rate and pulse instants of a round are thinned to at least this far apart. Safe
// because every sustained rule that reads heart rate is active for at least
// min(min_duration_s, clear_duration_s) of data time once it fires (it fires when the run
// spans min_duration_s and stays active until samples have stayed normal for
// clear_duration_s), and CheckInstantSpacing refuses a catalogue where that is shorter than
// this step; in the shipped catalogue it is >= 300 s (hr_high 600/300, hr_low 300/300, news2
// 600/900). So a 30 s grid cannot step over an episode. Sparse types (cuff, scale, oximeter,
// thermometer) are evaluated at every sample.
inline constexpr int64_t kHeartRateInstantStepUs = 30'000'000;

// Rules judged at data instants of new vitals (thresholds, relative drop, weight gain, resting
// heart rate, NEWS2). The others (twin drift and the technical rules, whose verdict moves with
// the wall clock: a silent device, a silent gateway, contact lost, battery) are judged by the
// timer at the clock's now.
bool JudgedAtDataInstants(rules::RuleKind kind);

// The VitalTypes the vitals rules of `catalogue` read, and those of them read over the full
// engine lookback: every type except heart rate and pulse, which rules read over at most
// HeartRateLookbackUs (resting_hr_rise reads daily summaries instead, DailyRestingHr).
std::set<int> VitalTypesRead(const rules::Catalogue& catalogue);
int64_t HeartRateLookbackUs(const rules::Catalogue& catalogue);

// FailedPrecondition naming the rule when a rule that reads heart rate (threshold, relative
// drop, NEWS2) could be active for less than kHeartRateInstantStepUs (see above).
absl::Status CheckInstantSpacing(const rules::Catalogue& catalogue);

struct SampleTime {
  int vital_type = 0;
  int64_t t_us = 0;
};

// The instants to evaluate at, ascending: every sample of a sparse type at or after from_us,
// heart-rate and pulse samples at or after from_us thinned to >= kHeartRateInstantStepUs apart,
// and the newest sample. `samples` sorted by time.
std::vector<int64_t> EvaluationInstants(const std::vector<SampleTime>& samples, int64_t from_us);

// The stored vitals.flags bits (services/ingest/validation.h: bit 1 = physiologically
// unlikely value, bit 2 = clock skew; healthtwin.vitals.v1.SampleFlag) are NOT the engine's
// VitalPoint::flags (1 contact lost, 2 motion, 4 device error), and are never passed through:
//   stored bit 1 (unlikely value) -> nothing: the value is plausible enough to store, and a
//     lone unlikely value never fires (min_samples >= 2);
//   stored bit 2 (clock skew) -> nothing: the clock_skew rule reports the device clock;
//   any other stored bit -> nothing;
//   the device's status said sensor contact "not detected" (device_status_history,
//     sensor_contact = 3) at the sample's time -> kFlagSensorContactLost.
// Motion and device error have no stored source yet.
uint32_t EngineFlags(uint32_t stored_flags, bool contact_lost_at_sample);

}  // namespace healthtwin::alerts
