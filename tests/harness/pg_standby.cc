// PgCluster as a streaming hot standby of another PgCluster (PgClusterOptions::standby_of).
//
// The primary's pg_hba.conf (initdb -A trust) already admits `local replication all trust`, and
// PostgreSQL 15's defaults (wal_level = replica, max_wal_senders = 10, hot_standby = on) are
// what streaming replication needs, so the primary is not reconfigured.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;

// Slot names allow only [a-z0-9_]: the hex of the standby directory's name (mkdtemp's suffix
// mixes cases), unique among the standbys of one primary.
std::string SlotNameFor(const std::string& dir) {
  const std::string base = dir.substr(dir.find_last_of('/') + 1);
  return "healthtwin_standby_" + absl::BytesToHexString(base);
}

// The value of `key = '...'` in a postgresql.conf-style file ('' stands for '); "" if absent.
std::string ConfValue(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  std::string line, value;
  while (std::getline(in, line)) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t open = line.find('\'', key.size());
    if (open == std::string::npos) continue;
    value.clear();
    for (size_t i = open + 1; i < line.size(); ++i) {
      if (line[i] != '\'') {
        value += line[i];
      } else if (i + 1 < line.size() && line[i + 1] == '\'') {
        value += '\'';
        ++i;
      } else {
        break;
      }
    }
  }
  return value;  // the last setting wins, as in PostgreSQL
}

}  // namespace

void PgCluster::ReadStandbySettings() {
  if (!fs::exists(fs::path(data_dir()) / "standby.signal")) return;
  const std::string auto_conf = data_dir() + "/postgresql.auto.conf";
  primary_conninfo_ = ConfValue(auto_conf, "primary_conninfo");
  replication_slot_ = ConfValue(auto_conf, "primary_slot_name");
  if (primary_conninfo_.empty()) replication_slot_.clear();
}

absl::Status PgCluster::BaseBackupFrom(const PgCluster& primary) {
  if (!primary.running_) return absl::FailedPreconditionError("the primary of a standby must be running");
  primary_conninfo_ = primary.ConnInfo();
  replication_slot_ = SlotNameFor(dir_);
  // -R writes standby.signal and primary_conninfo (the primary's socket); -C -S create the slot
  // and name it there; -c fast: do not wait for a spread checkpoint.
  // The bin directory found may hold links to initdb and pg_ctl only (/usr/local/bin here):
  // pg_basebackup sits beside the real pg_ctl.
  std::error_code ec;
  const fs::path real_bin = fs::canonical(fs::path(bin_dir_) / "pg_ctl", ec).parent_path();
  if (ec) return absl::InternalError(absl::StrCat("cannot resolve ", bin_dir_, "/pg_ctl: ", ec.message()));
  absl::StatusOr<int> code =
      internal::SpawnAs({(real_bin / "pg_basebackup").string(), "-D", data_dir(), "-d", primary_conninfo_, "-R", "-X",
                         "stream", "-C", "-S", replication_slot_, "-c", "fast", "--no-sync"},
                        run_as_, dir_, log_path());
  if (!code.ok()) return code.status();
  if (*code != 0) {
    replication_slot_.clear();  // not made, or pg_basebackup dropped it on failure
    return ErrorWithLog(absl::StatusCode::kInternal, absl::StrCat("pg_basebackup failed with exit code ", *code));
  }
  return absl::OkStatus();
}

void PgCluster::DropReplicationSlot() {
  if (replication_slot_.empty()) return;
  const std::string slot = std::exchange(replication_slot_, "");
  // The primary's walsender may not have noticed yet that the standby stopped: end it, then drop.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (true) {
    try {
      pqxx::connection conn(primary_conninfo_);
      pqxx::nontransaction tx(conn);
      tx.exec_params(
          "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active", slot);
      tx.exec_params("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", slot);
      return;
    } catch (const pqxx::broken_connection&) {
      return;  // the primary is gone, and its slots with it
    } catch (const std::exception& e) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::cerr << "PgCluster: cannot drop replication slot " << slot << ": " << e.what() << "\n";
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace healthtwin::testing
