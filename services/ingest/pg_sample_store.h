// SampleStore on PostgreSQL: one transaction per batch, idempotent inserts, a NOTIFY on
// "vitals_new" so consumers (alerts, twin) wake without polling.
#pragma once

#include "services/common/pg.h"
#include "services/ingest/sample_store.h"

namespace healthtwin::ingest {

class PgSampleStore : public SampleStore {
 public:
  explicit PgSampleStore(common::PgPool& pool) : pool_(pool) {}
  absl::StatusOr<StoreOutcome> StoreBatch(std::string_view bridge_id,
                                          const std::vector<ValidSample>& samples) override;

 private:
  common::PgPool& pool_;
};

}  // namespace healthtwin::ingest
