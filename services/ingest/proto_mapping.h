// Conversions between healthtwin.vitals.v1 messages and ingest's domain types.
#pragma once

#include <vector>

#include "healthtwin/vitals/v1/vitals.pb.h"
#include "services/ingest/ingest_core.h"

namespace healthtwin::ingest {

// Samples, device statuses and the gateway heartbeat of one batch. A Timestamp that cannot be
// represented sets the item's mapping_error (naming the field) instead of failing the batch, so
// that only that item is rejected.
IncomingBatch FromProto(const healthtwin::vitals::v1::SampleBatch& batch);
void ToProto(const BatchResult& result, healthtwin::vitals::v1::Ack* ack);

}  // namespace healthtwin::ingest
