#include "services/common/pg.h"

#include <algorithm>
#include <chrono>

#include "services/common/db/migrator.h"
#include "services/common/logging.h"

namespace healthtwin::common {

std::vector<double> ParseNumberList(std::string_view text) {
  std::vector<double> out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(std::stod(std::string(text.substr(start, end - start))));
    start = end + 1;
  }
  return out;
}

absl::Status StatusFromException(const std::exception& e, std::string_view what) {
  // The database's own text never reaches a caller: it can quote values (a patient id in a key
  // violation) and the schema. Callers get what we were doing and the SQLSTATE; the text goes
  // to the debug log, the SQLSTATE to the warning.
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  const std::string state = sql != nullptr ? sql->sqlstate() : "";
  LogDebug("db.error", {{"what", std::string(what)}, {"sqlstate", state}, {"error", e.what()}});
  auto msg = [&](std::string_view kind) {
    return std::string(what) + ": " + std::string(kind) + (state.empty() ? "" : " (SQLSTATE " + state + ")");
  };
  // 57014 query_canceled: PgPoolLimits::statement_timeout fired (or an operator cancelled it).
  if (state == "57014") {
    return absl::DeadlineExceededError(std::string(what) +
                                       ": the database query took longer than the statement timeout and was cancelled");
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) return absl::UnavailableError(msg("database unreachable"));
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(msg("connection lost during commit; the outcome is unknown"));
  }
  if (dynamic_cast<const pqxx::unique_violation*>(&e) != nullptr) return absl::AlreadyExistsError(msg("already exists"));
  if (dynamic_cast<const pqxx::foreign_key_violation*>(&e) != nullptr) {
    return absl::FailedPreconditionError(msg("refers to something that does not exist"));
  }
  if (dynamic_cast<const pqxx::data_exception*>(&e) != nullptr) return absl::InvalidArgumentError(msg("invalid value"));
  if (dynamic_cast<const pqxx::serialization_failure*>(&e) != nullptr) return absl::AbortedError(msg("conflict; retry"));
  // Class 08 is connection exceptions, 57P is operator intervention (e.g. server shutdown).
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0) return absl::UnavailableError(msg("database unavailable"));
  LogWarn("db.internal_error", {{"what", std::string(what)}, {"sqlstate", state}});
  if (sql == nullptr) return absl::InternalError(msg("internal error"));
  return absl::InternalError(msg("database error"));
}

PgPool::PgPool(std::string conninfo, int max_connections, std::function<void(pqxx::connection&)> on_connect,
               PgPoolLimits limits)
    : conninfo_(std::move(conninfo)),
      max_connections_(std::max(1, max_connections)),
      on_connect_(std::move(on_connect)),
      limits_(limits) {}

PgPool::~PgPool() = default;

absl::StatusOr<std::unique_ptr<pqxx::connection>> PgPool::Acquire() {
  {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, limits_.acquire_timeout, [&] { return !idle_.empty() || open_ < max_connections_; })) {
      return absl::ResourceExhaustedError("database pool exhausted: all " + std::to_string(max_connections_) +
                                          " connections stayed busy for " +
                                          std::to_string(limits_.acquire_timeout.count()) + " ms; retry later");
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
    ++open_;
  }
  try {
    auto conn = std::make_unique<pqxx::connection>(conninfo_);
    {
      pqxx::nontransaction tx(*conn);
      tx.exec_params("SELECT set_config('statement_timeout', $1, false)",
                     std::to_string(limits_.statement_timeout.count()));
    }
    if (on_connect_) on_connect_(*conn);
    return conn;
  } catch (const std::exception& e) {
    std::lock_guard lock(mu_);
    --open_;
    cv_.notify_one();
    return StatusFromException(e, "connect to PostgreSQL");
  }
}

void PgPool::Release(std::unique_ptr<pqxx::connection> conn) {
  std::lock_guard lock(mu_);
  if (conn && conn->is_open()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
  }
  cv_.notify_one();
}

absl::Status PgPool::WithConnection(std::string_view what, const std::function<void(pqxx::connection&)>& fn) {
  auto conn = Acquire();
  if (!conn.ok()) return conn.status();
  absl::Status status;
  try {
    fn(**conn);
  } catch (const std::exception& e) {
    status = StatusFromException(e, what);
    if (absl::IsUnavailable(status)) conn->reset();  // drop it; the next call reconnects
  }
  Release(std::move(*conn));
  return status;
}

absl::Status PgPool::WithTransaction(std::string_view what, const std::function<void(pqxx::work&)>& fn) {
  return WithConnection(what, [&](pqxx::connection& c) {
    pqxx::work tx(c);
    fn(tx);
    tx.commit();
  });
}

PgSupervisor::PgSupervisor(std::string conninfo, std::function<void(bool)> on_health,
                           std::function<void(const absl::Status&)> on_fatal)
    : conninfo_(std::move(conninfo)), on_health_(std::move(on_health)), on_fatal_(std::move(on_fatal)) {
  thread_ = std::thread([this] { Run(); });
}

PgSupervisor::~PgSupervisor() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PgSupervisor::SetHealthy(bool healthy) {
  if (healthy_.exchange(healthy) != healthy && on_health_) on_health_(healthy);
}

void PgSupervisor::Run() {
  using namespace std::chrono_literals;
  std::unique_ptr<pqxx::connection> conn;
  auto backoff = 100ms;
  bool checked = false;
  while (true) {
    std::chrono::milliseconds wait = 1000ms;
    try {
      if (!conn || !conn->is_open()) {
        conn = std::make_unique<pqxx::connection>(conninfo_);
        LogInfo("db.connected", {{"database", conn->dbname()}});
      }
      if (!checked) {
        // Services do not migrate (their roles cannot run DDL; healthtwin-migrate does, as
        // healthtwin_migrator): a schema other than this build's is fatal, not retried.
        absl::Status schema = CheckSchema(*conn, BuiltInMigrations());
        if (absl::IsFailedPrecondition(schema)) {
          LogError("db.schema_refused", {{"error", schema.message()}});
          SetHealthy(false);
          if (on_fatal_) on_fatal_(schema);
          return;
        }
        if (!schema.ok()) throw std::runtime_error(std::string(schema.message()));
        LogInfo("db.schema_ok", {{"version", BuiltInMigrations().empty() ? 0 : BuiltInMigrations().back().version}});
        checked = true;
      }
      pqxx::nontransaction ping(*conn);
      ping.exec("SELECT 1");
      backoff = 100ms;
      SetHealthy(true);
    } catch (const std::exception& e) {
      conn.reset();
      SetHealthy(false);
      wait = backoff;
      // For the operator, so the database's own text (connection refused, bad password).
      LogWarn("db.unreachable", {{"error", e.what()},
                                 {"retry_in_ms", static_cast<int64_t>(backoff.count())}});
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 5000ms);
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, wait, [&] { return stop_; })) return;
  }
}

}  // namespace healthtwin::common
