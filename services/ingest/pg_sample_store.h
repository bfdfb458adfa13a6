// SampleStore on PostgreSQL. Each batch is one transaction: the samples are COPYed into a
// per-connection temporary staging table, then moved with two INSERT ... SELECT statements,
// bound devices into the partitioned vitals table and the rest into quarantine, both with
// ON CONFLICT DO NOTHING so a replay stores nothing twice. A NOTIFY on "vitals_new" wakes
// consumers (alerts, twin). The commit is synchronous: OK means durable.
#pragma once

#include "services/common/pg.h"
#include "services/ingest/sample_store.h"

namespace healthtwin::ingest {

class PgSampleStore : public SampleStore {
 public:
  explicit PgSampleStore(common::PgPool& pool) : pool_(pool) {}
  absl::StatusOr<StoreOutcome> StoreBatch(std::string_view bridge_id,
                                          const std::vector<ValidSample>& samples) override;

  // Pass to the PgPool that serves this store: prepares each new connection (staging table).
  static void PrepareConnection(pqxx::connection& conn);

 private:
  common::PgPool& pool_;
};

// Escapes a value for PostgreSQL's COPY text format (backslash, tab, newline, CR).
std::string CopyEscape(std::string_view text);

}  // namespace healthtwin::ingest
