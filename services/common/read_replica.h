// Query-heavy reads from a hot standby (`--db-read`, `[database] read_conninfo`), within a
// stated lag bound, falling back to the primary.
//
// The standby's connections are opened read-only (`-c default_transaction_read_only=on` in
// the libpq options) and each is checked with pg_is_in_recovery() before use, so a read
// conninfo that names a primary by mistake is refused instead of receiving anything: writes
// never go there, and only WithReadTransaction uses it.
//
// Lag: ReplicaLag (replica_lag.h) bounds the standby's data age from the primary's WAL insert
// position, sampled every `sample_interval` on a connection of our own to the primary, and the
// standby's replay position. A monitor thread probes the standby every `probe_interval` and
// reports through `on_health` (the health service name kHealthService) whether it is usable:
// reachable, in recovery and at most `max_lag` behind. Each read checks the lag again inside its
// own standby transaction, so a read is served there only with data at most `max_lag` old;
// otherwise (standby down, too far behind, not a standby, primary position unknown) it runs on
// the primary, and the switch is logged (db_read.fallback, then db_read.standby_reads).
//
// Thread-safe. Start() once before reads are expected to use the standby; Stop() (or the
// destructor) ends the monitor, after which every read goes to the primary.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/pg.h"
#include "services/common/replica_lag.h"

namespace healthtwin::common {

struct ReadReplicaOptions {
  std::string conninfo;  // the standby; libpq key=value or URI
  std::chrono::milliseconds max_lag{5'000};
  int max_connections = 4;
  PgPoolLimits limits;
  std::chrono::milliseconds sample_interval{200};
  std::chrono::milliseconds probe_interval{1'000};
};

// `conninfo` (key=value or URI) as key=value with `-c default_transaction_read_only=on` added
// to its options, and connect_timeout=5 unless it sets one. InvalidArgument naming the problem
// when libpq cannot parse it.
absl::StatusOr<std::string> ReadOnlyConnInfo(std::string_view conninfo);

class ReadReplica {
 public:
  // The grpc.health.v1 service name of the read path: NOT_SERVING while reads fall back.
  static constexpr char kHealthService[] = "healthtwin.db_read";

  // InvalidArgument when options.conninfo does not parse. `primary` runs the fallback reads;
  // its conninfo is also used for the position samples.
  static absl::StatusOr<std::unique_ptr<ReadReplica>> Create(PgPool& primary, ReadReplicaOptions options);
  ~ReadReplica();

  // Starts the monitor; `on_health(usable)` is called with false at once, then on every change.
  void Start(std::function<void(bool usable)> on_health);
  void Stop();

  // Runs `fn` in a read-only transaction on the standby when it is usable and within the lag
  // bound at this moment, else on the primary. `fn` may run twice (a standby failure mid-read
  // is retried on the primary), so it must reset what it fills.
  absl::Status WithReadTransaction(std::string_view what, const std::function<void(pqxx::work&)>& fn);

  bool usable() const { return usable_.load(); }

 private:
  ReadReplica(PgPool& primary, ReadReplicaOptions options, std::string read_only_conninfo);
  void Run();
  void SamplePrimary();
  void ProbeStandby();
  void SetUsable(bool usable, const std::string& reason, int64_t lag_ms);
  absl::Status OnPrimary(std::string_view what, std::string_view reason, int64_t lag_ms,
                         const std::function<void(pqxx::work&)>& fn);

  PgPool& primary_;
  const ReadReplicaOptions options_;
  PgPool standby_;
  ReplicaLag lag_;
  std::function<void(bool)> on_health_;
  std::atomic<bool> usable_{false};
  enum class Route { kNone, kStandby, kPrimary };
  std::atomic<Route> last_route_{Route::kNone};     // where the last read went, for the switch logs
  std::string last_reason_;                         // monitor thread only
  std::unique_ptr<pqxx::connection> primary_conn_;  // monitor thread only
  std::unique_ptr<pqxx::connection> standby_conn_;  // monitor thread only
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace healthtwin::common
