// Conversions between healthtwin.vitals.v1 messages and ingest's domain types.
#pragma once

#include <vector>

#include "healthtwin/vitals/v1/vitals.pb.h"
#include "services/ingest/ingest_core.h"

namespace healthtwin::ingest {

std::vector<IncomingSample> FromProto(const healthtwin::vitals::v1::SampleBatch& batch);
void ToProto(const BatchResult& result, healthtwin::vitals::v1::Ack* ack);

}  // namespace healthtwin::ingest
