#include "services/common/read_replica.h"

#include <libpq-fe.h>

#include <algorithm>
#include <optional>

#include "services/common/logging.h"

namespace healthtwin::common {
namespace {

using Clock = ReplicaLag::Clock;

constexpr char kReadOnlyOption[] = "-c default_transaction_read_only=on";
// The position as a byte count; NULL on a server that is not replaying.
constexpr char kReplayPositionSql[] = "(pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint";

std::string QuoteConnValue(std::string_view value) {
  std::string quoted = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') quoted += '\\';
    quoted += c;
  }
  return quoted + "'";
}

std::optional<int64_t> ReplayPosition(pqxx::transaction_base& tx, bool* in_recovery = nullptr) {
  const pqxx::row row = tx.exec1(std::string("SELECT pg_is_in_recovery(), ") + kReplayPositionSql);
  if (in_recovery != nullptr) *in_recovery = row[0].as<bool>();
  if (row[1].is_null()) return std::nullopt;
  return row[1].as<int64_t>();
}

}  // namespace

absl::StatusOr<std::string> ReadOnlyConnInfo(std::string_view conninfo) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(std::string(conninfo).c_str(), &error);
  if (options == nullptr) {
    std::string why = error != nullptr ? error : "out of memory";
    PQfreemem(error);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return absl::InvalidArgumentError("read conninfo: " + why);
  }
  std::string out;
  bool has_options = false, has_timeout = false;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string value = o->val;
    if (std::string_view(o->keyword) == "options") {
      has_options = true;
      value += std::string(" ") + kReadOnlyOption;
    }
    if (std::string_view(o->keyword) == "connect_timeout") has_timeout = true;
    out += std::string(out.empty() ? "" : " ") + o->keyword + "=" + QuoteConnValue(value);
  }
  PQconninfoFree(options);
  if (!has_options) out += std::string(out.empty() ? "" : " ") + "options=" + QuoteConnValue(kReadOnlyOption);
  // A standby host that drops packets must not hold a read (or the monitor) for long.
  if (!has_timeout) out += " connect_timeout=5";
  return out;
}

absl::StatusOr<std::unique_ptr<ReadReplica>> ReadReplica::Create(PgPool& primary, ReadReplicaOptions options) {
  absl::StatusOr<std::string> read_only = ReadOnlyConnInfo(options.conninfo);
  if (!read_only.ok()) return read_only.status();
  return std::unique_ptr<ReadReplica>(new ReadReplica(primary, std::move(options), *std::move(read_only)));
}

ReadReplica::ReadReplica(PgPool& primary, ReadReplicaOptions options, std::string read_only_conninfo)
    : primary_(primary),
      options_(std::move(options)),
      standby_(
          std::move(read_only_conninfo), options_.max_connections,
          [](pqxx::connection& conn) {
            pqxx::nontransaction tx(conn);
            // Writes are refused by the session's read-only default already; a primary
            // named by mistake would still see our reads, and lag would mean nothing.
            if (!tx.exec1("SELECT pg_is_in_recovery()")[0].as<bool>()) {
              throw pqxx::broken_connection("the read database is not a standby (pg_is_in_recovery() is false)");
            }
          },
          options_.limits),
      // Twice the bound: a standby just past it still gets a figure rather than "unknown".
      lag_(std::max(options_.max_lag * 2, options_.probe_interval * 4)) {}

ReadReplica::~ReadReplica() { Stop(); }

void ReadReplica::Start(std::function<void(bool)> on_health) {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stop_) return;
  on_health_ = std::move(on_health);
  if (on_health_) on_health_(false);
  thread_ = std::thread([this] { Run(); });
}

void ReadReplica::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  usable_ = false;
}

void ReadReplica::Run() {
  LogInfo("db_read.monitor_started", {{"max_lag_ms", static_cast<int64_t>(options_.max_lag.count())}});
  // The first probe after a second sample: against a single sample taken an instant ago, a
  // standby a few milliseconds behind would read as "lag unknown" at every start.
  auto next_probe = Clock::now() + options_.sample_interval;
  while (true) {
    SamplePrimary();
    if (Clock::now() >= next_probe) {
      ProbeStandby();
      next_probe = Clock::now() + options_.probe_interval;
    }
    std::unique_lock lock(mu_);
    if (cv_.wait_for(lock, options_.sample_interval, [&] { return stop_; })) return;
  }
}

void ReadReplica::SamplePrimary() {
  try {
    if (!primary_conn_) primary_conn_ = std::make_unique<pqxx::connection>(primary_.conninfo());
    // Stamped before the query is sent: every commit before this instant ends at or below the
    // position read (replica_lag.h).
    const Clock::time_point sent_at = Clock::now();
    pqxx::nontransaction tx(*primary_conn_);
    const pqxx::row row = tx.exec1("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::bigint");
    lag_.RecordPrimary(sent_at, row[0].as<int64_t>());
  } catch (const std::exception& e) {
    // The primary's own supervisor reports it down; without samples the lag grows unknown and
    // reads stop using the standby.
    if (primary_conn_) LogDebug("db_read.primary_sample_failed", {{"error", e.what()}});
    primary_conn_.reset();
  }
}

void ReadReplica::ProbeStandby() {
  try {
    if (!standby_conn_) standby_conn_ = std::make_unique<pqxx::connection>(standby_.conninfo());
    pqxx::nontransaction tx(*standby_conn_);
    bool in_recovery = false;
    const std::optional<int64_t> replayed = ReplayPosition(tx, &in_recovery);
    if (!in_recovery) {
      standby_conn_.reset();
      return SetUsable(false, "not_a_standby", -1);
    }
    const auto lag = replayed ? lag_.LagAt(*replayed, Clock::now()) : std::nullopt;
    if (!lag) return SetUsable(false, "lag_unknown", -1);
    SetUsable(*lag <= options_.max_lag, *lag <= options_.max_lag ? "" : "lag_over_bound", lag->count());
  } catch (const std::exception& e) {
    if (standby_conn_) LogDebug("db_read.standby_probe_failed", {{"error", e.what()}});
    standby_conn_.reset();
    SetUsable(false, "standby_unreachable", -1);
  }
}

void ReadReplica::SetUsable(bool usable, const std::string& reason, int64_t lag_ms) {
  const bool was = usable_.exchange(usable);
  if (was == usable && reason == last_reason_) return;
  last_reason_ = reason;
  const int64_t max_lag_ms = options_.max_lag.count();
  if (usable) {
    LogInfo("db_read.standby_usable", {{"lag_ms", lag_ms}, {"max_lag_ms", max_lag_ms}});
  } else {
    LogWarn("db_read.standby_degraded",
            {{"reason", reason}, {"lag_ms", lag_ms}, {"max_lag_ms", max_lag_ms}, {"reads_go_to", "primary"}});
  }
  if (was != usable && on_health_) on_health_(usable);
}

absl::Status ReadReplica::OnPrimary(std::string_view what, std::string_view reason, int64_t lag_ms,
                                    const std::function<void(pqxx::work&)>& fn) {
  if (last_route_.exchange(Route::kPrimary) != Route::kPrimary) {
    LogWarn("db_read.fallback", {{"what", std::string(what)},
                                 {"reason", std::string(reason)},
                                 {"lag_ms", lag_ms},
                                 {"max_lag_ms", static_cast<int64_t>(options_.max_lag.count())}});
  }
  return primary_.WithTransaction(what, fn);
}

absl::Status ReadReplica::WithReadTransaction(std::string_view what, const std::function<void(pqxx::work&)>& fn) {
  if (!usable_.load()) return OnPrimary(what, "standby_not_usable", -1, fn);
  bool over_bound = false;
  int64_t lag_ms = -1;
  absl::Status status = standby_.WithTransaction(what, [&](pqxx::work& tx) {
    // Checked inside the read's own transaction: under READ COMMITTED its statements see at
    // least this replay position, so the data is at most `lag` old.
    const std::optional<int64_t> replayed = ReplayPosition(tx);
    const auto lag = replayed ? lag_.LagAt(*replayed, Clock::now()) : std::nullopt;
    lag_ms = lag ? lag->count() : -1;
    if (!lag || *lag > options_.max_lag) {
      over_bound = true;
      return;
    }
    fn(tx);
  });
  if (over_bound) return OnPrimary(what, "lag_over_bound", lag_ms, fn);
  // Unreachable, cancelled by a recovery conflict, or its pool busy: the primary can answer.
  if (absl::IsUnavailable(status) || absl::IsAborted(status) || absl::IsResourceExhausted(status)) {
    return OnPrimary(what, "standby_failed: " + std::string(status.message()), lag_ms, fn);
  }
  if (status.ok() && last_route_.exchange(Route::kStandby) != Route::kStandby) {
    LogInfo("db_read.standby_reads", {{"what", std::string(what)}, {"lag_ms", lag_ms}});
  }
  return status;
}

}  // namespace healthtwin::common
