// SampleStore on PostgreSQL. Each batch is one transaction: the samples are COPYed into a
// per-connection temporary staging table, classified, then moved with two INSERT ... SELECT
// statements: samples of a device bound to a patient, sent by one of the device's gateways and
// measured after the binding into the partitioned vitals table, the rest into quarantine (bounded
// per bridge; technical_events records foreign gateways and full quarantines), both with
// ON CONFLICT DO NOTHING so a replay stores nothing twice. A NOTIFY on "vitals_new" wakes
// consumers (alerts, twin). The commit is synchronous: OK means durable.
#pragma once

#include "services/common/binding.h"
#include "services/common/pg.h"
#include "services/ingest/sample_store.h"

namespace healthtwin::ingest {

struct StoreLimits {
  // Samples a bridge may hold in quarantine (unreleased) before ingest refuses more from it.
  // Quarantine exists for devices awaiting enrolment; a bridge that fills it is misconfigured or
  // hostile, and must not be able to grow the database without bound. 100,000 is about 70 days
  // of one device at one reading a minute.
  int64_t max_pending_quarantine_per_bridge = 100'000;
  // How long before its binding a device's measurement may be and still count as the patient's.
  int binding_clock_grace_s = common::kBindingClockGraceS;
};

class PgSampleStore : public SampleStore {
 public:
  explicit PgSampleStore(common::PgPool& pool, StoreLimits limits = {}) : pool_(pool), limits_(limits) {}
  absl::StatusOr<StoreOutcome> StoreBatch(std::string_view bridge_id,
                                          const std::vector<ValidSample>& samples) override;

  // Pass to the PgPool that serves this store: prepares each new connection (staging table).
  static void PrepareConnection(pqxx::connection& conn);

 private:
  common::PgPool& pool_;
  const StoreLimits limits_;
};

// Escapes a value for PostgreSQL's COPY text format (backslash, tab, newline, CR).
std::string CopyEscape(std::string_view text);

}  // namespace healthtwin::ingest
