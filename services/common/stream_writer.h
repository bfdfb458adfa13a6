// A server-streaming reactor fed from any thread: producers Push() messages and Close() with a
// status; it writes one message at a time, in order, and finishes after the last one.
//
// Lifetime: the object deletes itself once both gRPC (OnDone) and the producer (Release) are
// done with it, so a producer on a worker thread can keep its pointer after the call ends and
// simply sees Push() return false. Thread-safe.
//
// Backpressure: at most `max_queued` messages wait; beyond that the oldest *coalescable*
// message (see Push) is dropped, and if none can be dropped the call ends with
// RESOURCE_EXHAUSTED, never buffering without bound.
#pragma once

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include <grpcpp/grpcpp.h>

namespace healthtwin::common {

template <typename T>
class QueuedWriter final : public grpc::ServerWriteReactor<T> {
 public:
  explicit QueuedWriter(std::size_t max_queued = 64) : max_queued_(max_queued) {}

  // Queues `msg`. A coalescable message (e.g. progress) may be dropped in favour of a newer
  // one when the consumer is slow. False once the call has ended or been cancelled.
  bool Push(T msg, bool coalescable = false) {
    std::lock_guard lock(mu_);
    if (ended_ || closing_) return false;
    if (queue_.size() >= max_queued_) {
      auto it = queue_.begin();
      while (it != queue_.end() && !it->second) ++it;
      if (it == queue_.end()) {
        EndLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, "the client is not reading its stream"));
        return false;
      }
      queue_.erase(it);
    }
    queue_.emplace_back(std::move(msg), coalescable);
    if (!writing_) WriteNextLocked();
    return true;
  }

  // Finishes the call once every queued message is written. Idempotent.
  void Close(const grpc::Status& status) {
    std::lock_guard lock(mu_);
    if (ended_ || closing_) return;
    closing_ = true;
    final_status_ = status;
    if (!writing_) WriteNextLocked();
  }

  // True once the client went away or the call ended; producers should stop working.
  bool done() const { return cancelled_.load(); }

  // The producer's reference. Call exactly once, after its last Push/Close.
  void Release() { Unref(); }

 private:
  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) {
      EndLocked(grpc::Status(grpc::StatusCode::CANCELLED, "the stream was broken"));
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    cancelled_ = true;
    std::lock_guard lock(mu_);
    if (!writing_) EndLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    cancelled_ = true;
    Unref();
  }

  void WriteNextLocked() {
    if (ended_) return;
    if (!queue_.empty()) {
      current_ = std::move(queue_.front().first);
      queue_.pop_front();
      writing_ = true;
      this->StartWrite(&current_);
      return;
    }
    if (closing_) EndLocked(final_status_);
  }

  void EndLocked(const grpc::Status& status) {
    cancelled_ = true;
    if (ended_) return;
    ended_ = true;
    queue_.clear();
    this->Finish(status);
  }

  void Unref() {
    if (refs_.fetch_sub(1) == 1) delete this;
  }

  const std::size_t max_queued_;
  std::mutex mu_;
  std::deque<std::pair<T, bool>> queue_;
  T current_;
  bool writing_ = false;
  bool closing_ = false;
  bool ended_ = false;
  grpc::Status final_status_;
  std::atomic<bool> cancelled_{false};
  std::atomic<int> refs_{2};  // gRPC (OnDone) + the producer (Release)
};

}  // namespace healthtwin::common
