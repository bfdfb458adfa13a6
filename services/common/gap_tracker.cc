#include "services/common/gap_tracker.h"

#include <algorithm>
#include <iterator>
#include <string>

namespace healthtwin::common {
namespace {

std::string ArrayLiteral(std::span<const int64_t> values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(values[i]);
  }
  return out + "}";
}

}  // namespace

void GapTracker::BeforeRead(pqxx::work& tx) {
  if (gaps_.empty()) return;
  const std::vector<int64_t> witnesses = Witnesses();
  std::vector<int64_t> running;
  if (!witnesses.empty()) {
    // A NULL status is a transaction so old that PostgreSQL dropped its status: long ended.
    for (const auto& row : tx.exec_params("SELECT x FROM unnest($1::bigint[]) AS x"
                                          " WHERE pg_xact_status(x::text::xid8) = 'in progress'",
                                          ArrayLiteral(witnesses))) {
      running.push_back(row[0].as<int64_t>());
    }
  }
  Settle(running);
}

int64_t GapTracker::AfterRead(pqxx::work& tx, int64_t cursor, std::span<const int64_t> seqs) {
  const int64_t advance_to = Advance(cursor, seqs);
  if (NeedsWitnesses()) {
    std::vector<int64_t> in_progress;
    for (const auto& row : tx.exec("SELECT x::text::bigint FROM pg_snapshot_xip(pg_current_snapshot()) AS x")) {
      in_progress.push_back(row[0].as<int64_t>());
    }
    Witness(in_progress);
  }
  return advance_to;
}

std::vector<int64_t> GapTracker::Witnesses() const {
  std::vector<int64_t> out;
  for (const auto& [first, gap] : gaps_) {
    if (gap.witnessed && !gap.settled) out.insert(out.end(), gap.witnesses.begin(), gap.witnesses.end());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void GapTracker::Settle(std::span<const int64_t> in_progress) {
  for (auto& [first, gap] : gaps_) {
    if (!gap.witnessed || gap.settled) continue;
    gap.settled = std::none_of(gap.witnesses.begin(), gap.witnesses.end(), [&](int64_t xid) {
      return std::find(in_progress.begin(), in_progress.end(), xid) != in_progress.end();
    });
    if (gap.settled) gap.witnesses.clear();
  }
}

bool GapTracker::NeedsWitnesses() const {
  return std::any_of(gaps_.begin(), gaps_.end(), [](const auto& g) { return !g.second.witnessed; });
}

void GapTracker::Witness(std::span<const int64_t> in_progress) {
  for (auto& [first, gap] : gaps_) {
    if (gap.witnessed) continue;
    gap.witnessed = true;
    gap.witnesses.assign(in_progress.begin(), in_progress.end());
  }
}

bool GapTracker::Unsettled(int64_t lo, int64_t hi) {
  bool unsettled = false;
  int64_t next = lo;  // the first value of [lo, hi] not yet covered by a known range
  auto it = gaps_.upper_bound(lo);
  if (it != gaps_.begin() && std::prev(it)->second.last >= lo) --it;
  while (next <= hi) {
    if (it == gaps_.end() || it->first > hi) {
      gaps_.emplace(next, Gap{.last = hi});
      return true;
    }
    if (it->first > next) {  // an uncovered stretch before the known range
      gaps_.emplace(next, Gap{.last = it->first - 1});
      unsettled = true;
    }
    unsettled = unsettled || !it->second.settled;
    next = it->second.last + 1;
    ++it;
  }
  return unsettled;
}

int64_t GapTracker::Advance(int64_t cursor, std::span<const int64_t> seqs) {
  int64_t advance_to = cursor;
  int64_t seen = cursor;  // the highest value looked at
  bool held = false;      // stopped before an unsettled gap
  for (int64_t seq : seqs) {
    if (seq <= seen) continue;
    // Beyond the first unsettled gap the cursor stays, but later gaps are tracked (and so
    // witnessed) now rather than one round after another.
    if (seq > seen + 1 && Unsettled(seen + 1, seq - 1)) held = true;
    seen = seq;
    if (!held) advance_to = seq;
  }
  // Ranges the cursor has passed are done with.
  while (!gaps_.empty() && gaps_.begin()->second.last <= advance_to) gaps_.erase(gaps_.begin());
  return advance_to;
}

}  // namespace healthtwin::common
