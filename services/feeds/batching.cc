#include "services/feeds/batching.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"

namespace healthtwin::feeds {

std::string AlertMessageId(int64_t feed_id, int64_t event_seq) { return absl::StrCat("ht-", feed_id, "-a", event_seq); }

std::string VitalsMessageId(int64_t feed_id, int64_t first_seq, int64_t last_seq) {
  return absl::StrCat("ht-", feed_id, "-v", first_seq, "-", last_seq);
}

std::vector<std::vector<VitalRow>> BatchVitalsByPatient(std::span<const VitalRow> rows, int max_per_batch) {
  max_per_batch = std::max(max_per_batch, 1);
  std::vector<std::vector<VitalRow>> batches;
  std::map<std::string, size_t> open;  // patient -> index of its batch being filled
  for (const VitalRow& row : rows) {
    auto it = open.find(row.patient_id);
    if (it == open.end() || static_cast<int>(batches[it->second].size()) >= max_per_batch) {
      batches.emplace_back();
      open[row.patient_id] = batches.size() - 1;
      it = open.find(row.patient_id);
    }
    batches[it->second].push_back(row);
  }
  return batches;
}

}  // namespace healthtwin::feeds
