// gRPC adapter for healthtwin.twin.v1.TwinService.
//
// Walking-skeleton scope: snapshots are read from twin_snapshots (current, as of a date, and
// history). Nothing writes snapshots yet: calibration, prediction, recalibration and the
// update stream arrive with the twin personalisation issue and answer UNIMPLEMENTED until then.
#pragma once

#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "services/common/executor.h"
#include "services/common/pg.h"

namespace healthtwin::twin {

namespace v1 = healthtwin::twin::v1;

class TwinServiceImpl final : public v1::TwinService::CallbackService {
 public:
  TwinServiceImpl(common::PgPool& pool, common::Executor& executor) : pool_(pool), executor_(executor) {}

  grpc::ServerUnaryReactor* GetTwin(grpc::CallbackServerContext* ctx, const v1::GetTwinRequest* req,
                                    v1::TwinSnapshot* resp) override;
  grpc::ServerUnaryReactor* GetTwinHistory(grpc::CallbackServerContext* ctx, const v1::GetTwinHistoryRequest* req,
                                           v1::GetTwinHistoryResponse* resp) override;

 private:
  common::PgPool& pool_;
  common::Executor& executor_;
};

}  // namespace healthtwin::twin
