#include "services/ingest/ingest_service.h"

#include "services/common/grpc_util.h"
#include "services/common/logging.h"
#include "services/ingest/ingest_core.h"
#include "services/ingest/proto_mapping.h"

namespace healthtwin::ingest {
namespace {

namespace v1 = healthtwin::vitals::v1;

class StreamReactor final : public grpc::ServerBidiReactor<v1::SampleBatch, v1::Ack> {
 public:
  StreamReactor(grpc::CallbackServerContext* ctx, SampleStore& store, DeviceStatusStore& status_store,
                common::Executor& executor, std::function<int64_t()> now_us, const std::atomic<bool>& draining)
      : executor_(executor), draining_(draining) {
    auto peer = common::RequireRole(*ctx, {common::Role::kBridge});
    if (!peer.ok()) {
      common::LogWarn("ingest.stream_refused", {{"error", peer.status().message()}});
      Finish(common::ToGrpcStatus(peer.status()));
      return;
    }
    bridge_id_ = peer->common_name;
    stream_ = std::make_unique<IngestStream>(store, status_store, bridge_id_, std::move(now_us));
    common::LogInfo("ingest.stream_opened", {{"bridge", bridge_id_}});
    StartRead(&batch_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {  // the bridge closed its side, or the call was cancelled
      common::LogInfo("ingest.stream_closed", {{"bridge", bridge_id_}, {"durable_through_seq", stream_->last_seq()}});
      Finish(grpc::Status::OK);
      return;
    }
    const bool queued = executor_.TrySubmit([this, batch = FromProto(batch_)] {
      auto result = stream_->Process(batch);
      if (!result.ok()) {
        common::LogWarn("ingest.batch_failed", {{"bridge", bridge_id_}, {"error", result.status().message()}});
        Finish(common::ToGrpcStatus(result.status()));
        return;
      }
      if (!result->heartbeat_error.ok()) {
        common::LogWarn("ingest.heartbeat_dropped",
                        {{"bridge", bridge_id_}, {"error", result->heartbeat_error.message()}});
      }
      ack_.Clear();
      ToProto(*result, &ack_);
      StartWrite(&ack_);
    });
    if (!queued) {
      // Nothing is lost: the batch was not acknowledged, so the bridge's outbox still holds
      // it and the bridge resends from its watermark after its backoff.
      common::LogWarn("ingest.busy", {{"bridge", bridge_id_}});
      Finish(common::ToGrpcStatus(common::ServerBusyError()));
    }
  }

  void OnWriteDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status(grpc::StatusCode::CANCELLED, "acknowledgement could not be sent"));
      return;
    }
    if (draining_) {
      Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE,
                          "ingest is shutting down; reconnect and resend from the watermark"));
      return;
    }
    StartRead(&batch_);
  }

  void OnDone() override { delete this; }

 private:
  common::Executor& executor_;
  const std::atomic<bool>& draining_;
  std::string bridge_id_;
  std::unique_ptr<IngestStream> stream_;
  v1::SampleBatch batch_;
  v1::Ack ack_;
};

}  // namespace

grpc::ServerBidiReactor<v1::SampleBatch, v1::Ack>* IngestServiceImpl::StreamSamples(grpc::CallbackServerContext* ctx) {
  return new StreamReactor(ctx, store_, status_store_, executor_, now_us_, draining_);
}

}  // namespace healthtwin::ingest
