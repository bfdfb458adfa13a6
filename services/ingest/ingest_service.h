// gRPC adapter for healthtwin.vitals.v1.IngestService: one IngestStream per bridge stream.
// Reads a batch, processes it on the executor (blocking database work), writes the
// acknowledgement, then reads the next: at most one batch per stream is in flight, which
// together with gRPC's flow control slows a fast sender down instead of buffering.
#pragma once

#include <atomic>
#include <functional>

#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/executor.h"
#include "services/ingest/device_status_store.h"
#include "services/ingest/sample_store.h"

namespace healthtwin::ingest {

class IngestServiceImpl final : public healthtwin::vitals::v1::IngestService::CallbackService {
 public:
  IngestServiceImpl(SampleStore& store, DeviceStatusStore& status_store, common::Executor& executor,
                    std::function<int64_t()> now_us)
      : store_(store), status_store_(status_store), executor_(executor), now_us_(std::move(now_us)) {}

  grpc::ServerBidiReactor<healthtwin::vitals::v1::SampleBatch, healthtwin::vitals::v1::Ack>* StreamSamples(
      grpc::CallbackServerContext* ctx) override;

  // Graceful shutdown: each stream finishes the batch it is storing, sends its
  // acknowledgement, then ends with UNAVAILABLE so the bridge reconnects elsewhere and
  // resends from its watermark. Streams waiting for a batch end at the drain deadline.
  void BeginDrain() { draining_ = true; }

 private:
  std::atomic<bool> draining_{false};
  SampleStore& store_;
  DeviceStatusStore& status_store_;
  common::Executor& executor_;
  std::function<int64_t()> now_us_;
};

}  // namespace healthtwin::ingest
