// Reads stored vitals for plots and tables: raw samples or min/max/mean per time bucket,
// paginated by key (vitals_paging.h). Checks the query and names the bad field. Given a
// ReadReplica, queries run on the hot standby within its lag bound, else on the primary.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/pg.h"
#include "services/common/read_replica.h"
#include "services/common/vital_type.h"
#include "services/ingest/vitals_paging.h"

namespace healthtwin::ingest {

struct VitalsQuery {
  std::string patient_id;
  std::vector<common::VitalType> types;  // empty: all
  int64_t start_us = 0;
  int64_t end_us = 0;
  uint32_t bucket_s = 0;
  uint32_t page_size = 0;  // 0: default
  std::string page_token;
};

struct StoredVital {
  int64_t ingest_seq = 0;  // the row's identity
  std::string device_id;
  common::VitalType type;
  double value;
  int64_t measured_at_us;
  std::optional<int64_t> received_at_us;
  uint32_t flags;
};

struct VitalsBucket {
  common::VitalType type;
  int64_t bucket_start_us;
  double min, max, mean;
  uint32_t count;
};

struct VitalsPage {
  std::vector<StoredVital> samples;
  std::vector<VitalsBucket> buckets;
  std::string next_page_token;
};

// InvalidArgument naming the field for a bad query.
absl::Status CheckQuery(const VitalsQuery& q);

class VitalsReader {
 public:
  // Every query on `pool`.
  explicit VitalsReader(common::PgPool& pool) : pool_(&pool) {}
  // Queries through `replica` (standby or its primary); it must outlive the reader.
  explicit VitalsReader(common::ReadReplica& replica) : replica_(&replica) {}
  absl::StatusOr<VitalsPage> Query(const VitalsQuery& q);

 private:
  absl::Status WithReadTransaction(const std::function<void(pqxx::work&)>& fn);

  common::PgPool* pool_ = nullptr;
  common::ReadReplica* replica_ = nullptr;
};

}  // namespace healthtwin::ingest
