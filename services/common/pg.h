// PostgreSQL access for services: a small connection pool that translates libpqxx
// exceptions into absl::Status exactly once, and a supervisor that connects, checks the schema
// and watches the database so that health checking can report NOT_SERVING while it is down.
//
// Thread-safe. Connections are created lazily, so a pool can exist while the database is
// unreachable; calls then fail with UNAVAILABLE instead of crashing.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <pqxx/pqxx>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/common/pg_limits.h"

namespace healthtwin::common {

// Maps a libpqxx or standard exception to the most specific status: broken connections
// become UNAVAILABLE, unique violations ALREADY_EXISTS, bad data INVALID_ARGUMENT,
// serialization failures ABORTED, a cancelled query (statement_timeout) DEADLINE_EXCEEDED,
// the rest INTERNAL. `what` says what we were doing. The message is `what`, a category and the
// SQLSTATE, never the database's text (which can quote values and the schema); that text goes
// to the debug log.
absl::Status StatusFromException(const std::exception& e, std::string_view what);

// The numbers of a PostgreSQL array read as `array_to_string(column, ',')` ("" -> empty).
std::vector<double> ParseNumberList(std::string_view text);

class PgPool {
 public:
  // `on_connect` runs on every new connection before first use (session settings,
  // temporary tables); its failure fails the call that opened the connection.
  PgPool(std::string conninfo, int max_connections, std::function<void(pqxx::connection&)> on_connect = {},
         PgPoolLimits limits = {});
  ~PgPool();

  // Runs `fn` inside one transaction on a pooled connection and commits. Exceptions are
  // translated; a broken connection is discarded so the next call reconnects.
  absl::Status WithTransaction(std::string_view what, const std::function<void(pqxx::work&)>& fn);

  // Runs `fn` with a raw connection (no transaction), e.g. for LISTEN.
  absl::Status WithConnection(std::string_view what, const std::function<void(pqxx::connection&)>& fn);

  const std::string& conninfo() const { return conninfo_; }

 private:
  absl::StatusOr<std::unique_ptr<pqxx::connection>> Acquire();
  void Release(std::unique_ptr<pqxx::connection> conn);

  const std::string conninfo_;
  const int max_connections_;
  const std::function<void(pqxx::connection&)> on_connect_;
  const PgPoolLimits limits_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_;
  int open_ = 0;
};

// Connects with exponential backoff (100 ms up to 5 s) and checks that the database has exactly
// this build's migrations (CheckSchema; services never migrate), then pings every second.
// Reports every change of health through `on_health`. A missing, older or newer schema is
// fatal: `on_fatal` is called once and the supervisor stops.
class PgSupervisor {
 public:
  PgSupervisor(std::string conninfo, std::function<void(bool healthy)> on_health,
               std::function<void(const absl::Status&)> on_fatal);
  ~PgSupervisor();  // stops the thread

  bool healthy() const { return healthy_.load(); }

 private:
  void Run();
  void SetHealthy(bool healthy);

  const std::string conninfo_;
  std::function<void(bool)> on_health_;
  std::function<void(const absl::Status&)> on_fatal_;
  std::atomic<bool> healthy_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace healthtwin::common
