// Message identities (migration 0013) and the per-patient batching of vitals: pure.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "services/feeds/feed.h"

namespace healthtwin::feeds {

// 'ht-' || feed_id || '-a' || event_seq.
std::string AlertMessageId(int64_t feed_id, int64_t event_seq);
// 'ht-' || feed_id || '-v' || first ingest_seq || '-' || last ingest_seq.
std::string VitalsMessageId(int64_t feed_id, int64_t first_seq, int64_t last_seq);

// Splits `rows` (ascending ingest_seq) into per-patient batches of at most `max_per_batch`
// samples, each in ingest order. Batches are ordered by their first sample, so a patient's
// batches come out in the order of its samples.
std::vector<std::vector<VitalRow>> BatchVitalsByPatient(std::span<const VitalRow> rows, int max_per_batch);

}  // namespace healthtwin::feeds
