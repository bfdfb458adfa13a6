#include "services/ingest/vitals_reader.h"

#include "services/common/page_token.h"

namespace healthtwin::ingest {
namespace {

// Types travel to SQL as a comma-separated list parsed there, since libpqxx 6.4 has no
// array parameters. Only integers we produced ourselves end up in it.
std::string TypeList(const std::vector<common::VitalType>& types) {
  std::string s;
  for (auto t : types) {
    if (!s.empty()) s += ",";
    s += std::to_string(static_cast<int>(t));
  }
  return s;
}

// The largest offset a token may carry: offset + page size still fits a bigint.
constexpr int64_t kMaxOffset = INT64_MAX - kMaxPageSize;

}  // namespace

absl::Status CheckQuery(const VitalsQuery& q) {
  if (q.patient_id.empty()) return absl::InvalidArgumentError("patient_id: required");
  if (q.end_us <= q.start_us) return absl::InvalidArgumentError("end: must be after start");
  if (q.page_size > kMaxPageSize) {
    return absl::InvalidArgumentError("page_size: at most " + std::to_string(kMaxPageSize));
  }
  if (q.bucket_s > 31u * 86400u) return absl::InvalidArgumentError("bucket_s: at most 31 days");
  for (auto t : q.types) {
    if (!common::IsKnownVitalType(static_cast<int>(t))) return absl::InvalidArgumentError("types: unknown VitalType");
  }
  return common::ParsePageToken(q.page_token, kMaxOffset).status();
}

absl::StatusOr<VitalsPage> VitalsReader::Query(const VitalsQuery& q) {
  if (auto s = CheckQuery(q); !s.ok()) return s;
  const uint32_t page = q.page_size == 0 ? kDefaultPageSize : q.page_size;
  const int64_t offset = *common::ParsePageToken(q.page_token, kMaxOffset);  // checked above
  const std::string types = TypeList(q.types);
  VitalsPage out;
  auto status = pool_.WithTransaction("query vitals", [&](pqxx::work& tx) {
    tx.exec("SET TRANSACTION READ ONLY");
    pqxx::result r;
    // One more row than the page tells whether a next page exists.
    const int64_t limit = static_cast<int64_t>(page) + 1;
    const char* type_filter = "($2 = '' OR vital_type = ANY (string_to_array($2, ',')::smallint[]))";
    const std::string range =
        " AND measured_at >= timestamptz 'epoch' + $3::bigint * interval '1 microsecond'"
        " AND measured_at < timestamptz 'epoch' + $4::bigint * interval '1 microsecond'";
    if (q.bucket_s == 0) {
      r = tx.exec_params(
          "SELECT device_id, vital_type, value, (extract(epoch FROM measured_at) * 1000000)::bigint,"
          " (extract(epoch FROM received_at) * 1000000)::bigint, flags FROM vitals"
          " WHERE patient_id = $1 AND " + std::string(type_filter) + range +
          " ORDER BY measured_at, ingest_seq LIMIT $5 OFFSET $6",
          q.patient_id, types, q.start_us, q.end_us, limit, offset);
      for (const auto& row : r) {
        if (out.samples.size() == page) break;
        StoredVital v;
        v.device_id = row[0].as<std::string>();
        v.type = static_cast<common::VitalType>(row[1].as<int>());
        v.value = row[2].as<double>();
        v.measured_at_us = row[3].as<int64_t>();
        if (!row[4].is_null()) v.received_at_us = row[4].as<int64_t>();
        v.flags = static_cast<uint32_t>(row[5].as<int64_t>());
        out.samples.push_back(std::move(v));
      }
    } else {
      r = tx.exec_params(
          "SELECT vital_type, (floor(extract(epoch FROM measured_at) / $7) * $7 * 1000000)::bigint AS b,"
          " min(value), max(value), avg(value), count(*) FROM vitals"
          " WHERE patient_id = $1 AND " + std::string(type_filter) + range +
          " GROUP BY 1, 2 ORDER BY 2, 1 LIMIT $5 OFFSET $6",
          q.patient_id, types, q.start_us, q.end_us, limit, offset, static_cast<int64_t>(q.bucket_s));
      for (const auto& row : r) {
        if (out.buckets.size() == page) break;
        out.buckets.push_back({static_cast<common::VitalType>(row[0].as<int>()), row[1].as<int64_t>(),
                               row[2].as<double>(), row[3].as<double>(), row[4].as<double>(),
                               static_cast<uint32_t>(row[5].as<int64_t>())});
      }
    }
    if (r.size() > page) out.next_page_token = std::to_string(offset + page);
  });
  if (!status.ok()) return status;
  return out;
}

}  // namespace healthtwin::ingest
