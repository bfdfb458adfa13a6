#include "services/ingest/vitals_reader.h"

#include <algorithm>

namespace healthtwin::ingest {
namespace {

// Types travel to SQL as a comma-separated list parsed there, since libpqxx 6.4 has no
// array parameters. Only integers we produced ourselves end up in it. An empty filter means
// every known type, spelled out so that the (patient_id, vital_type, measured_at) index
// serves each type with an equality.
std::string TypeList(const std::vector<common::VitalType>& types) {
  std::string s;
  auto add = [&](int t) {
    if (!s.empty()) s += ",";
    s += std::to_string(t);
  };
  if (types.empty()) {
    for (int t = 1; t <= common::kMaxVitalType; ++t) add(t);
  }
  for (auto t : types) add(static_cast<int>(t));
  return s;
}

constexpr const char* kAt = "timestamptz 'epoch' + $%::bigint * interval '1 microsecond'";

// kAt with its parameter number.
std::string At(int param) {
  std::string s = kAt;
  s.replace(s.find('%'), 1, std::to_string(param));
  return s;
}

}  // namespace

absl::Status VitalsReader::WithReadTransaction(const std::function<void(pqxx::work&)>& fn) {
  if (replica_ != nullptr) return replica_->WithReadTransaction("query vitals", fn);
  return pool_->WithTransaction("query vitals", fn);
}

absl::Status CheckQuery(const VitalsQuery& q) {
  if (q.patient_id.empty()) return absl::InvalidArgumentError("patient_id: required");
  if (q.end_us <= q.start_us) return absl::InvalidArgumentError("end: must be after start");
  if (q.page_size > kMaxPageSize) {
    return absl::InvalidArgumentError("page_size: at most " + std::to_string(kMaxPageSize));
  }
  if (q.bucket_s > kMaxBucketS) return absl::InvalidArgumentError("bucket_s: at most 31 days");
  if (auto s = CheckBucketCount(q.start_us, q.end_us, q.bucket_s); !s.ok()) return s;
  for (auto t : q.types) {
    if (!common::IsKnownVitalType(static_cast<int>(t))) return absl::InvalidArgumentError("types: unknown VitalType");
  }
  if (q.page_token.empty()) return absl::OkStatus();
  absl::StatusOr<VitalsCursor> c = DecodeCursor(q.page_token);
  if (!c.ok()) return c.status();
  // A token continues the query that issued it: the same mode, a position inside the range.
  const bool bucketed = q.bucket_s != 0;
  const int64_t first = bucketed ? BucketStartUs(q.start_us, q.bucket_s) : q.start_us;
  if (c->bucketed != bucketed || c->at_us < first || c->at_us >= q.end_us ||
      (bucketed && BucketStartUs(c->at_us, q.bucket_s) != c->at_us)) {
    return absl::InvalidArgumentError("page_token: does not belong to this query (range, bucket_s or mode changed)");
  }
  return absl::OkStatus();
}

// What each page reads (EXPLAIN-level): every statement has patient_id and vital_type as
// equalities and a measured_at range, so it is an index range scan of vitals_patient_time_idx
// in the partitions of that range only.
//  - Raw: one LATERAL per type reads that type's rows from the cursor in index order and stops
//    after page + 1, so a page touches at most types x (page + 1) rows (plus ties on the same
//    instant), never the rest of the range.
//  - Bucketed: a page covers a window of `page` whole buckets from the cursor, so the GROUP BY
//    sees only that window's rows (at most page x types groups) and a page of dense data is
//    full; the next page starts at the window's end, or inside the window after the last
//    (bucket, type) returned when the window held more than `page` groups. The bucket is
//    computed with date_part (double precision): PostgreSQL 15's extract(epoch ...) is numeric,
//    4x slower over 43,200 rows (130 ms against 31 ms; the dashboard's 30-day heart rate).
absl::StatusOr<VitalsPage> VitalsReader::Query(const VitalsQuery& q) {
  if (auto s = CheckQuery(q); !s.ok()) return s;
  const uint32_t page = q.page_size == 0 ? kDefaultPageSize : q.page_size;
  VitalsCursor cursor;
  if (!q.page_token.empty()) {
    cursor = *DecodeCursor(q.page_token);  // CheckQuery accepted it
  } else if (q.bucket_s == 0) {
    cursor = {.bucketed = false, .at_us = q.start_us, .after = -1};  // -1: every ingest_seq at start
  } else {
    cursor = {.bucketed = true, .at_us = BucketStartUs(q.start_us, q.bucket_s), .after = 0};
  }
  const std::string types = TypeList(q.types);
  // One more row than the page tells whether the page is the last one.
  const int64_t limit = static_cast<int64_t>(page) + 1;
  VitalsPage out;
  auto status = WithReadTransaction([&](pqxx::work& tx) {
    out = VitalsPage{};
    tx.exec("SET TRANSACTION READ ONLY");
    if (q.bucket_s == 0) {
      const pqxx::result r = tx.exec_params(
          "SELECT v.device_id, v.vital_type, v.value, (extract(epoch FROM v.measured_at) * 1000000)::bigint,"
          " (extract(epoch FROM v.received_at) * 1000000)::bigint, v.flags, v.ingest_seq"
          " FROM unnest(string_to_array($2, ',')::smallint[]) AS t(vital_type)"
          " CROSS JOIN LATERAL (SELECT * FROM vitals WHERE patient_id = $1 AND vital_type = t.vital_type"
          "   AND measured_at >= " + At(3) + " AND measured_at < " + At(4) +
          "   AND (measured_at > " + At(3) + " OR ingest_seq > $5)"
          "   ORDER BY measured_at, ingest_seq LIMIT $6) v"
          " ORDER BY v.measured_at, v.ingest_seq LIMIT $6",
          q.patient_id, types, cursor.at_us, q.end_us, cursor.after, limit);
      int64_t last_seq = 0;
      for (const auto& row : r) {
        if (out.samples.size() == page) {
          out.next_page_token = EncodeCursor({.bucketed = false, .at_us = out.samples.back().measured_at_us,
                                              .after = last_seq});
          break;
        }
        StoredVital v;
        v.device_id = row[0].as<std::string>();
        v.type = static_cast<common::VitalType>(row[1].as<int>());
        v.value = row[2].as<double>();
        v.measured_at_us = row[3].as<int64_t>();
        if (!row[4].is_null()) v.received_at_us = row[4].as<int64_t>();
        v.flags = static_cast<uint32_t>(row[5].as<int64_t>());
        v.ingest_seq = row[6].as<int64_t>();
        last_seq = v.ingest_seq;
        out.samples.push_back(std::move(v));
      }
      return;
    }
    const int64_t bucket_us = static_cast<int64_t>(q.bucket_s) * 1'000'000;
    const int64_t window_end = std::min(q.end_us, cursor.at_us + static_cast<int64_t>(page) * bucket_us);
    const pqxx::result r = tx.exec_params(
        "SELECT vital_type, b, lo, hi, mean, n FROM ("
        "  SELECT vital_type, (floor(date_part('epoch', measured_at) / $7) * $7 * 1000000)::bigint AS b,"
        "   min(value) AS lo, max(value) AS hi, avg(value) AS mean, count(*) AS n FROM vitals"
        "  WHERE patient_id = $1 AND vital_type = ANY (string_to_array($2, ',')::smallint[])"
        "   AND measured_at >= " + At(3) + " AND measured_at < " + At(4) +
        "  GROUP BY 1, 2) g"
        " WHERE b > $5 OR vital_type > $6 ORDER BY b, vital_type LIMIT $8",
        q.patient_id, types, std::max(q.start_us, cursor.at_us), window_end, cursor.at_us, cursor.after,
        static_cast<int64_t>(q.bucket_s), limit);
    for (const auto& row : r) {
      if (out.buckets.size() == page) {
        const VitalsBucket& last = out.buckets.back();
        out.next_page_token = EncodeCursor(
            {.bucketed = true, .at_us = last.bucket_start_us, .after = static_cast<int64_t>(last.type)});
        return;
      }
      out.buckets.push_back({static_cast<common::VitalType>(row[0].as<int>()), row[1].as<int64_t>(),
                             row[2].as<double>(), row[3].as<double>(), row[4].as<double>(),
                             static_cast<uint32_t>(row[5].as<int64_t>())});
    }
    // The window is done; a window may be empty (no data there) and still not be the last.
    if (window_end < q.end_us) out.next_page_token = EncodeCursor({.bucketed = true, .at_us = window_end, .after = 0});
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace healthtwin::ingest
