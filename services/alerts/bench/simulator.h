// A seeded simulated cohort for the alarm-burden benchmark: home patients wearing a watch
// (heart rate once a minute), some also a chest strap (1 Hz sessions), with an oximeter
// (every 5 min overnight, spot checks by day), a cuff (three readings a day), a scale
// (daily) and a thermometer (twice a day). Baseline physiology has circadian variation,
// activity and noise; ground-truth episodes and artefacts are injected on top. Deterministic:
// the same seed gives the same cohort, bit for bit, on one platform.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/alerts/rules/inputs.h"

namespace healthtwin::alerts::bench {

enum class EpisodeType { kSepsis, kHeartFailure, kDesaturation, kHypotension };
const char* EpisodeName(EpisodeType t);

struct Episode {
  EpisodeType type;
  int64_t start_us;
  int64_t end_us;  // when the physiology is back to baseline
};

// A device's battery and wear over the simulation, so that device status at any time can be
// derived (technical rules) and technical faults are known (ground truth).
struct DeviceTimeline {
  std::string device_id, kind;
  double expected_interval_s = 0;
  double battery_start = 100, battery_drain_per_day = 0;  // % ; recharged at 100 when it hits 0? no: it dies
  std::vector<std::pair<int64_t, int64_t>> off_wrist;     // [from, to): not worn, no samples
  std::vector<std::pair<int64_t, int64_t>> contact_lost;  // [from, to): flagged samples
};

struct SimPatient {
  std::string id;
  std::vector<rules::VitalPoint> vitals;  // sorted by time
  std::vector<Episode> episodes;
  std::vector<DeviceTimeline> devices;
  int motion_spikes = 0, error_frames = 0, contact_lost_samples = 0;
};

struct SimConfig {
  int patients = 100;
  int days = 7;         // counted days
  int warmup_days = 2;  // baseline history before the counted days (trend rules need it)
  uint64_t seed = 20261206;
};

// Simulation starts at `t0_us` (warm-up), counted days start at t0 + warmup_days.
SimPatient SimulatePatient(const SimConfig& cfg, int index, int64_t t0_us);

// Status of each device at `now_us`, as the device status tables would hold it.
std::vector<rules::DeviceStatus> DeviceStatusAt(const SimPatient& p, int64_t now_us);

}  // namespace healthtwin::alerts::bench
