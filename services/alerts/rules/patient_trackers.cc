#include "services/alerts/rules/patient_trackers.h"

namespace healthtwin::alerts::rules {

void PatientTrackers::SampleAdded(const std::string& device_id, int64_t t_us) {
  for (auto& [key, tracker] : trackers_) {
    if (key.second == device_id && tracker.judged_through_us() >= t_us) tracker.Reset();
  }
  for (auto& [_, steps] : news2_) steps.by_time.erase(steps.by_time.lower_bound(t_us), steps.by_time.end());
}

}  // namespace healthtwin::alerts::rules
