// gRPC adapter for healthtwin.twin.v1.TwinService.
//
//   GetTwin, GetTwinHistory   read twin_snapshots (any replica can answer: the database is
//                             shared; as_of reads the newest snapshot written at or before it)
//   Predict, Recalibrate      the live twin of this replica's shard (TwinKeeper); a patient of
//                             another shard gets FAILED_PRECONDITION naming the right shard
//   WatchTwins                every snapshot this replica persists for the requested patients
//                             (first the current snapshot of each, then updates; a client may
//                             see a version twice or an older one after a newer one at the
//                             start, and should keep the highest version)
// Callers: clinician_api only by default (config `[access]`), after its care-team check; every
// call is audited here with the person clinician_api names. WatchTwins is audited once, at start.
// Thread-safe. Shutdown() ends every WatchTwins stream; call it before the host drains.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "services/common/access.h"
#include "services/common/caller_policy.h"
#include "services/common/executor.h"
#include "services/common/pg.h"
#include "services/twin/twin_keeper.h"

namespace healthtwin::twin {

namespace v1 = healthtwin::twin::v1;

// SnapshotRecord -> proto (shared with tests).
void ToProto(const SnapshotRecord& r, v1::TwinSnapshot* out);

class TwinServiceImpl final : public v1::TwinService::CallbackService {
 public:
  // `keeper` must outlive the service.
  static const common::CallerPolicy::Rules& DefaultPolicy();

  TwinServiceImpl(common::PgPool& pool, common::Executor& executor, TwinKeeper& keeper, common::CallerPolicy policy)
      : pool_(pool), executor_(executor), keeper_(keeper), access_(pool), policy_(std::move(policy)) {}
  ~TwinServiceImpl() override { Shutdown(); }

  void Shutdown();

  grpc::ServerUnaryReactor* GetTwin(grpc::CallbackServerContext* ctx, const v1::GetTwinRequest* req,
                                    v1::TwinSnapshot* resp) override;
  grpc::ServerUnaryReactor* GetTwinHistory(grpc::CallbackServerContext* ctx, const v1::GetTwinHistoryRequest* req,
                                           v1::GetTwinHistoryResponse* resp) override;
  grpc::ServerUnaryReactor* Predict(grpc::CallbackServerContext* ctx, const v1::PredictRequest* req,
                                    v1::PredictResponse* resp) override;
  grpc::ServerUnaryReactor* Recalibrate(grpc::CallbackServerContext* ctx, const v1::RecalibrateRequest* req,
                                        v1::TwinSnapshot* resp) override;
  grpc::ServerWriteReactor<v1::TwinSnapshot>* WatchTwins(grpc::CallbackServerContext* ctx,
                                                         const v1::WatchTwinsRequest* req) override;

  // For start-up wiring: audit checkpoints (services/common/audit_checkpointing.h).
  common::Access& access() { return access_; }

 private:
  struct Watch;

  common::PgPool& pool_;
  common::Executor& executor_;
  TwinKeeper& keeper_;
  common::Access access_;
  const common::CallerPolicy policy_;
  std::mutex mu_;
  std::map<int, std::shared_ptr<Watch>> watches_;
  bool shut_down_ = false;
};

}  // namespace healthtwin::twin
