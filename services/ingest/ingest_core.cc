#include "services/ingest/ingest_core.h"

#include <algorithm>
#include <set>

namespace healthtwin::ingest {
namespace {

// Checks that `items[i].sender_seq` strictly increase above `after`; returns the last one.
template <typename T>
absl::StatusOr<uint64_t> CheckIncreasing(const std::vector<T>& items, uint64_t after, const char* field) {
  uint64_t prev = after;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (items[i].sender_seq <= prev) {
      return absl::InvalidArgumentError(std::string(field) + "[" + std::to_string(i) +
                                        "].sender_seq: " + std::to_string(items[i].sender_seq) +
                                        " is not greater than " + std::to_string(prev));
    }
    prev = items[i].sender_seq;
  }
  return prev;
}

// Validates each item with `validate` (returning a variant of Valid and Rejection); the valid
// ones are returned, the others appended to `rejections`.
template <typename Valid, typename In, typename Validate>
std::vector<Valid> Sift(const std::vector<In>& items, Validate validate, std::vector<Rejection>& rejections) {
  std::vector<Valid> valid;
  valid.reserve(items.size());
  for (const auto& in : items) {
    auto verdict = validate(in);
    if (auto* ok = std::get_if<Valid>(&verdict)) {
      valid.push_back(std::move(*ok));
    } else {
      rejections.push_back(std::get<Rejection>(std::move(verdict)));
    }
  }
  return valid;
}

}  // namespace

absl::StatusOr<BatchResult> IngestStream::Process(const IncomingBatch& batch) {
  if (batch.samples.size() > kMaxSamplesPerBatch) {
    return absl::InvalidArgumentError("samples: " + std::to_string(batch.samples.size()) +
                                      " samples in one batch; at most " + std::to_string(kMaxSamplesPerBatch));
  }
  if (batch.statuses.size() > kMaxStatusesPerBatch) {
    return absl::InvalidArgumentError("statuses: " + std::to_string(batch.statuses.size()) +
                                      " statuses in one batch; at most " + std::to_string(kMaxStatusesPerBatch));
  }
  auto last_sample = CheckIncreasing(batch.samples, last_seq_, "samples");
  if (!last_sample.ok()) return last_sample.status();
  auto last_status = CheckIncreasing(batch.statuses, last_seq_, "statuses");
  if (!last_status.ok()) return last_status.status();
  if (!batch.statuses.empty() && !batch.samples.empty()) {
    std::set<uint64_t> sample_seqs;
    for (const auto& s : batch.samples) sample_seqs.insert(s.sender_seq);
    for (std::size_t i = 0; i < batch.statuses.size(); ++i) {
      if (sample_seqs.contains(batch.statuses[i].sender_seq)) {
        return absl::InvalidArgumentError("statuses[" + std::to_string(i) +
                                          "].sender_seq: " + std::to_string(batch.statuses[i].sender_seq) +
                                          " is also a sample's; samples and statuses share one sequence");
      }
    }
  }

  BatchResult result;
  const int64_t now = now_us_();
  std::vector<ValidSample> valid = Sift<ValidSample>(
      batch.samples, [now](const IncomingSample& in) { return ValidateSample(in, now); }, result.rejections);
  if (!valid.empty()) {
    auto outcome = store_.StoreBatch(bridge_id_, valid);
    if (!outcome.ok()) return outcome.status();
    result.outcome = *outcome;
    for (std::size_t i : outcome->refused_quarantine_full) {
      result.rejections.push_back(
          {valid.at(i).sender_seq, RejectReason::kQuarantineFull,
           "device_id: " + valid[i].device_id + " is not forwardable and this bridge's quarantine is full"});
    }
  }

  std::vector<ValidDeviceStatus> statuses = Sift<ValidDeviceStatus>(
      batch.statuses, [now](const IncomingDeviceStatus& in) { return ValidateDeviceStatus(in, now); },
      result.rejections);
  std::optional<GatewayHeartbeat> heartbeat;
  if (batch.gateway) {
    auto hb = ValidateHeartbeat(*batch.gateway, now);
    if (hb.ok()) {
      heartbeat = *std::move(hb);
    } else {
      result.heartbeat_error = hb.status();
    }
  }
  if (!statuses.empty() || heartbeat) {
    auto outcome = status_store_.StoreStatuses(bridge_id_, statuses, heartbeat, now);
    if (!outcome.ok()) return outcome.status();
    result.status_outcome = *outcome;
  }
  last_seq_ = std::max(*last_sample, *last_status);
  result.durable_through_seq = last_seq_;
  return result;
}

}  // namespace healthtwin::ingest
