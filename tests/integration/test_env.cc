#include "tests/integration/test_env.h"

#include <sys/wait.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>

#include "clinician_api/clinician_service.h"
#include "services/alerts/alert_service.h"
#include "services/alerts/evaluator.h"
#include "services/alerts/rules/test_catalogue.h"
#include "services/common/access.h"
#include "services/common/config.h"
#include "services/common/crypto/file_keyring.h"
#include "services/common/crypto/test_keyring.h"
#include "services/common/executor.h"
#include "services/common/grpc_util.h"
#include "services/common/logging.h"
#include "services/common/pg.h"
#include "services/common/service_host.h"
#include "services/common/time_util.h"
#include "services/ingest/ingest_service.h"
#include "services/ingest/pg_device_status_store.h"
#include "services/ingest/pg_sample_store.h"
#include "services/ingest/query_service.h"
#include "services/ingest/vitals_reader.h"
#include "services/registry/registry_service.h"
#include "services/simulation/engines.h"
#include "services/simulation/simulation_service.h"
#include "services/twin/twin_service.h"
#include "tests/harness/dev_pki.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/test_paths.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;

// Shared by every test of the binary; set by SliceEnvironment::SetUp.
PgCluster* g_cluster = nullptr;
fs::path* g_pki_dir = nullptr;

// Registered before main() runs; gtest_main then sets it up once around all tests.
[[maybe_unused]] ::testing::Environment* const kSliceEnvironment =
    ::testing::AddGlobalTestEnvironment(new SliceEnvironment);

common::ServiceConfig HostConfig(std::string_view service, std::string_view cert, const std::string& conninfo) {
  common::ServiceConfig cfg;
  cfg.service_name = std::string(service);
  cfg.listen_address = "127.0.0.1:0";
  cfg.tls = SliceEnvironment::Tls(cert);
  // The CA's CRL, as deploy/config/*.toml configure it: a certificate revoked in the slice's PKI
  // (deploy/pki/revoke.sh) before a slice starts is refused at that slice's handshake.
  cfg.tls.crl_path = (fs::path(SliceEnvironment::PkiDir()) / "crl.pem").string();
  cfg.db_conninfo = conninfo;
  // Tests end their streams before teardown; anything left over is cancelled quickly.
  cfg.drain_timeout_s = 2;
  return cfg;
}

template <typename T>
T QueryScalar(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::nontransaction tx(conn);
  const pqxx::result r = tx.exec(sql);
  if (r.empty() || r[0][0].is_null()) return T{};
  return r[0][0].as<T>();
}

}  // namespace

// ----------------------------------------------------------------------------- environment

void SliceEnvironment::SetUp() {
  ASSERT_TRUE(common::InitLogging("slice_integration_test", "warn", common::LogFormat::kText).ok());

  std::string pattern = (fs::temp_directory_path() / "healthtwin-slice-pki.XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr) << "mkdtemp " << pattern;
  g_pki_dir = new fs::path(pattern);
  const absl::Status pki = MakeDevPki(TestPath("HT_PKI_SCRIPT"), g_pki_dir->string());
  ASSERT_TRUE(pki.ok()) << pki;

  auto cluster = PgCluster::Start(WithMigratedTemplate());
  ASSERT_TRUE(cluster.ok()) << cluster.status();
  g_cluster = cluster->release();
}

void SliceEnvironment::TearDown() {
  delete g_cluster;  // stops the server and removes its directory
  g_cluster = nullptr;
  if (g_pki_dir != nullptr) {
    std::error_code ec;
    fs::remove_all(*g_pki_dir, ec);
    delete g_pki_dir;
    g_pki_dir = nullptr;
  }
}

PgCluster* SliceEnvironment::cluster() { return g_cluster; }

std::string SliceEnvironment::PkiDir() { return g_pki_dir != nullptr ? g_pki_dir->string() : "/nonexistent"; }

common::TlsFiles SliceEnvironment::Tls(std::string_view identity) {
  const fs::path dir = PkiDir();
  const std::string name(identity);
  return common::TlsFiles{(dir / "ca.pem").string(), (dir / (name + ".pem")).string(),
                          (dir / (name + ".key")).string()};
}

// ----------------------------------------------------------------------------- slice

// Declared in dependency order; ~Parts tears down in the reverse order explicitly.
struct Slice::Parts {
  // data host: ingest, vitals query, registry, twin
  std::unique_ptr<common::PgPool> data_pool;
  std::unique_ptr<common::Executor> data_executor;
  std::unique_ptr<ingest::PgSampleStore> store;
  std::unique_ptr<ingest::PgDeviceStatusStore> status_store;
  std::unique_ptr<ingest::VitalsReader> reader;
  std::unique_ptr<ingest::IngestServiceImpl> ingest;
  std::unique_ptr<ingest::QueryServiceImpl> query;
  // The registry encrypts identities under a fresh test keyring, as ingest does with --keyring.
  std::unique_ptr<common::crypto::testing::TestKeyringDir> keyring_dir;
  std::unique_ptr<common::crypto::FileKeyring> keyring;
  std::unique_ptr<registry::PatientIdentityStore> identities;
  std::unique_ptr<registry::RegistryServiceImpl> registry;
  // The slice's twin keeper is not started (no consumer thread): twin_integration_test covers
  // the consumer; here GetTwin and friends answer from the database.
  std::unique_ptr<common::PgPool> twin_pool;
  std::unique_ptr<twin::TwinKeeper> twin_keeper;
  std::unique_ptr<twin::TwinServiceImpl> twin;
  // The simulation service's what-if (for clinician_api's relay), on the data host too, with
  // its own role and no cohort runner.
  std::unique_ptr<common::PgPool> simulation_pool;
  std::unique_ptr<common::Executor> simulation_compute;
  std::unique_ptr<simulation::JobStore> simulation_jobs;
  std::unique_ptr<simulation::SimulationServiceImpl> simulation;
  std::unique_ptr<common::ServiceHost> data_host;

  // alerts host
  std::unique_ptr<common::PgPool> alerts_pool;
  std::unique_ptr<common::Executor> alerts_executor;
  std::unique_ptr<alerts::AlertHub> hub;
  std::unique_ptr<alerts::rules::RuleEngine> alert_rules;  // before the evaluator: it outlives it
  std::unique_ptr<alerts::lifecycle::PgLifecycleStore> lifecycle;
  std::unique_ptr<alerts::Evaluator> evaluator;
  std::unique_ptr<alerts::AlertServiceImpl> alert_service;
  std::unique_ptr<common::ServiceHost> alerts_host;

  // clinician host
  std::unique_ptr<common::PgPool> clinician_pool;
  std::unique_ptr<common::Executor> clinician_executor;
  std::unique_ptr<common::Access> access;
  std::unique_ptr<clinician::BreakGlass> break_glass;
  std::unique_ptr<clinician::Research> research;  // over the data host's keyring (its pseudonym.key)
  std::unique_ptr<clinician::ClinicianServiceImpl> clinician_service;
  std::unique_ptr<common::ServiceHost> clinician_host;

  ~Parts() {
    // Callers first: clinician_api relays to alerts and ingest, so it drains before them.
    clinician_host.reset();
    if (alerts_host) alerts_host->Shutdown();
    if (simulation) simulation->Shutdown();
    if (data_host) data_host->Shutdown();
    // Threads that read the database stop before the pools and executors go away.
    evaluator.reset();
    hub.reset();
  }
};

absl::StatusOr<std::unique_ptr<Slice>> Slice::Start(std::string_view db_name) {
  return Start(db_name, clinician::TokenGate());
}

absl::StatusOr<std::unique_ptr<Slice>> Slice::Start(std::string_view db_name, const clinician::TokenGate& tokens) {
  PgCluster* cluster = SliceEnvironment::cluster();
  if (cluster == nullptr) return absl::FailedPreconditionError("the shared PostgreSQL cluster is not running");
  auto migrated = CreateMigratedDatabase(*cluster, db_name);
  if (!migrated.ok()) return migrated.status();

  std::unique_ptr<Slice> slice(new Slice());
  slice->conninfo_ = *std::move(migrated);
  // Each service connects as its own role, as in production (docs/database-roles.md); the
  // superuser conninfo_ is for the tests' fixtures and assertions only.
  const std::string data_db = ServiceConnInfo(slice->conninfo_, "ingest");
  const std::string twin_db = ServiceConnInfo(slice->conninfo_, "twin");
  const std::string alerts_db = ServiceConnInfo(slice->conninfo_, "alerts");
  const std::string clinician_db = ServiceConnInfo(slice->conninfo_, "clinician_api");
  const std::string simulation_db = ServiceConnInfo(slice->conninfo_, "simulation");

  slice->parts_ = std::make_unique<Parts>();
  Parts& p = *slice->parts_;

  p.data_pool = std::make_unique<common::PgPool>(data_db, 8, ingest::PgSampleStore::PrepareConnection);
  p.data_executor = std::make_unique<common::Executor>(8);
  p.store = std::make_unique<ingest::PgSampleStore>(*p.data_pool);
  p.status_store = std::make_unique<ingest::PgDeviceStatusStore>(*p.data_pool);
  p.reader = std::make_unique<ingest::VitalsReader>(*p.data_pool);
  p.ingest =
      std::make_unique<ingest::IngestServiceImpl>(*p.store, *p.status_store, *p.data_executor, common::NowUnixMicros);
  // The services' own default allow-lists, exactly as their mains build them.
  auto policy = [](const common::CallerPolicy::Rules& rules) { return common::PolicyOrExit("slice", rules, {}); };
  p.query = std::make_unique<ingest::QueryServiceImpl>(*p.reader, *p.data_executor, *p.data_pool,
                                                       policy(ingest::QueryServiceImpl::DefaultPolicy()));
  p.keyring_dir = std::make_unique<common::crypto::testing::TestKeyringDir>();
  auto keyring = common::crypto::FileKeyring::Create(p.keyring_dir->dir());
  if (!keyring.ok()) return keyring.status();
  p.keyring = std::move(*keyring);
  p.identities = std::make_unique<registry::PatientIdentityStore>(*p.data_pool, *p.keyring);
  p.registry = std::make_unique<registry::RegistryServiceImpl>(
      *p.data_pool, *p.data_executor, policy(registry::RegistryServiceImpl::DefaultPolicy()), p.identities.get());
  // The twin service shares the data host but, like the healthtwin-twin process, not its role.
  p.twin_pool = std::make_unique<common::PgPool>(twin_db, 4);
  p.twin_keeper = std::make_unique<twin::TwinKeeper>(*p.twin_pool, twin_db, std::make_shared<twin::ModelCache>(),
                                                     twin::KeeperOptions{});
  p.twin = std::make_unique<twin::TwinServiceImpl>(*p.twin_pool, *p.data_executor, *p.twin_keeper,
                                                   policy(twin::TwinServiceImpl::DefaultPolicy()));
  p.simulation_pool = std::make_unique<common::PgPool>(simulation_db, 4);
  p.simulation_compute = std::make_unique<common::Executor>(1, simulation::kWhatIfQueuePerThread);
  p.simulation_jobs = std::make_unique<simulation::JobStore>(*p.simulation_pool);
  p.simulation = std::make_unique<simulation::SimulationServiceImpl>(
      *p.simulation_pool, *p.simulation_jobs, /*runner=*/nullptr, simulation::MakeTreatmentEngines(1), *p.data_executor,
      *p.simulation_compute);
  auto data_host =
      common::ServiceHost::Start(HostConfig("ingest", "ingest", data_db),
                                 {p.ingest.get(), p.query.get(), p.registry.get(), p.twin.get(), p.simulation.get()});
  if (!data_host.ok()) return data_host.status();
  p.data_host = std::move(*data_host);
  p.data_host->SetServing(true);

  p.alerts_pool = std::make_unique<common::PgPool>(alerts_db, 8);
  p.alerts_executor = std::make_unique<common::Executor>(4);
  p.hub = std::make_unique<alerts::AlertHub>(*p.alerts_pool, alerts_db);
  {
    // The shipped catalogue with hr_high over 60 s, cleared after 30 s (rules::ShortHrHighToml),
    // so a slice test's episode takes a minute of data instead of ten; healthtwin-alerts loads
    // the shipped file (--alert-rules). It also checks per-patient settings.
    auto toml = alerts::rules::ShortHrHighToml(TestPath("HT_ALERT_RULES_TOML"), 60, 30);
    if (!toml.ok()) return toml.status();
    auto engine = alerts::rules::RuleEngine::FromToml(*toml, "test_alert_rules.toml");
    if (!engine.ok()) return engine.status();
    p.alert_rules = std::make_unique<alerts::rules::RuleEngine>(*std::move(engine));
  }
  p.lifecycle = std::make_unique<alerts::lifecycle::PgLifecycleStore>(
      *p.alerts_pool, alerts::LifecycleConfigFor(*p.alert_rules), alerts::SystemClock());
  p.evaluator = std::make_unique<alerts::Evaluator>(*p.alerts_pool, alerts_db, *p.alert_rules,
                                                    alerts::LifecycleConfigFor(*p.alert_rules));
  p.alert_service = std::make_unique<alerts::AlertServiceImpl>(*p.alerts_pool, *p.alerts_executor, *p.hub,
                                                               policy(alerts::AlertServiceImpl::DefaultPolicy()),
                                                               *p.lifecycle, p.alert_rules.get());
  auto alerts_host = common::ServiceHost::Start(HostConfig("alerts", "alerts", alerts_db), {p.alert_service.get()});
  if (!alerts_host.ok()) return alerts_host.status();
  p.alerts_host = std::move(*alerts_host);
  alerts::AlertHub* hub = p.hub.get();
  p.alerts_host->OnDrain(
      [hub] { hub->FinishAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "alerts service shutting down")); });
  p.hub->Start();
  p.evaluator->Start();
  p.alerts_host->SetServing(true);

  const common::TlsFiles clinician_tls = SliceEnvironment::Tls("clinician_api");
  // The data host serves twin too, under the ingest certificate.
  auto to_data = common::MakePeerChannel(slice->data_address(), clinician_tls, "ingest");
  if (!to_data.ok()) return to_data.status();
  auto to_alerts = common::MakePeerChannel(slice->alerts_address(), clinician_tls, "alerts");
  if (!to_alerts.ok()) return to_alerts.status();
  clinician::Upstreams up;
  up.vitals = vitals::v1::VitalsQueryService::NewStub(*to_data);
  up.alerts = alerts::v1::AlertService::NewStub(*to_alerts);
  up.twin = clinician::TwinRouter(twin::v1::TwinService::NewStub(*to_data));
  up.registry = registry::v1::RegistryService::NewStub(*to_data);
  up.simulation = simulation::v1::SimulationService::NewStub(*to_data);
  p.clinician_pool = std::make_unique<common::PgPool>(clinician_db, 8);
  p.clinician_executor = std::make_unique<common::Executor>(8);
  p.access = std::make_unique<common::Access>(*p.clinician_pool);
  p.clinician_service = std::make_unique<clinician::ClinicianServiceImpl>(
      *p.access, std::move(up), *p.clinician_executor, policy(clinician::ClinicianServiceImpl::DefaultPolicy()));
  p.clinician_service->SetTokenGate(tokens);
  // Break-glass with the production defaults (60 min, at most 120), as main.cc wires it.
  p.break_glass = std::make_unique<clinician::BreakGlass>(*p.clinician_pool, *p.access, clinician::BreakGlassLimits{});
  p.clinician_service->EnableBreakGlass(*p.break_glass);
  p.research = std::make_unique<clinician::Research>(*p.clinician_pool, *p.keyring);
  p.clinician_service->EnableResearch(*p.research);
  auto clinician_host = common::ServiceHost::Start(HostConfig("clinician_api", "clinician_api", clinician_db),
                                                   {p.clinician_service.get()});
  if (!clinician_host.ok()) return clinician_host.status();
  p.clinician_host = std::move(*clinician_host);
  p.clinician_host->SetServing(true);
  return slice;
}

Slice::~Slice() = default;

std::string Slice::data_address() const { return "127.0.0.1:" + std::to_string(parts_->data_host->port()); }
std::string Slice::alerts_address() const { return "127.0.0.1:" + std::to_string(parts_->alerts_host->port()); }
std::string Slice::clinician_address() const { return "127.0.0.1:" + std::to_string(parts_->clinician_host->port()); }

std::shared_ptr<grpc::Channel> Slice::Channel(const std::string& address, std::string_view identity,
                                              std::string_view expected_peer) {
  auto channel = common::MakePeerChannel(address, SliceEnvironment::Tls(identity), std::string(expected_peer));
  // The PKI is made by the environment; a failure here is a broken test setup.
  if (!channel.ok()) {
    ADD_FAILURE() << "channel to " << address << " as " << identity << ": " << channel.status();
    return nullptr;
  }
  return *channel;
}

std::string TestDatabaseName(std::string_view prefix) {
  static std::atomic<int> counter{0};
  std::string name = std::string(prefix) + "_" + std::to_string(++counter) + "_";
  for (char c : std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    name += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name.substr(0, 63);
}

int64_t QueryInt(const std::string& conninfo, const std::string& sql) { return QueryScalar<int64_t>(conninfo, sql); }
double QueryDouble(const std::string& conninfo, const std::string& sql) { return QueryScalar<double>(conninfo, sql); }
std::string QueryText(const std::string& conninfo, const std::string& sql) {
  return QueryScalar<std::string>(conninfo, sql);
}

}  // namespace healthtwin::testing
