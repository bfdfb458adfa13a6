// The on-disk cache of PostgreSQL data directory templates behind PgCluster::Start.
//
// initdb costs about a second, and a migrated database more; copying a finished data
// directory costs a fraction of that. So the first Start on a machine builds a template data
// directory and later Starts copy it. A template lives in
//   <parent>/healthtwin-pg-template-<euid>-<key hash>/data
// where <parent> is PgClusterOptions::template_cache_dir, else $TMPDIR, else /tmp, and the key
// names everything the content depends on (kTemplateFormat, the PostgreSQL binaries and their
// `postgres --version`, the initdb command line, and any prepared content). A changed key is a
// new directory; old ones are never reused. Each use marks a template used (its mtime); building
// a new one removes the others of this user that nobody has used for a week.
//
// Promises:
//  - A template directory appears under its final name complete or not at all: it is built
//    in a private staging directory beside it and renamed into place. Concurrent builders
//    (ctest -j, several worktrees) are safe: the loser of the rename discards its copy.
//  - A template without data/PG_VERSION and data/global/pg_control (damaged after the fact)
//    is moved aside and rebuilt, never copied.
//  - HEALTHTWIN_PG_NO_TEMPLATE=1 in the environment disables the cache: every Start runs initdb.
//
// Internal to the harness. Thread safety: the functions may run concurrently.
#ifndef HEALTHTWIN_TESTS_HARNESS_PG_TEMPLATE_CACHE_H_
#define HEALTHTWIN_TESTS_HARNESS_PG_TEMPLATE_CACHE_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "tests/harness/pg_spawn.h"

namespace healthtwin::testing::internal {

inline constexpr char kNoTemplateEnv[] = "HEALTHTWIN_PG_NO_TEMPLATE";

// Part of every key: bump it whenever what goes into a template changes in a way the other
// key parts do not show (PgCluster::InitDb's flags are in the key already).
inline constexpr int kTemplateFormat = 1;

// True when kNoTemplateEnv is set to anything but "" or "0".
bool TemplateCacheDisabledByEnv();

// The template directory for `key_parts` under `parent` ($TMPDIR or /tmp when empty).
std::string TemplateCacheDir(const std::string& parent, const std::vector<std::string>& key_parts);

// `dir`/data holds a complete data directory.
bool TemplateUsable(const std::string& dir);

// Makes `cache_dir` a usable template unless it is one already: runs `build` on a fresh empty
// staging directory (mode 0700, owned by `run_as`) that must end up holding a stopped
// cluster's data directory in staging/data, then renames the staging directory to `cache_dir`.
// Losing that rename to another process is success. Errors: those of `build` (the staging
// directory is removed), Internal for file system failures.
absl::Status EnsureTemplate(const std::string& cache_dir, const PgUser& run_as,
                            const std::function<absl::Status(const std::string& staging)>& build);

// The first line `postgres --version` prints for the binaries in `bin_dir`, e.g.
// "postgres (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"; remembered per bin_dir. `scratch_dir`
// is a directory `run_as` may write to.
absl::StatusOr<std::string> PostgresVersion(const std::string& bin_dir, const PgUser& run_as,
                                            const std::string& scratch_dir);

}  // namespace healthtwin::testing::internal

#endif  // HEALTHTWIN_TESTS_HARNESS_PG_TEMPLATE_CACHE_H_
