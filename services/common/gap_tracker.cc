#include "services/common/gap_tracker.h"

#include <algorithm>
#include <iterator>
#include <string>

#include "services/common/logging.h"

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
  ReportHeld(tx, running);
}

void GapTracker::ReportHeld(pqxx::work& tx, std::span<const int64_t> running) {
  for (const HeldGap& gap : TakeHeldLongerThan(report_after_, std::chrono::steady_clock::now())) {
    std::vector<int64_t> still;  // this gap's witnesses that were running at the check above
    for (int64_t xid : gap.witnesses) {
      if (std::find(running.begin(), running.end(), xid) != running.end()) still.push_back(xid);
    }
    // pg_stat_activity shows the 32-bit xid; the witness is the 64-bit xid8 (epoch in the high
    // half). No query text: it may hold values.
    nlohmann::json backends = nlohmann::json::array();
    for (const auto& row : tx.exec_params("SELECT pid, coalesce(application_name, ''), coalesce(state, ''),"
                                          " coalesce(extract(epoch FROM now() - xact_start), 0)::float8,"
                                          " coalesce(wait_event_type || ':' || wait_event, '')"
                                          " FROM pg_stat_activity WHERE backend_xid::text::bigint IN"
                                          " (SELECT x % 4294967296 FROM unnest($1::bigint[]) AS x)",
                                          ArrayLiteral(still))) {
      backends.push_back({{"pid", row[0].as<int64_t>()},
                          {"application", row[1].as<std::string>()},
                          {"state", row[2].as<std::string>()},
                          {"xact_age_s", row[3].as<double>()},
                          {"wait", row[4].as<std::string>()}});
    }
    LogWarn("gap.held", {{"consumer", consumer_},
                         {"first_seq", gap.first},
                         {"last_seq", gap.last},
                         {"held_s", std::chrono::duration<double>(gap.held).count()},
                         {"witnesses_running", still},
                         {"backends", backends}});
  }
}

std::vector<GapTracker::HeldGap> GapTracker::TakeHeldLongerThan(std::chrono::steady_clock::duration age,
                                                                std::chrono::steady_clock::time_point now) {
  std::vector<HeldGap> out;
  for (auto& [first, gap] : gaps_) {
    if (!gap.witnessed || gap.settled || gap.reported || now - gap.witnessed_at < age) continue;
    gap.reported = true;
    out.push_back({first, gap.last, gap.witnesses, now - gap.witnessed_at});
  }
  return out;
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
    gap.witnessed_at = std::chrono::steady_clock::now();
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
