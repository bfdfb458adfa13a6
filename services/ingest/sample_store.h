// Where validated samples go. The production implementation is PgSampleStore; unit tests
// use a fake.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/ingest/validation.h"

namespace healthtwin::ingest {

struct StoreOutcome {
  uint32_t stored = 0;
  uint32_t duplicates = 0;
  uint32_t quarantined = 0;
  // Positions (in the batch) of samples refused because the bridge's quarantine is full:
  // not stored anywhere, so the caller rejects them with that reason.
  std::vector<std::size_t> refused_quarantine_full;
};

class SampleStore {
 public:
  virtual ~SampleStore() = default;
  // Stores the whole batch atomically and durably before returning OK: samples from a
  // device bound to a patient, sent by one of its gateways after the binding, become vitals;
  // the others go to quarantine with the reason, or are refused when it is full.
  // A sample already stored (same device, type, measured_at and device record sequence)
  // is counted as a duplicate and not stored again. On error nothing of the batch is stored.
  virtual absl::StatusOr<StoreOutcome> StoreBatch(std::string_view bridge_id,
                                                  const std::vector<ValidSample>& samples) = 0;
};

}  // namespace healthtwin::ingest
