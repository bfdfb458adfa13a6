// Running PostgreSQL's programs (and cp) as the cluster's user: the part of PgCluster that
// forks. Internal to the harness; PgCluster and the data directory template cache share it.
//
// Thread safety: SpawnAs may be called from several threads at once.
#ifndef HEALTHTWIN_TESTS_HARNESS_PG_SPAWN_H_
#define HEALTHTWIN_TESTS_HARNESS_PG_SPAWN_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace healthtwin::testing::internal {

// Who runs initdb, pg_ctl and the server.
struct PgUser {
  bool drop_privileges = false;  // we run as root: switch to `postgres`
  uid_t uid = 0;
  gid_t gid = 0;
};

// strerror() shares one buffer between threads; this does not.
std::string ErrnoText(int error);

// Runs argv (argv[0] is a path, no shell) as `run_as` in `cwd` with stdin from /dev/null and
// stdout and stderr appended to `log_path`; returns its exit code. The child inherits no
// descriptor of ours besides stdio.
absl::StatusOr<int> SpawnAs(const std::vector<std::string>& argv, const PgUser& run_as, const std::string& cwd,
                            const std::string& log_path);

}  // namespace healthtwin::testing::internal

#endif  // HEALTHTWIN_TESTS_HARNESS_PG_SPAWN_H_
