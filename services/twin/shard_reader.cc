#include "services/twin/shard_reader.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/twin/twin_keeper.h"

namespace healthtwin::twin {
namespace {

void Append(const pqxx::result& result, std::vector<VitalRow>& out) {
  for (const auto& r : result) {
    out.push_back({r[0].as<std::int64_t>(), r[1].as<std::string>(), r[2].as<int>(), r[3].as<double>(),
                   r[4].as<std::int64_t>(), r[5].as<int>()});
  }
}

}  // namespace

std::vector<VitalRow> ShardReader::Read(pqxx::work& tx, std::int64_t from, std::uint64_t& rows_read) {
  std::vector<VitalRow> rows;
  std::int64_t after = from;
  if (!held_.empty() && held_from_ == from) {
    after = held_.back().seq;
    std::vector<std::int64_t> seen;
    seen.reserve(held_.size());
    for (const VitalRow& r : held_) seen.push_back(r.seq);
    const pqxx::result late = tx.exec_params(kShardLateSql, from, after, shard_.KeyBegin(), shard_.KeyEnd(),
                                             absl::StrCat("{", absl::StrJoin(seen, ","), "}"));
    rows_read += late.size();
    rows = std::move(held_);
    Append(late, rows);
  }
  held_.clear();
  const pqxx::result fresh = tx.exec_params(kShardReadSql, after, batch_rows_, shard_.KeyBegin(), shard_.KeyEnd());
  rows_read += fresh.size();
  Append(fresh, rows);
  std::sort(rows.begin(), rows.end(), [](const VitalRow& a, const VitalRow& b) { return a.seq < b.seq; });
  return rows;
}

void ShardReader::Hold(std::vector<VitalRow>& rows, std::int64_t advance_to) {
  held_.clear();
  auto first_held = std::upper_bound(rows.begin(), rows.end(), advance_to,
                                     [](std::int64_t s, const VitalRow& r) { return s < r.seq; });
  held_.assign(std::make_move_iterator(first_held), std::make_move_iterator(rows.end()));
  rows.erase(first_held, rows.end());
  held_from_ = advance_to;
}

}  // namespace healthtwin::twin
