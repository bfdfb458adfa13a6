// Waits for PostgreSQL NOTIFY on one channel, reconnecting by itself. Used by consumers that
// follow a table (alerts evaluator, alert hub) to wake as soon as a writer commits, with a
// timeout so they still poll when a notification is lost (e.g. during a reconnect).
// Not thread-safe: one owner thread.
#pragma once

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

namespace healthtwin::common {

class PgListener {
 public:
  PgListener(std::string conninfo, std::string channel)
      : conninfo_(std::move(conninfo)), channels_{std::move(channel)} {}
  // Wakes on a notification on any of `channels` (one connection LISTENs to all).
  PgListener(std::string conninfo, std::vector<std::string> channels)
      : conninfo_(std::move(conninfo)), channels_(std::move(channels)) {}

  // Returns after a notification on the channel or after `timeout`, whichever is first.
  // When the database is unreachable it just sleeps for `timeout`.
  void Wait(std::chrono::milliseconds timeout);

 private:
  const std::string conninfo_;
  const std::vector<std::string> channels_;
  std::unique_ptr<pqxx::connection> conn_;
};

}  // namespace healthtwin::common
