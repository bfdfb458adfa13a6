// gRPC adapter for healthtwin.vitals.v1.VitalsQueryService. Only clinician_api may call it (by
// default; config `[access]`), after checking the person's care team; every query is audited
// here too, with the person clinician_api named.
#pragma once

#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/caller_policy.h"
#include "services/common/executor.h"
#include "services/ingest/vitals_reader.h"

namespace healthtwin::ingest {

class QueryServiceImpl final : public healthtwin::vitals::v1::VitalsQueryService::CallbackService {
 public:
  static const common::CallerPolicy::Rules& DefaultPolicy();

  QueryServiceImpl(VitalsReader& reader, common::Executor& executor, common::PgPool& pool,
                   common::CallerPolicy policy)
      : reader_(reader), executor_(executor), access_(pool), policy_(std::move(policy)) {}

  grpc::ServerUnaryReactor* QueryVitals(grpc::CallbackServerContext* ctx,
                                        const healthtwin::vitals::v1::QueryVitalsRequest* request,
                                        healthtwin::vitals::v1::QueryVitalsResponse* response) override;

  // For start-up wiring: audit checkpoints (services/common/audit_checkpointing.h).
  common::Access& access() { return access_; }

 private:
  VitalsReader& reader_;
  common::Executor& executor_;
  common::Access access_;
  const common::CallerPolicy policy_;
};

}  // namespace healthtwin::ingest
