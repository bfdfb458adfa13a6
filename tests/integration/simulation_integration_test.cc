// SimulationService end to end in one process: real PostgreSQL, real gRPC over mutual TLS on
// port 0 with the development PKI, the production engines (models/treatment) and JobRunner.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <thread>

#include "healthtwin/simulation/v1/simulation.grpc.pb.h"
#include "services/common/executor.h"
#include "services/common/grpc_util.h"
#include "services/common/pg.h"
#include "services/common/service_host.h"
#include "services/simulation/engines.h"
#include "services/simulation/job_runner.h"
#include "services/simulation/job_store.h"
#include "services/simulation/simulation_service.h"
#include "tests/harness/ingest_process.h"
#include "tests/integration/test_env.h"
#include "tests/integration/whatif_request.h"

namespace healthtwin::testing {
namespace {

namespace v1 = healthtwin::simulation::v1;
using namespace std::chrono_literals;

// A small cohort: one archetype (all male, no spread in BP), so it runs in seconds. Without the
// trial layer (office noise, placebo response, dropout): these tests check the simulated effect.
std::string SmallCohortSpec(int patients, int days, const std::string& arms_json) {
  return R"({"seed": 7, "patients": )" + std::to_string(patients) + R"(, "days": )" + std::to_string(days) +
         R"(, "trial": false, "population": {"sbp_mmhg": {"mean": 154, "sd": 0}, "dbp_mmhg": {"mean": 96, "sd": 0},
              "heart_rate_bpm": {"mean": 74, "sd": 6}, "age_years": {"mean": 60, "sd": 8},
              "weight_kg": {"mean": 82, "sd": 10}, "female_fraction": 0},
            "arms": )" +
         arms_json + "}";
}

const char* kTwoArms = R"([{"name": "placebo", "treatments": []},
                           {"name": "amlodipine 5", "treatments": [{"drug": "amlodipine", "dose_mg": 5, "interval_h": 24}]}])";

class SimulationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgCluster* cluster = SliceEnvironment::cluster();
    ASSERT_NE(cluster, nullptr);
    const std::string db = "sim_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto conninfo = CreateMigratedDatabase(*cluster, db.substr(0, 60));
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
    pool_ = std::make_unique<common::PgPool>(ServiceConnInfo(conninfo_, "simulation"), 4);
    executor_ = std::make_unique<common::Executor>(4);
    compute_ = std::make_unique<common::Executor>(1);
    store_ = std::make_unique<simulation::JobStore>(*pool_);
    runner_ = std::make_unique<simulation::JobRunner>(
        *store_, simulation::MakeTreatmentCohortEngine(2),
        simulation::JobRunnerOptions{.worker = "test-worker", .lease_s = 5.0, .poll_interval = 200ms,
                                     .progress_interval = 100ms});
    service_ = std::make_unique<simulation::SimulationServiceImpl>(
        *pool_, *store_, runner_.get(), simulation::MakeTreatmentEngines(2), *executor_, *compute_);
    common::ServiceConfig cfg;
    cfg.service_name = "simulation";
    cfg.tls = SliceEnvironment::Tls("simulation");
    cfg.db_conninfo = ServiceConnInfo(conninfo_, "simulation");
    cfg.drain_timeout_s = 2;
    auto host = common::ServiceHost::Start(cfg, {service_.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    host_->SetServing(true);
    runner_->Start();
  }

  void TearDown() override {
    if (service_) service_->Shutdown();
    if (runner_) runner_->Stop();
    if (host_) host_->Shutdown();
  }

  std::unique_ptr<v1::SimulationService::Stub> Stub(std::string_view identity) {
    return v1::SimulationService::NewStub(
        Slice::Channel("localhost:" + std::to_string(host_->port()), identity, "simulation"));
  }

  static std::unique_ptr<grpc::ClientContext> Ctx(std::chrono::seconds deadline = 5s) {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + deadline);
    return ctx;
  }

  // Follows WatchCohort until the stream ends; returns the last job state seen.
  v1::CohortJob WatchToEnd(v1::SimulationService::Stub& stub, const std::string& job_id, std::vector<double>* fractions,
                           grpc::Status* status) {
    auto ctx = Ctx(240s);
    v1::JobRequest req;
    req.set_job_id(job_id);
    auto reader = stub.WatchCohort(ctx.get(), req);
    v1::CohortJob job, last;
    while (reader->Read(&job)) {
      if (fractions) fractions->push_back(job.progress().fraction_done());
      last = job;
    }
    *status = reader->Finish();
    return last;
  }

  std::string conninfo_;  // superuser, for fixtures and assertions
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<common::Executor> executor_;
  std::unique_ptr<common::Executor> compute_;
  std::unique_ptr<simulation::JobStore> store_;
  std::unique_ptr<simulation::JobRunner> runner_;
  std::unique_ptr<simulation::SimulationServiceImpl> service_;
  std::unique_ptr<common::ServiceHost> host_;
};

TEST_F(SimulationTest, CohortJobRunsToResultsThatArePersistedWithItsRequester) {
  auto rita = Stub("researcher-rita");
  v1::SubmitCohortRequest submit;
  submit.set_spec_json(SmallCohortSpec(12, 10, kTwoArms));
  v1::CohortJob job;
  ASSERT_TRUE(rita->SubmitCohort(Ctx().get(), submit, &job).ok());
  EXPECT_EQ(job.requested_by(), "researcher-rita");
  EXPECT_EQ(job.state(), v1::JOB_STATE_QUEUED);

  std::vector<double> fractions;
  grpc::Status watch_status;
  v1::CohortJob last = WatchToEnd(*rita, job.job_id(), &fractions, &watch_status);
  ASSERT_TRUE(watch_status.ok()) << watch_status.error_message();
  ASSERT_EQ(last.state(), v1::JOB_STATE_SUCCEEDED) << last.error();
  EXPECT_TRUE(std::is_sorted(fractions.begin(), fractions.end()));
  EXPECT_DOUBLE_EQ(last.progress().fraction_done(), 1.0);

  v1::JobRequest req;
  req.set_job_id(job.job_id());
  req.set_per_patient_limit(5);
  v1::CohortResults results;
  ASSERT_TRUE(rita->GetCohortResults(Ctx().get(), req, &results).ok());
  ASSERT_EQ(results.arms_size(), 2);
  EXPECT_EQ(results.arms(0).arm(), "placebo");
  EXPECT_EQ(results.arms(0).patients(), 12u);
  EXPECT_NEAR(results.arms(0).systolic_mmhg().mean_change(), 0.0, 1.0);
  // Amlodipine 5 mg lowers trough SBP (Law 2003: ~9 mmHg at standard dose); the CI excludes 0.
  EXPECT_LT(results.arms(1).systolic_mmhg().mean_change(), -4.0);
  EXPECT_LT(results.arms(1).systolic_mmhg().change_ci95_high(), 0.0);
  EXPECT_EQ(results.days(), 10u);
  EXPECT_EQ(results.seed(), 7u);
  EXPECT_EQ(results.per_patient_total(), 24u);
  EXPECT_EQ(std::count(results.per_patient_csv().begin(), results.per_patient_csv().end(), '\n'), 1 + 5);

  // The second page continues where the first stopped.
  req.set_per_patient_offset(20);
  v1::CohortResults page;
  ASSERT_TRUE(rita->GetCohortResults(Ctx().get(), req, &page).ok());
  EXPECT_EQ(std::count(page.per_patient_csv().begin(), page.per_patient_csv().end(), '\n'), 1 + 4);

  EXPECT_EQ(QueryText(conninfo_, "SELECT requested_by || '/' || requested_role FROM simulation_jobs"),
            "researcher-rita/researcher");
  EXPECT_EQ(QueryInt(conninfo_, "SELECT (spec->>'patients')::int FROM simulation_jobs"), 12);
  EXPECT_GT(QueryInt(conninfo_, "SELECT length(per_patient_csv) FROM simulation_jobs"), 100);
}

TEST_F(SimulationTest, BadSpecsAreRejectedNamingTheField) {
  auto rita = Stub("researcher-rita");
  auto submit = [&](const std::string& spec, v1::CohortJob* job = nullptr) {
    v1::SubmitCohortRequest r;
    r.set_spec_json(spec);
    v1::CohortJob ignored;
    return rita->SubmitCohort(Ctx().get(), r, job ? job : &ignored);
  };
  grpc::Status s = submit("{not json");
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  s = submit(SmallCohortSpec(5, 7, R"([{"name": "x", "treatments": [{"drug": "aspirin", "dose_mg": 75}]}])"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("arms[0].treatments[0].drug"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("amlodipine"), std::string::npos) << "known drugs are listed: " << s.error_message();

  const std::string high = R"([{"name": "x", "treatments": [{"drug": "amlodipine", "dose_mg": 40}]}])";
  s = submit(SmallCohortSpec(5, 7, high));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("arms[0].treatments[0].dose_mg"), std::string::npos) << s.error_message();
  EXPECT_NE(s.error_message().find("off_label"), std::string::npos) << s.error_message();

  const std::string off_label =
      R"([{"name": "x", "treatments": [{"drug": "amlodipine", "dose_mg": 40, "off_label": true}]}])";
  EXPECT_TRUE(submit(SmallCohortSpec(5, 7, off_label)).ok());
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs"), 1) << "only the accepted spec is stored";
}

TEST_F(SimulationTest, RolesAndOwnershipAreEnforced) {
  v1::SubmitCohortRequest submit;
  submit.set_spec_json(SmallCohortSpec(3, 3, kTwoArms));
  v1::CohortJob job;
  EXPECT_EQ(Stub("dr-alice")->SubmitCohort(Ctx().get(), submit, &job).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Stub("bridge-001")->SubmitCohort(Ctx().get(), submit, &job).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  ASSERT_TRUE(Stub("researcher-rita")->SubmitCohort(Ctx().get(), submit, &job).ok());

  v1::JobRequest req;
  req.set_job_id(job.job_id());
  v1::CohortJob other;
  EXPECT_EQ(Stub("researcher-sam")->CancelCohort(Ctx().get(), req, &other).error_code(),
            grpc::StatusCode::NOT_FOUND) << "another researcher's job is invisible";
  v1::CohortResults results;
  EXPECT_EQ(Stub("researcher-sam")->GetCohortResults(Ctx().get(), req, &results).error_code(),
            grpc::StatusCode::NOT_FOUND);
  req.set_job_id("not-a-uuid");
  EXPECT_EQ(Stub("cli-admin")->CancelCohort(Ctx().get(), req, &other).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// ListCohortJobs: a researcher lists her own jobs, an admin all; clinician_api relaying (the
// dashboard's researcher view) gets exactly the named person's jobs, whatever that person's role,
// and GetCohortResults likewise. Any other relay, or one naming no one, is refused.
TEST_F(SimulationTest, CohortJobsAreListedForTheirRequesterOrTheRelayedPersonOnly) {
  v1::SubmitCohortRequest submit;
  submit.set_spec_json(SmallCohortSpec(2, 2, kTwoArms));
  v1::CohortJob rita, sam;
  ASSERT_TRUE(Stub("researcher-rita")->SubmitCohort(Ctx().get(), submit, &rita).ok());
  ASSERT_TRUE(Stub("researcher-sam")->SubmitCohort(Ctx().get(), submit, &sam).ok());
  using Ids = std::set<std::string>;
  const auto list = [&](std::string_view identity, const std::string& on_behalf_of, grpc::Status* status,
                        uint32_t page_size = 0) {
    auto ctx = Ctx();
    if (!on_behalf_of.empty()) ctx->AddMetadata(common::kOnBehalfOfHeader, on_behalf_of);
    v1::ListCohortJobsRequest req;
    req.set_page_size(page_size);
    v1::ListCohortJobsResponse resp;
    *status = Stub(identity)->ListCohortJobs(ctx.get(), req, &resp);
    Ids out;
    for (const auto& j : resp.jobs()) out.insert(j.job_id());
    return out;
  };
  grpc::Status s;
  EXPECT_EQ(list("researcher-rita", "", &s), Ids{rita.job_id()});
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(list("researcher-rita", "researcher-sam", &s), Ids{rita.job_id()}) << "only a relay may name a person";
  EXPECT_EQ(list("cli-admin", "", &s), (Ids{rita.job_id(), sam.job_id()}));
  EXPECT_EQ(list("clinician_api", "researcher-sam", &s), Ids{sam.job_id()});
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(list("clinician_api", "cli-admin", &s), Ids{}) << "a relay sees the person's own jobs, never all";
  EXPECT_TRUE(s.ok()) << s.error_message();
  list("clinician_api", "", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  list("ingest", "researcher-rita", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << "only clinician_api relays";
  list("dr-alice", "", &s);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  list("researcher-rita", "", &s, 201);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);

  v1::JobRequest req;
  req.set_job_id(rita.job_id());
  v1::CohortResults results;
  auto ctx = Ctx();
  ctx->AddMetadata(common::kOnBehalfOfHeader, "researcher-sam");
  EXPECT_EQ(Stub("clinician_api")->GetCohortResults(ctx.get(), req, &results).error_code(), grpc::StatusCode::NOT_FOUND)
      << "relayed for sam, rita's job does not exist";
  ctx = Ctx();
  ctx->AddMetadata(common::kOnBehalfOfHeader, "researcher-rita");
  const grpc::Status own = Stub("clinician_api")->GetCohortResults(ctx.get(), req, &results);
  EXPECT_NE(own.error_code(), grpc::StatusCode::NOT_FOUND) << own.error_message();
  EXPECT_NE(own.error_code(), grpc::StatusCode::PERMISSION_DENIED) << own.error_message();
}

TEST_F(SimulationTest, CancellingARunningJobStopsIt) {
  auto rita = Stub("researcher-rita");
  v1::SubmitCohortRequest submit;
  submit.set_spec_json(SmallCohortSpec(20000, 120, kTwoArms));  // minutes of work if not stopped
  v1::CohortJob job;
  ASSERT_TRUE(rita->SubmitCohort(Ctx().get(), submit, &job).ok());
  const auto until = std::chrono::steady_clock::now() + 60s;
  v1::JobRequest req;
  req.set_job_id(job.job_id());
  while (std::chrono::steady_clock::now() < until &&
         QueryInt(conninfo_, "SELECT state FROM simulation_jobs") != static_cast<int>(v1::JOB_STATE_RUNNING)) {
    std::this_thread::sleep_for(50ms);
  }
  // Otherwise this would test cancelling a queued job.
  ASSERT_EQ(QueryInt(conninfo_, "SELECT state FROM simulation_jobs"), static_cast<int>(v1::JOB_STATE_RUNNING));
  v1::CohortJob cancelled;
  ASSERT_TRUE(rita->CancelCohort(Ctx().get(), req, &cancelled).ok());
  grpc::Status watch_status;
  v1::CohortJob last = WatchToEnd(*rita, job.job_id(), nullptr, &watch_status);
  EXPECT_EQ(last.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_LT(last.progress().fraction_done(), 1.0);
  v1::CohortResults results;
  EXPECT_EQ(rita->GetCohortResults(Ctx().get(), req, &results).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(SimulationTest, AJobWhoseWorkerDiedIsRunAgainAndOneThatKeepsDyingFails) {
  // As if a replica had been killed with -9 while running them: running, stale heartbeat.
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO simulation_jobs (state, requested_by, requested_role, spec, worker, heartbeat_at, attempts)"
        " VALUES (2, 'researcher-rita', 'researcher', $1::jsonb, 'dead-replica:1', now() - interval '1 hour', 1),"
        "        (2, 'researcher-rita', 'researcher', $1::jsonb, 'dead-replica:1', now() - interval '1 hour', 3)",
        SmallCohortSpec(4, 3, kTwoArms));
    tx.commit();
  }
  const auto until = std::chrono::steady_clock::now() + 120s;
  while (std::chrono::steady_clock::now() < until &&
         QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE state IN (3, 4)") < 2) {
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE state = 3 AND attempts = 2"), 1);
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE state = 4 AND error LIKE '%giving up%'"),
            1);
}

// Two replicas' runners, each with its own JobStore and pool (so their claims are separate
// sessions), drain one queue together: FOR UPDATE SKIP LOCKED must hand every job to exactly one
// of them. The engine is instrumented: it counts how often each job's spec was run, and by whom.
TEST_F(SimulationTest, TwoRunnersOnOneQueueRunEveryJobExactlyOnce) {
  runner_->Stop();  // only the two runners below claim
  constexpr int kJobs = 40;
  {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO simulation_jobs (state, requested_by, requested_role, spec)"
        " SELECT 1, 'researcher-rita', 'researcher', jsonb_build_object('tag', i) FROM generate_series(1, $1) AS i",
        kJobs);
    tx.commit();
  }
  std::mutex mu;
  std::map<std::string, int> runs_by_spec;
  std::map<std::string, int> runs_by_worker;
  auto engine_for = [&](std::string worker) -> simulation::CohortEngine {
    return [&, worker](const std::string& spec_json,
                       const simulation::ProgressFn& progress) -> absl::StatusOr<simulation::CohortOutcome> {
      {
        std::lock_guard lock(mu);
        ++runs_by_spec[spec_json];
        ++runs_by_worker[worker];
      }
      std::this_thread::sleep_for(5ms);  // long enough that both runners are claiming at once
      if (!progress(1.0, "done")) return absl::CancelledError("stopped");
      return simulation::CohortOutcome{.result_json = "{}", .per_patient_csv = "arm\n"};
    };
  };
  common::PgPool pool_a(ServiceConnInfo(conninfo_, "simulation"), 2);
  common::PgPool pool_b(ServiceConnInfo(conninfo_, "simulation"), 2);
  simulation::JobStore store_a(pool_a);
  simulation::JobStore store_b(pool_b);
  const auto options = [](std::string worker) {
    return simulation::JobRunnerOptions{
        .worker = std::move(worker), .lease_s = 30.0, .poll_interval = 20ms, .progress_interval = 0ms};
  };
  simulation::JobRunner runner_a(store_a, engine_for("replica-a:1"), options("replica-a:1"));
  simulation::JobRunner runner_b(store_b, engine_for("replica-b:1"), options("replica-b:1"));
  runner_a.Start();
  runner_b.Start();
  const auto until = std::chrono::steady_clock::now() + 60s;
  while (std::chrono::steady_clock::now() < until &&
         QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE state IN (1, 2)") > 0) {
    std::this_thread::sleep_for(50ms);
  }
  runner_a.Stop();
  runner_b.Stop();

  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE state = 3"), kJobs)
      << "every job succeeded; none is left queued or running";
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE attempts <> 1"), 0)
      << "no job was claimed twice";
  std::lock_guard lock(mu);
  EXPECT_EQ(runs_by_spec.size(), static_cast<size_t>(kJobs));
  for (const auto& [spec, runs] : runs_by_spec) EXPECT_EQ(runs, 1) << spec << " ran " << runs << " times";
  EXPECT_GT(runs_by_worker["replica-a:1"], 0) << "both runners got work";
  EXPECT_GT(runs_by_worker["replica-b:1"], 0) << "both runners got work";
  // Each row names the worker that finished it, and it is the one that ran it.
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE worker = 'replica-a:1'"),
            runs_by_worker["replica-a:1"]);
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE worker = 'replica-b:1'"),
            runs_by_worker["replica-b:1"]);
}

// A registered patient on dr-alice's care team with two weeks of home readings around 152/94.
void AddPatient(const std::string& conninfo, int heart_rate_bpm = 74) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec("INSERT INTO patients (patient_id, sex, birth_year, height_cm) VALUES ('p-sim', 2, 1962, 178)");
  tx.exec("INSERT INTO care_team (patient_id, member) VALUES ('p-sim', 'dr-alice')");
  for (int i = 0; i < 14; ++i) {
    const std::string at = "now() - interval '" + std::to_string(i) + " days'";
    tx.exec("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, bridge_id) VALUES"
            " ('p-sim', 'cuff', 2, " + std::to_string(150 + i % 5) + ", 'mm[Hg]', " + at + ", 'b'),"
            " ('p-sim', 'cuff', 3, " + std::to_string(92 + i % 5) + ", 'mm[Hg]', " + at + ", 'b'),"
            " ('p-sim', 'strap', 1, " + std::to_string(heart_rate_bpm) + ", '/min', " + at + ", 'b'),"
            " ('p-sim', 'scale', 7, 84, 'kg', " + at + ", 'b')");
  }
  tx.commit();
}

v1::WhatIfRequest TwoOptions() { return TwoOptionWhatIf("p-sim"); }

TEST_F(SimulationTest, WhatIfStreamsProgressThenARankedResultForTheCareTeam) {
  AddPatient(conninfo_);
  auto ctx = Ctx(180s);
  auto reader = Stub("dr-alice")->RunWhatIf(ctx.get(), TwoOptions());
  v1::WhatIfEvent ev;
  int progress_events = 0;
  std::optional<v1::WhatIfResult> result;
  while (reader->Read(&ev)) {
    if (ev.has_progress()) ++progress_events;
    if (ev.has_result()) result = ev.result();
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GE(progress_events, 1);
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->options_size(), 2);
  EXPECT_EQ(result->options(0).rank(), 1u);
  EXPECT_EQ(result->twin_version(), 0u) << "no calibrated twin yet";
  EXPECT_EQ(result->ensemble_source().rfind("prior:", 0), 0u) << result->ensemble_source();
  for (const std::string& a : result->assumptions()) EXPECT_EQ(a.find("weight"), std::string::npos) << a;
  auto end_trough_sbp = [](const v1::OptionResult& o) {
    for (const auto& t : o.trajectories()) {
      if (t.quantity() == "trough_systolic_mmhg") return t.days(t.days_size() - 1).mean();
    }
    return -1.0;
  };
  const v1::OptionResult& first = result->options(0);
  const v1::OptionResult& second = result->options(1);
  const v1::OptionResult& amlo = first.name() == "amlodipine 10" ? first : second;
  const v1::OptionResult& none = first.name() == "amlodipine 10" ? second : first;
  EXPECT_NEAR(end_trough_sbp(none), 152, 6) << "the twin starts at the patient's measured BP";
  EXPECT_LT(end_trough_sbp(amlo), end_trough_sbp(none) - 4);

  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM audit_log WHERE actor = 'dr-alice' AND action = "
                                "'simulation.whatif' AND patient_id = 'p-sim' AND outcome = 'allowed'"),
            1);
  EXPECT_EQ(QueryText(conninfo_, "SELECT requested_by FROM simulation_whatif_runs WHERE result IS NOT NULL"),
            "dr-alice");
}

// With a calibrated twin, the ensemble comes from its posterior: a twin that believes this
// patient's baroreflex set point is 15 mmHg above the archetype's (the parameter that carries
// the resting pressure level; models/README.md, "Identifiability") starts higher.
TEST_F(SimulationTest, WhatIfDrawsFromTheTwinsPosteriorWhenOneExists) {
  AddPatient(conninfo_);
  auto run = [&](double set_point_offset, uint64_t version) {
    {
      pqxx::connection c(conninfo_);
      pqxx::work tx(c);
      const std::string params =
          R"([{"name": "log_resistance", "value": 0, "std_dev": 0.03},
              {"name": "log_blood_volume", "value": 0, "std_dev": 0.03},
              {"name": "set_point_offset_mmhg", "value": )" + std::to_string(set_point_offset) +
          R"(, "std_dev": 2},
              {"name": "log_heart_rate", "value": 0, "std_dev": 0.03},
              {"name": "log_contractility", "value": 0, "std_dev": 0.05}])";
      tx.exec_params(
          "INSERT INTO twin_snapshots (patient_id, version, model_version, reason, parameters, covariance, calibrated)"
          " VALUES ('p-sim', $1, 'test', 2, $2::jsonb,"
          " '{0.0009,0,0,0,0, 0,0.0009,0,0,0, 0,0,4,0,0, 0,0,0,0.0009,0, 0,0,0,0,0.0025}', true)",
          static_cast<int64_t>(version), params);
      tx.commit();
    }
    v1::WhatIfRequest req = TwoOptions();
    req.mutable_options()->DeleteSubrange(1, 1);
    auto ctx = Ctx(180s);
    auto reader = Stub("dr-alice")->RunWhatIf(ctx.get(), req);
    v1::WhatIfEvent ev;
    v1::WhatIfResult result;
    while (reader->Read(&ev)) {
      if (ev.has_result()) result = ev.result();
    }
    grpc::Status s = reader->Finish();
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(result.twin_version(), version);
    EXPECT_EQ(result.ensemble_source().rfind("calibration:", 0), 0u) << result.ensemble_source();
    for (const auto& t : result.options(0).trajectories()) {
      if (t.quantity() == "trough_systolic_mmhg") return t.days(0).mean();
    }
    return -1.0;
  };
  const double at_archetype = run(0.0, 1);
  const double raised = run(15.0, 2);
  EXPECT_GT(raised, at_archetype + 8) << "a higher set point in the posterior means a higher baseline SBP";
}

// A median HR of 132 /min is a tachycardia, not a resting rate: the pressures are fitted, the
// heart rate is not, and the result says so instead of failing.
TEST_F(SimulationTest, WhatIfOnATachycardicPatientFitsThePressuresAndSaysSo) {
  AddPatient(conninfo_, 132);
  v1::WhatIfRequest req = TwoOptions();
  req.mutable_options()->DeleteSubrange(1, 1);
  auto ctx = Ctx(180s);
  auto reader = Stub("dr-alice")->RunWhatIf(ctx.get(), req);
  v1::WhatIfEvent ev;
  v1::WhatIfResult result;
  while (reader->Read(&ev)) {
    if (ev.has_result()) result = ev.result();
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  bool said = false;
  for (const std::string& a : result.assumptions()) said = said || a.find("outside the resting range") != std::string::npos;
  EXPECT_TRUE(said) << "the assumption is reported";
  ASSERT_GE(result.options_size(), 1);
  const auto& trajectories = result.options(0).trajectories();
  auto trough = std::find_if(trajectories.begin(), trajectories.end(),
                             [](const v1::Trajectory& t) { return t.quantity() == "trough_systolic_mmhg"; });
  ASSERT_NE(trough, trajectories.end()) << "no trough_systolic_mmhg trajectory";
  ASSERT_GE(trough->days_size(), 1);
  EXPECT_NEAR(trough->days(0).mean(), 152, 6);
}

TEST_F(SimulationTest, WhatIfOnAPatientsTwinIsForClinicians) {
  // Admins and services once ran what-ifs on any patient, unchecked: a what-if reads the twin.
  // clinician_api relays only for a person it names (below), never on its own account.
  AddPatient(conninfo_);
  for (const char* identity : {"cli-admin", "clinician_api", "researcher-rita", "ingest"}) {
    auto ctx = Ctx();
    auto reader = Stub(identity)->RunWhatIf(ctx.get(), TwoOptions());
    v1::WhatIfEvent ev;
    while (reader->Read(&ev)) EXPECT_FALSE(ev.has_result()) << identity;
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED) << identity;
  }
  EXPECT_EQ(QueryInt(conninfo_,
                     "SELECT count(*) FROM audit_log WHERE action = 'simulation.whatif' AND outcome = "
                     "'denied' AND actor IN ('cli-admin', 'clinician_api', 'researcher-rita', 'ingest')"),
            4);
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_whatif_runs"), 0);
}

TEST_F(SimulationTest, WhatIfRelayedByClinicianApiRunsForTheNamedPersonOnly) {
  AddPatient(conninfo_);
  // Another service naming a person is still refused: only clinician_api relays.
  {
    auto ctx = Ctx();
    ctx->AddMetadata(common::kOnBehalfOfHeader, "dr-alice");
    auto reader = Stub("ingest")->RunWhatIf(ctx.get(), TwoOptions());
    v1::WhatIfEvent ev;
    while (reader->Read(&ev)) EXPECT_FALSE(ev.has_result());
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  auto ctx = Ctx(180s);
  ctx->AddMetadata(common::kOnBehalfOfHeader, "dr-alice");
  auto reader = Stub("clinician_api")->RunWhatIf(ctx.get(), TwoOptions());
  v1::WhatIfEvent ev;
  std::optional<v1::WhatIfResult> result;
  while (reader->Read(&ev)) {
    if (ev.has_result()) result = ev.result();
  }
  grpc::Status s = reader->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->options_size(), 2);
  EXPECT_EQ(QueryInt(conninfo_,
                     "SELECT count(*) FROM audit_log WHERE actor = 'clinician_api' AND on_behalf_of = "
                     "'dr-alice' AND action = 'simulation.whatif' AND outcome = 'allowed'"),
            1);
  EXPECT_EQ(QueryText(conninfo_, "SELECT requested_by || ' ' || requested_role FROM simulation_whatif_runs"),
            "dr-alice service:clinician_api");
}

TEST_F(SimulationTest, WhatIfIsDeniedOffTheCareTeamAndRejectsUnknownDrugs) {
  AddPatient(conninfo_);
  {
    auto ctx = Ctx();
    auto reader = Stub("dr-bob")->RunWhatIf(ctx.get(), TwoOptions());
    v1::WhatIfEvent ev;
    while (reader->Read(&ev)) {
    }
    EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM audit_log WHERE actor = 'dr-bob' AND outcome = 'denied'"), 1);
  {
    v1::WhatIfRequest req = TwoOptions();
    req.mutable_options(1)->mutable_drugs(0)->set_drug("atenololl");
    auto ctx = Ctx(60s);
    auto reader = Stub("dr-alice")->RunWhatIf(ctx.get(), req);
    v1::WhatIfEvent ev;
    while (reader->Read(&ev)) {
    }
    grpc::Status s = reader->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("options[1].drugs[0].drug"), std::string::npos) << s.error_message();
    EXPECT_NE(s.error_message().find("atenolol"), std::string::npos) << s.error_message();
  }
}

TEST_F(SimulationTest, ARequesterMayHaveAtMostTwoJobsQueuedOrRunning) {
  runner_->Stop();  // nothing runs, so the submitted jobs stay queued
  auto rita = Stub("researcher-rita");
  v1::SubmitCohortRequest submit;
  submit.set_spec_json(SmallCohortSpec(4, 7, kTwoArms));
  v1::CohortJob first, second, third;
  ASSERT_TRUE(rita->SubmitCohort(Ctx().get(), submit, &first).ok());
  ASSERT_TRUE(rita->SubmitCohort(Ctx().get(), submit, &second).ok());
  const grpc::Status refused = rita->SubmitCohort(Ctx().get(), submit, &third);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << refused.error_message();
  EXPECT_NE(refused.error_message().find("at most 2"), std::string::npos) << refused.error_message();
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_jobs WHERE requested_by = 'researcher-rita'"), 2);
  // Another requester is not affected, and a cancelled job frees a slot.
  EXPECT_TRUE(Stub("cli-admin")->SubmitCohort(Ctx().get(), submit, &third).ok());
  v1::JobRequest cancel;
  cancel.set_job_id(first.job_id());
  v1::CohortJob cancelled;
  ASSERT_TRUE(rita->CancelCohort(Ctx().get(), cancel, &cancelled).ok());
  EXPECT_TRUE(rita->SubmitCohort(Ctx().get(), submit, &third).ok());
}

TEST_F(SimulationTest, WhatIfLargerThanTheMemberDayLimitIsRejectedBeforeRunning) {
  AddPatient(conninfo_);
  v1::WhatIfRequest req = TwoOptions();
  req.set_days(365);
  req.set_ensemble_size(1000);
  for (int i = 0; i < 4; ++i) req.add_options()->set_name("extra " + std::to_string(i));  // 6 x 1000 x 365
  auto ctx = Ctx(60s);
  const auto t0 = std::chrono::steady_clock::now();
  auto reader = Stub("dr-alice")->RunWhatIf(ctx.get(), req);
  v1::WhatIfEvent ev;
  while (reader->Read(&ev)) {
  }
  const grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_NE(s.error_message().find("member-days"), std::string::npos) << s.error_message();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM simulation_whatif_runs"), 0);
}

}  // namespace
}  // namespace healthtwin::testing
