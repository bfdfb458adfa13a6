#include "services/common/audit/patient_records.h"

#include "absl/strings/str_cat.h"
#include "services/common/audit/verify.h"

namespace healthtwin::common::audit {

std::vector<AuditRecord> ReadPatientRecords(pqxx::connection& conn, const std::string& patient_id,
                                            const RecordWindow& window) {
  pqxx::transaction<pqxx::isolation_level::repeatable_read, pqxx::readwrite_policy::read_only> tx(conn);
  // Microseconds since the epoch as an interval, so the bounds keep every digit (to_timestamp
  // takes a double).
  const auto rows = tx.exec_params(
      absl::StrCat("SELECT ", kRecordColumns,
                   " FROM audit_log WHERE patient_id = $1"
                   " AND ($2::bigint IS NULL OR at >= 'epoch'::timestamptz + $2::bigint * interval '1 microsecond')"
                   " AND ($3::bigint IS NULL OR at < 'epoch'::timestamptz + $3::bigint * interval '1 microsecond')"
                   " ORDER BY seq"),
      patient_id, window.since_unix_us, window.until_unix_us);
  std::vector<AuditRecord> records;
  records.reserve(rows.size());
  for (const auto& row : rows) records.push_back(RecordFromRow(row));
  return records;
}

}  // namespace healthtwin::common::audit
