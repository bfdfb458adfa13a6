// healthtwin-pg-harness: drives PgCluster from scripts (the demo, manual runs).
//
//   healthtwin-pg-harness start --dir DIR          # prints the conninfo
//   healthtwin-pg-harness start --dir DIR --standby-of PRIMARY_DIR   # a streaming hot standby
//   healthtwin-pg-harness createdb --dir DIR NAME  # prints NAME's conninfo
//   healthtwin-pg-harness stop --dir DIR [--remove]
//
// Exit codes: 0 success, 1 the operation failed, 2 bad arguments.

#include <algorithm>
#include <iostream>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/pg_cluster.h"

namespace {

using healthtwin::testing::PgCluster;
using healthtwin::testing::PgClusterOptions;

constexpr char kProgram[] = "healthtwin-pg-harness";
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int Fail(const absl::Status& status) {
  std::cerr << kProgram << ": " << status << "\n";
  return kExitFailure;
}

int RunStart(const std::string& dir, const std::string& standby_of) {
  std::unique_ptr<PgCluster> primary;
  if (!standby_of.empty()) {
    absl::StatusOr<std::unique_ptr<PgCluster>> attached = PgCluster::Attach(standby_of);
    if (!attached.ok()) return Fail(attached.status());
    primary = *std::move(attached);
  }
  // keep = false only matters on failure: a half-made cluster is removed. On
  // success Detach() leaves everything in place.
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster =
      PgCluster::Start(PgClusterOptions{.base_dir = dir, .keep = false, .standby_of = primary.get()});
  if (!cluster.ok()) return Fail(cluster.status());
  std::cout << (*cluster)->ConnInfo() << std::endl;
  (*cluster)->Detach();  // the server outlives this process
  return 0;
}

int RunStop(const std::string& dir, bool remove) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Attach(dir);
  if (!cluster.ok()) return Fail(cluster.status());
  absl::Status status = remove ? (*cluster)->Destroy() : (*cluster)->Stop();
  return status.ok() ? 0 : Fail(status);
}

int RunCreateDb(const std::string& dir, const std::string& name) {
  absl::StatusOr<std::unique_ptr<PgCluster>> cluster = PgCluster::Attach(dir);
  if (!cluster.ok()) return Fail(cluster.status());
  if (absl::Status status = (*cluster)->CreateDatabase(name); !status.ok()) return Fail(status);
  std::cout << (*cluster)->ConnInfo(name) << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Throwaway PostgreSQL clusters that listen on a Unix socket only.", kProgram};
  app.require_subcommand(1);

  std::string dir;
  bool remove = false;
  std::string name;
  std::string standby_of;

  CLI::App* start = app.add_subcommand("start", "Create a cluster in DIR, leave it running, print its conninfo");
  start->add_option("--dir", dir, "Cluster directory (created; must be empty)")->required();
  start->add_option("--standby-of", standby_of,
                    "Make a streaming hot standby of the running cluster in this directory (pg_basebackup -R with "
                    "a replication slot, which `stop --remove` of the standby drops)");

  CLI::App* stop = app.add_subcommand("stop", "Stop the cluster in DIR");
  stop->add_option("--dir", dir, "Cluster directory")->required();
  stop->add_flag("--remove", remove, "Also delete DIR");

  CLI::App* createdb =
      app.add_subcommand("createdb", "Create an empty database in the running cluster, print its conninfo");
  createdb->add_option("--dir", dir, "Cluster directory")->required();
  createdb->add_option("NAME", name, "Database name")->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    std::cerr << kProgram << ": " << message << " (see --help)\n";
    return kExitUsage;
  }

  if (start->parsed()) return RunStart(dir, standby_of);
  if (stop->parsed()) return RunStop(dir, remove);
  return RunCreateDb(dir, name);
}
