// gRPC adapter for healthtwin.vitals.v1.VitalsQueryService. Only other services (role
// "service", e.g. clinician_api) may call it; clinician_api enforces care-team access.
#pragma once

#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/executor.h"
#include "services/ingest/vitals_reader.h"

namespace healthtwin::ingest {

class QueryServiceImpl final : public healthtwin::vitals::v1::VitalsQueryService::CallbackService {
 public:
  QueryServiceImpl(VitalsReader& reader, common::Executor& executor) : reader_(reader), executor_(executor) {}

  grpc::ServerUnaryReactor* QueryVitals(grpc::CallbackServerContext* ctx,
                                        const healthtwin::vitals::v1::QueryVitalsRequest* request,
                                        healthtwin::vitals::v1::QueryVitalsResponse* response) override;

 private:
  VitalsReader& reader_;
  common::Executor& executor_;
};

}  // namespace healthtwin::ingest
