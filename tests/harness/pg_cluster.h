// A throwaway PostgreSQL cluster for integration tests and the demo.
//
// PgCluster runs `initdb` and `pg_ctl` from the PostgreSQL installed on the
// machine (PATH first, then the highest /usr/lib/postgresql/<version>/bin).
// Start() copies a cached template data directory made by initdb (and
// optionally prepared further) rather than running initdb every time; see
// PgClusterOptions and pg_template_cache.h.
// The server listens only on a Unix socket inside the cluster directory, so
// clusters never collide on a TCP port and several can run at once. `fsync`
// stays on, so a committed transaction survives Kill9() + Restart().
//
// Directory layout (all under dir()):
//   data/           the data directory given to initdb
//   postgres.log    output of initdb, pg_ctl and the server
//   .s.PGSQL.5432   the server's socket
//
// When the process runs as root, the directory is handed to the `postgres`
// user and every command runs as that user, because PostgreSQL refuses to run
// as root. Every parent of the directory must then be searchable by
// `postgres` (the default, a fresh directory under $TMPDIR or /tmp, is).
//
// Ownership: an object made by Start() owns the cluster. Its destructor stops
// the server and removes the directory (unless `keep`); Detach() gives that
// up. An object made by Attach() never owns the cluster.
//
// Thread safety: const methods may be called concurrently; the others must
// not run concurrently with any other call on the same object.

#ifndef HEALTHTWIN_TESTS_HARNESS_PG_CLUSTER_H_
#define HEALTHTWIN_TESTS_HARNESS_PG_CLUSTER_H_

#include <sys/types.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "tests/harness/pg_spawn.h"

namespace healthtwin::testing {

class PgCluster;

struct PgClusterOptions {
  // Directory for the cluster: created if missing, must be empty if present.
  // Empty: a fresh directory made with mkdtemp under $TMPDIR, or /tmp.
  std::string base_dir{};
  // Leave the directory on disk when the owning object is destroyed (the
  // server is still stopped). Useful to read postgres.log after a failure.
  bool keep = false;

  // Copy a cached template data directory instead of running initdb
  // (pg_template_cache.h). Off, or HEALTHTWIN_PG_NO_TEMPLATE=1 in the
  // environment: initdb runs, and prepare_template below does not.
  bool use_template_cache = true;
  // Where the templates live; empty: $TMPDIR, else /tmp. Tests of the cache
  // give a private directory.
  std::string template_cache_dir{};
  // Content baked into the template on top of initdb's: prepare_template runs
  // once per machine on a fresh running cluster, which is then stopped and
  // cached. template_key is part of the cache key and must change whenever
  // prepare_template would make something else (a hash of its inputs). Both
  // empty: the plain initdb template.
  std::string template_key{};
  std::function<absl::Status(PgCluster&)> prepare_template{};

  // Make the cluster a streaming hot standby of this running cluster instead of copying a
  // template (pg_standby.cc): `pg_basebackup -R -X stream -C -S <slot>` from it, then its own
  // socket settings; the template options above are then ignored. The slot keeps the
  // primary's WAL while the standby is stopped, and is dropped when the owning object goes.
  // The primary must outlive the standby object.
  const PgCluster* standby_of = nullptr;
  // Lines appended to postgresql.conf before the first start, e.g. "log_statement = 'mod'".
  std::vector<std::string> extra_config{};
};

class PgCluster {
 public:
  // Creates a cluster and starts its server; returns once it accepts
  // connections. Errors: NotFound when PostgreSQL is not installed,
  // AlreadyExists when base_dir already holds a cluster, FailedPrecondition
  // when base_dir is not empty, Internal when initdb or the server fails (the
  // message ends with the last lines of postgres.log).
  static absl::StatusOr<std::unique_ptr<PgCluster>> Start(const PgClusterOptions& options = {});

  // Attaches to a cluster created earlier in `dir`, possibly by another
  // process (the CLI's stop and createdb commands). The server may be running
  // or stopped. The returned object does not own the cluster: destroying it
  // neither stops the server nor removes the directory.
  static absl::StatusOr<std::unique_ptr<PgCluster>> Attach(std::string_view dir);

  PgCluster(const PgCluster&) = delete;
  PgCluster& operator=(const PgCluster&) = delete;

  // If owned: stops the server and removes the directory unless `keep` (then
  // in immediate mode: no shutdown checkpoint for data about to be deleted;
  // with `keep`, fast mode). Failures are reported on stderr only; call Destroy() to see them.
  ~PgCluster();

  // libpq connection string, e.g.
  // "host=/tmp/healthtwin-pg-Ab12Cd port=5432 dbname=postgres user=postgres".
  std::string ConnInfo(std::string_view dbname = "postgres") const;

  // Creates a fresh, empty database (from template0, UTF8). AlreadyExists if
  // it exists, Unavailable if the server cannot be reached.
  absl::Status CreateDatabase(std::string_view name);
  // The same from `template_db`, which must take no connections (so that
  // concurrent calls do not collide). Database-level grants and settings are
  // not copied: PostgreSQL keeps them outside the template.
  absl::Status CreateDatabase(std::string_view name, std::string_view template_db);

  // `pg_ctl stop -m fast`. OK if the server is already stopped.
  absl::Status Stop();

  // Starts the server again on the same data directory, stopping it first if
  // it runs. After Kill9() this goes through crash recovery.
  absl::Status Restart();

  // Sends SIGKILL to the postmaster, as a crash would, and waits until it and
  // all its children are gone so that Restart() can follow immediately.
  // FailedPrecondition if the server is not running.
  absl::Status Kill9();

  // Stops the server and removes the directory, reporting failures. After it,
  // the destructor does nothing. Also works on an attached cluster. A standby's replication
  // slot on its primary is dropped too.
  absl::Status Destroy();

  // Leaves the server running and the directory in place when this object is
  // destroyed; the CLI's start command uses it to outlive the process.
  void Detach();

  const std::string& dir() const { return dir_; }

 private:
  PgCluster(std::string dir, std::string bin_dir, internal::PgUser run_as, bool owned, bool keep);

  absl::Status InitDb();
  // data/ as a base backup of options.standby_of (pg_standby.cc).
  absl::Status BaseBackupFrom(const PgCluster& primary);
  // Drops the replication slot BaseBackupFrom made on the primary; best effort.
  void DropReplicationSlot();
  // For Attach(): the primary and slot of a standby, from the postgresql.auto.conf that
  // pg_basebackup -R wrote; nothing for a primary.
  void ReadStandbySettings();
  // data/ from the template cache, building the templates it needs first.
  absl::Status CopyTemplate(const PgClusterOptions& options);
  // The cached template directory for `options`, built when missing.
  absl::StatusOr<std::string> EnsureTemplates(const PgClusterOptions& options);
  absl::Status WriteConfig(const std::vector<std::string>& extra_config = {});
  absl::Status StartServer();
  // Runs bin_dir_/<program> <args> as the cluster's user with output appended
  // to the log; returns the exit code.
  absl::StatusOr<int> RunPg(const std::string& program, const std::vector<std::string>& args) const;
  // `message` followed by the tail of postgres.log.
  absl::Status ErrorWithLog(absl::StatusCode code, absl::string_view message) const;

  std::string data_dir() const { return dir_ + "/data"; }
  std::string log_path() const { return dir_ + "/postgres.log"; }

  std::string dir_;
  std::string bin_dir_;
  internal::PgUser run_as_;
  int port_;
  bool owned_;
  bool keep_;
  bool running_ = false;
  // Set on a standby made by Start(): the primary's conninfo and the slot it streams from.
  std::string primary_conninfo_;
  std::string replication_slot_;
};

}  // namespace healthtwin::testing

#endif  // HEALTHTWIN_TESTS_HARNESS_PG_CLUSTER_H_
