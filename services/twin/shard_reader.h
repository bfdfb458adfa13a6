// Reads one twin shard's vitals rows for the consumer, in ingest_seq order, without reading a
// row twice.
//
// The read (kShardReadSql in twin_keeper.h) returns only this shard's rows, so every other
// shard's ingest_seq values look like gaps to the consumer's GapTracker, which holds the cursor
// at a new gap until a later round (gap_tracker.h). Re-reading the held rows every round would
// read each row about twice; instead the rows read past the hold are kept here, and the next
// round reads only what it has not seen: the rows that became visible among them since (a late
// commit filling a gap, kShardLateSql) and new rows after them.
//
// Not thread-safe; the keeper calls it under its work mutex.
#pragma once

#include <cstdint>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/twin/shard.h"

namespace healthtwin::twin {

struct VitalRow {
  std::int64_t seq = 0;
  std::string patient_id;
  int vital_type = 0;
  double value = 0.0;
  std::int64_t measured_at_unix_s = 0;
  int flags = 0;
};

class ShardReader {
 public:
  ShardReader(ShardSpec shard, int batch_rows) : shard_(shard), batch_rows_(batch_rows) {}

  // This shard's rows after `from`, ascending: the rows held at `from` by the last round, those
  // that became visible among them, and up to batch_rows new ones. `rows_read` is increased by
  // the rows PostgreSQL returned.
  std::vector<VitalRow> Read(pqxx::work& tx, std::int64_t from, std::uint64_t& rows_read);
  // The round absorbed `rows` up to `advance_to`; keeps the rest for the next round.
  void Hold(std::vector<VitalRow>& rows, std::int64_t advance_to);
  // Whether rows wait behind a gap.
  bool holding() const { return !held_.empty(); }
  // Forgets the held rows (after a failed round).
  void Reset() { held_.clear(); }

 private:
  ShardSpec shard_;
  int batch_rows_;
  std::vector<VitalRow> held_;  // read, after held_from_, not yet absorbed
  std::int64_t held_from_ = -1;
};

}  // namespace healthtwin::twin
