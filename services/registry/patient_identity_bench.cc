// What encryption at rest costs the registry, on a private PostgreSQL cluster as the registry's
// role: identities stored per second (a DEK made and wrapped per patient, 8 fields encrypted),
// read per second (unwrap + decrypt), MRN lookups per second (blind index, no decryption), and
// KEK rotation in data keys rewrapped per second. A benchmark, not a test:
//   healthtwin-identity-bench [--patients 2000] [--batch 500]
#include <CLI/CLI.hpp>
#include <chrono>
#include <functional>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"
#include "services/common/pg.h"
#include "services/registry/patient_identity_store.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"

namespace {

using namespace healthtwin;

double PerSecond(int n, const std::function<void(int)>& op) {
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i) op(i);
  return n / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Check(const absl::Status& s) {
  if (!s.ok()) {
    std::cerr << "identity bench: " << s << "\n";
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("identifying data at rest: store, read, MRN lookup and KEK rotation throughput");
  int patients = 2000;
  int batch = 500;
  app.add_option("--patients", patients, "patients to store")->check(CLI::Range(1, 1'000'000));
  app.add_option("--batch", batch, "data keys rewrapped per transaction")->check(CLI::Range(1, 100'000));
  CLI11_PARSE(app, argc, argv);

  auto cluster = testing::PgCluster::Start();
  if (!cluster.ok()) {
    std::cerr << "identity bench: " << cluster.status() << "\n";
    return 2;
  }
  auto su = testing::CreateMigratedDatabase(**cluster, "bench");
  Check(su.status());
  testing::ExecSql(*su, absl::StrCat("INSERT INTO patients (patient_id) SELECT 'pat-' || g FROM generate_series(0, ",
                                     patients - 1, ") g"));
  common::crypto::testing::TestKeyringDir ring(/*keks=*/2, /*active=*/1);
  auto keys = common::crypto::FileKeyring::Create(ring.dir());
  Check(keys.status());
  common::PgPool pool(testing::ServiceConnInfo(*su, "ingest"), 1);
  registry::PatientIdentityStore store(pool, **keys);

  auto identity = [](int i) {
    return registry::PatientIdentity{.given = absl::StrCat("Given", i),
                                     .family = absl::StrCat("Family", i),
                                     .birth_date = "1970-01-01",
                                     .mrn = absl::StrCat("MRN-", i),
                                     .mrn_system = "urn:oid:1.2.3",
                                     .phone = "+1 555 0100",
                                     .email = absl::StrCat("p", i, "@example.org"),
                                     .address = "1 Main St"};
  };
  const double put = PerSecond(patients, [&](int i) { Check(store.Put(absl::StrCat("pat-", i), identity(i))); });
  const double get = PerSecond(patients, [&](int i) { Check(store.Get(absl::StrCat("pat-", i)).status()); });
  const double find = PerSecond(patients, [&](int i) {
    auto found = store.FindByMrn("urn:oid:1.2.3", absl::StrCat("MRN-", i));
    Check(found.status());
  });

  ring.WriteFile("active-kek", "2\n", 0600);
  auto rotated_keys = common::crypto::FileKeyring::Create(ring.dir());
  Check(rotated_keys.status());
  registry::PatientIdentityStore rotated(pool, **rotated_keys);
  int total = 0;
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    auto n = rotated.RewrapBatch(batch);
    Check(n.status());
    if (*n == 0) break;
    total += *n;
  }
  const double rewrap = total / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << "patients " << patients << ", one connection, rotation batch " << batch << "\n"
            << "store identity (new DEK, 8 fields):  " << static_cast<int64_t>(put) << " /s\n"
            << "read identity (unwrap + 8 fields):   " << static_cast<int64_t>(get) << " /s\n"
            << "find by MRN (blind index):           " << static_cast<int64_t>(find) << " /s\n"
            << "rotate (DEKs rewrapped):             " << static_cast<int64_t>(rewrap) << " /s (" << total
            << " keys)\n";
  return 0;
}
