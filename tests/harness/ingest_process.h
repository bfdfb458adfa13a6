// Pieces that black-box tests and the ingest benchmark share: a migrated database in a
// private cluster, a development PKI, and the real healthtwin-ingest binary on a free port.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "tests/harness/dev_pki.h"  // MakeDevPki, for this header's users
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::testing {

// The flags every service binary takes, as demo.sh gives them: the `name` certificate from
// `pki_dir`, `conninfo` as the service's own role, 127.0.0.1:0 and its port in `port_file`.
std::vector<std::string> ServiceFlags(const std::string& pki_dir, const std::string& name, const std::string& conninfo,
                                      const std::string& port_file);

struct IngestProcess {
  std::unique_ptr<Subprocess> process;
  std::string address;  // "localhost:PORT"
};

// Starts `binary` (healthtwin-ingest) on 127.0.0.1:0 with the `ingest` certificate from
// `pki_dir`, against `conninfo` as the ingest role (whatever user `conninfo` names), writing its port file into
// `work_dir`; returns once the port is known. `extra_args` are appended (e.g. "--log-level", "warn").
absl::StatusOr<IngestProcess> StartIngestProcess(const std::string& binary, const std::string& pki_dir,
                                                 const std::string& conninfo, const std::string& work_dir,
                                                 const std::vector<std::string>& extra_args = {});

}  // namespace healthtwin::testing
