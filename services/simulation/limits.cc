#include "services/simulation/limits.h"

#include "absl/strings/str_cat.h"

namespace healthtwin::simulation {

absl::Status CheckWhatIfSize(int options, uint32_t ensemble_size, uint32_t days, int64_t max_member_days) {
  const int64_t ensemble = ensemble_size == 0 ? kDefaultWhatIfEnsemble : ensemble_size;
  const int64_t d = days == 0 ? kDefaultWhatIfDays : days;
  // Each factor is below 2^32, and options (a repeated field) below 2^31: no overflow.
  const int64_t size = static_cast<int64_t>(options) * ensemble * d;
  if (size <= max_member_days) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("options x ensemble_size x days: ", options, " x ", ensemble, " x ", d,
                                                 " = ", size, " member-days; at most ", max_member_days,
                                                 " per what-if (fewer options, members or days)"));
}

}  // namespace healthtwin::simulation
