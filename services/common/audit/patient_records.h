// The audit records that name one patient, read straight from the database for
// `healthtwin audit export` (an accounting of disclosures: fhir_audit_event.h maps them).
#pragma once

#include <cstdint>
#include <optional>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/common/audit/record.h"

namespace healthtwin::common::audit {

// A half-open window [since, until) on the record time; an absent end is unbounded.
struct RecordWindow {
  std::optional<int64_t> since_unix_us;
  std::optional<int64_t> until_unix_us;
};

// Every record whose patient_id is `patient_id` (allowed, denied and break-glass alike) within
// `window`, in seq order, in one read-only snapshot. Throws pqxx exceptions for database
// failures (the caller translates them).
std::vector<AuditRecord> ReadPatientRecords(pqxx::connection& conn, const std::string& patient_id,
                                            const RecordWindow& window);

}  // namespace healthtwin::common::audit
