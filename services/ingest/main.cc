// healthtwin-ingest: receives vitals from bridges, validates and stores them, serves
// vitals queries and the patient/device registry.
#include <chrono>
#include <iostream>
#include <memory>
#include <optional>

#include "services/common/audit_checkpointing.h"
#include "services/common/config.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/grpc_util.h"
#include "services/common/read_replica.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"
#include "services/common/time_util.h"
#include "services/ingest/ingest_service.h"
#include "services/ingest/partition_maintainer.h"
#include "services/ingest/pg_device_status_store.h"
#include "services/ingest/pg_sample_store.h"
#include "services/ingest/query_service.h"
#include "services/ingest/vitals_reader.h"
#include "services/registry/registry_service.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  int retention_days = 0;
  std::string keyring_dir;
  common::AuditCheckpointFlags checkpoints;
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "ingest", {}, [&](CLI::App& app) {
    app.add_option("--vitals-retention-days", retention_days,
                   "drop vitals partitions older than this many days (0: keep forever)")
        ->check(CLI::Range(0, 36500));
    app.add_option("--keyring", keyring_dir,
                   "keyring directory for patients' identifying data (services/common/crypto/README.md); "
                   "without it the registry refuses identities; its audit-signing.key, if any, signs audit "
                   "checkpoints");
    checkpoints.AddTo(app);
  });
  std::unique_ptr<common::crypto::FileKeyring> keyring;
  if (!keyring_dir.empty()) {
    auto loaded = common::crypto::FileKeyring::Create(keyring_dir);
    if (!loaded.ok()) {
      std::cerr << "healthtwin-ingest: --keyring: " << loaded.status().message() << "\n";
      return 2;
    }
    keyring = *std::move(loaded);
  }
  auto checkpoint_key = common::LoadAuditCheckpointKeyOrExit("ingest", keyring_dir);

  common::PgPool pool(cfg.db_conninfo, 8, ingest::PgSampleStore::PrepareConnection, cfg.db_limits);
  common::Executor executor(8);
  ingest::PgSampleStore store(pool);
  ingest::PgDeviceStatusStore status_store(pool);
  // --db-read: vitals queries on a hot standby within the lag bound (read_replica.h); every
  // write, the audit of those queries included, stays on `pool`.
  std::unique_ptr<common::ReadReplica> replica;
  if (!cfg.db_read_conninfo.empty()) {
    auto made = common::ReadReplica::Create(pool, {.conninfo = cfg.db_read_conninfo,
                                                   .max_lag = std::chrono::milliseconds(cfg.db_read_max_lag_ms),
                                                   .limits = cfg.db_limits});
    if (!made.ok()) {
      std::cerr << "healthtwin-ingest: --db-read: " << made.status().message() << "\n";
      return 2;
    }
    replica = *std::move(made);
  }
  ingest::VitalsReader reader = replica ? ingest::VitalsReader(*replica) : ingest::VitalsReader(pool);
  ingest::PartitionMaintainer partitions(pool, retention_days);
  ingest::IngestServiceImpl ingest_service(store, status_store, executor, common::NowUnixMicros);
  // One policy for the process: the method names of its services are distinct, and so one
  // `[access]` table configures them all.
  common::CallerPolicy::Rules rules = registry::RegistryServiceImpl::DefaultPolicy();
  rules.insert(ingest::QueryServiceImpl::DefaultPolicy().begin(), ingest::QueryServiceImpl::DefaultPolicy().end());
  const common::CallerPolicy policy = common::PolicyOrExit("ingest", rules, cfg.access);
  ingest::QueryServiceImpl query_service(reader, executor, pool, policy);
  std::optional<registry::PatientIdentityStore> identities;
  if (keyring) identities.emplace(pool, *keyring);
  registry::RegistryServiceImpl registry_service(pool, executor, policy, identities ? &*identities : nullptr);
  auto checkpoint_timer = common::EnableAuditCheckpoints(checkpoint_key, checkpoints,
                                                         {&query_service.access(), &registry_service.access()});
  return common::RunService(cfg, {&ingest_service, &query_service, &registry_service},
                            {.on_first_healthy = [&] { partitions.Start(); },
                             .on_drain =
                                 [&] {
                                   ingest_service.BeginDrain();
                                   if (replica) replica->Stop();  // it reports to the host, which goes next
                                 },
                             .on_started =
                                 [&](common::ServiceHost& host) {
                                   if (!replica) return;
                                   replica->Start([&host](bool usable) {
                                     host.SetComponentServing(common::ReadReplica::kHealthService, usable);
                                   });
                                 }});
}
