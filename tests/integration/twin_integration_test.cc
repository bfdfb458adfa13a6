// TwinService in one process: real PostgreSQL, real gRPC over mutual TLS on port 0, the real
// twin library. Vitals rows are inserted with SQL exactly as ingest stores them; the consumer
// (TwinKeeper) is driven round by round with RunOnce so every step is deterministic.
//
// Data: synthetic wearable data (models/calibration/synthetic.h) of a patient built from the
// same registry row the service reads, HR thinned to every 10 minutes, dated in the past.
// Each TEST builds one steady-state map (about 6 s in the Debug build).
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "models/calibration/synthetic.h"
#include "services/common/executor.h"
#include "services/common/grpc_util.h"
#include "services/common/pg.h"
#include "services/common/service_host.h"
#include "services/common/time_util.h"
#include "services/twin/twin_keeper.h"
#include "services/twin/twin_service.h"
#include "services/twin/vitals_mapping.h"
#include "tests/harness/ingest_process.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

namespace v1 = healthtwin::twin::v1;
namespace mc = healthtwin::models::calibration;
using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr std::int64_t kDayS = 86400;

// The registry row every test patient gets (one archetype, so one map per test).
twin::PatientRecord Record() {
  twin::PatientRecord r;
  r.sex = 2;
  r.age_years = 55;
  r.height_cm = 175.0;
  return r;
}

std::shared_ptr<twin::ModelCache> SharedCache() {
  static auto cache = std::make_shared<twin::ModelCache>();
  return cache;
}

std::int64_t NowS() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class TwinServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgCluster* cluster = SliceEnvironment::cluster();
    ASSERT_NE(cluster, nullptr);
    const std::string db = "twin_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    auto conninfo = CreateMigratedDatabase(*cluster, db.substr(0, 60));
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    conninfo_ = *conninfo;
    twin_db_ = ServiceConnInfo(conninfo_, "twin");
    pool_ = std::make_unique<common::PgPool>(twin_db_, 6);
    executor_ = std::make_unique<common::Executor>(4);
    auto setup = SharedCache()->Get(Record());
    ASSERT_TRUE(setup.ok()) << setup.status();
    setup_ = *setup;
    // Midnight UTC 20 days ago: every sample is in the past.
    start_s_ = (NowS() / kDayS - 20) * kDayS;
  }

  void TearDown() override {
    StopHost();
    keeper_.reset();
  }

  twin::KeeperOptions Options(int shard_index = 0, int shard_count = 1) {
    twin::KeeperOptions o;
    o.shard = *twin::ShardSpec::Create(shard_index, shard_count);
    o.persist_every = 3600s;  // sequential-only changes are not written within a test
    return o;
  }

  void StartKeeperAndHost(twin::KeeperOptions o) {
    keeper_ = std::make_unique<twin::TwinKeeper>(*pool_, twin_db_, SharedCache(), o);
    service_ = std::make_unique<twin::TwinServiceImpl>(
        *pool_, *executor_, *keeper_, common::PolicyOrExit("twin", twin::TwinServiceImpl::DefaultPolicy(), {}));
    common::ServiceConfig cfg;
    cfg.service_name = "twin";
    cfg.tls = SliceEnvironment::Tls("twin");
    cfg.db_conninfo = twin_db_;
    cfg.drain_timeout_s = 2;
    auto host = common::ServiceHost::Start(cfg, {service_.get()});
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = std::move(*host);
    host_->SetServing(true);
    stub_ =
        v1::TwinService::NewStub(Slice::Channel("localhost:" + std::to_string(host_->port()), "clinician_api", "twin"));
  }

  void StopHost() {
    if (service_) service_->Shutdown();
    if (host_) host_->Shutdown();
    host_.reset();
    service_.reset();
  }

  void Register(const std::string& patient_id) {
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec_params("INSERT INTO patients (patient_id, sex, birth_year, height_cm) VALUES ($1, 2, $2, 175)", patient_id,
                   static_cast<int>(1970 + (NowS() / (365.2425 * kDayS)) - 55));
    tx.commit();
  }

  // Synthetic data of one patient over `days` (drift from drift_start_day, kTwinParams order).
  std::vector<mc::Sample> Simulate(std::uint64_t seed, int days, int drift_start_day = -1, mc::ParamVector drift = {}) {
    mc::SyntheticOptions o;
    o.days = days;
    o.start_unix_s = start_s_;
    o.hr_every_minutes = 10;
    o.drift_start_day = drift_start_day;
    o.drift_per_day = drift;
    auto p = mc::SimulatePatient(setup_.nominal, *setup_.model, setup_.prior.population, seed, o);
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? p->samples : std::vector<mc::Sample>{};
  }

  // Inserts the samples with measured_at in [from_day, to_day) (days since start_s_, fractions
  // allowed) as ingest would store them.
  void Insert(const std::string& patient_id, const std::vector<mc::Sample>& samples, double from_day, double to_day) {
    std::vector<std::string> types, values, times, flags;
    for (const mc::Sample& s : samples) {
      const double day = static_cast<double>(s.measured_at_unix_s - start_s_) / kDayS;
      if (day < from_day || day >= to_day) continue;
      types.push_back(std::to_string(twin::TypeOfVital(s.vital)));
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.6f", s.value);
      values.push_back(buf);
      times.push_back(std::to_string(s.measured_at_unix_s));
      flags.push_back(s.flagged ? "2" : "0");
    }
    if (types.empty()) return;
    pqxx::connection c(conninfo_);
    pqxx::work tx(c);
    tx.exec_params(
        "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, flags, bridge_id)"
        " SELECT $1, $1 || '-dev', t, v, CASE t WHEN 1 THEN '/min' WHEN 2 THEN 'mm[Hg]' WHEN 3 THEN 'mm[Hg]'"
        "   WHEN 5 THEN '%' WHEN 6 THEN 'Cel' ELSE 'kg' END, to_timestamp(m), f, 'bridge-test'"
        " FROM unnest($2::int[], $3::float8[], $4::bigint[], $5::int[]) AS x(t, v, m, f)"
        " ON CONFLICT DO NOTHING",
        patient_id, "{" + absl::StrJoin(types, ",") + "}", "{" + absl::StrJoin(values, ",") + "}",
        "{" + absl::StrJoin(times, ",") + "}", "{" + absl::StrJoin(flags, ",") + "}");
    tx.exec("SELECT pg_notify('vitals_new', '')");
    tx.commit();
  }

  void Drain(twin::TwinKeeper& keeper) {
    for (int i = 0; i < 200; ++i) {
      auto moved = keeper.RunOnce();
      ASSERT_TRUE(moved.ok()) << moved.status();
      if (*moved == 0) return;
    }
    FAIL() << "the consumer did not go idle";
  }

  // The twin is calibrated in memory, by exactly one successful "history" calibration.
  void ExpectCalibratedOnceFromHistory(twin::TwinKeeper& keeper, const std::string& patient_id) {
    auto mem = keeper.InMemory(patient_id);
    ASSERT_TRUE(mem.has_value());
    EXPECT_TRUE(mem->calibrated);
    EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM twin_calibrations WHERE patient_id = '" + patient_id +
                                      "' AND trigger = 'history' AND ok"),
              1);
  }

  grpc::Status GetTwin(const std::string& patient_id, v1::TwinSnapshot* out,
                       std::optional<std::int64_t> as_of_us = std::nullopt) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    v1::GetTwinRequest req;
    req.set_patient_id(patient_id);
    if (as_of_us) *req.mutable_as_of() = common::FromUnixMicros(*as_of_us);
    return stub_->GetTwin(&ctx, req, out);
  }

  grpc::Status Recalibrate(const std::string& patient_id, v1::TwinSnapshot* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);  // a batch fit in a Debug build
    v1::RecalibrateRequest req;
    req.set_patient_id(patient_id);
    return stub_->Recalibrate(&ctx, req, out);
  }

  grpc::Status Predict(const v1::PredictRequest& req, v1::PredictResponse* out) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    return stub_->Predict(&ctx, req, out);
  }

  std::int64_t DbNowUs() {
    return QueryInt(conninfo_, "SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint");
  }

  std::string conninfo_;  // superuser, for fixtures and assertions
  std::string twin_db_;   // the twin service's role
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<common::Executor> executor_;
  twin::TwinSetup setup_;
  std::int64_t start_s_ = 0;
  std::unique_ptr<twin::TwinKeeper> keeper_;
  std::unique_ptr<twin::TwinServiceImpl> service_;
  std::unique_ptr<common::ServiceHost> host_;
  std::unique_ptr<v1::TwinService::Stub> stub_;
};

// Vitals rows -> twin created, calibrated and updated -> GetTwin (with intervals and the 5x5
// covariance), as_of history, Predict, Recalibrate (enough data / too little data).
TEST_F(TwinServiceTest, KeepsTwinsCurrentFromVitalsAndServesThem) {
  StartKeeperAndHost(Options());
  Register("pat-a");
  Register("pat-b");
  const std::vector<mc::Sample> a = Simulate(3, 10);

  // No data yet: no twin.
  v1::TwinSnapshot snap;
  EXPECT_EQ(GetTwin("pat-a", &snap).error_code(), grpc::StatusCode::NOT_FOUND);

  Insert("pat-a", a, 0, 3);
  Drain(*keeper_);
  ASSERT_TRUE(GetTwin("pat-a", &snap).ok());
  EXPECT_EQ(snap.parameters_size(), 5);
  EXPECT_EQ(snap.covariance_size(), 25);
  for (const auto& p : snap.parameters()) {
    SCOPED_TRACE(p.name());
    EXPECT_GT(p.std_dev(), 0.0);
    EXPECT_LT(p.lower_90(), p.value());
    EXPECT_GT(p.upper_90(), p.value());
  }
  EXPECT_EQ(snap.parameters(0).name(), "log_resistance");
  const std::uint64_t v_early = snap.version();
  const std::int64_t early_us = DbNowUs();
  std::this_thread::sleep_for(20ms);

  Insert("pat-a", a, 3, 10);
  Drain(*keeper_);
  ASSERT_TRUE(GetTwin("pat-a", &snap).ok());
  EXPECT_GT(snap.version(), v_early);
  EXPECT_TRUE(snap.calibrated());
  EXPECT_TRUE(snap.has_data_window_start());
  // One first calibration once the minimum data exist; a scheduled one needs 7 more days of data.
  EXPECT_EQ(QueryInt(conninfo_,
                     "SELECT count(*) FROM twin_calibrations WHERE patient_id = 'pat-a' AND ok"
                     " AND trigger = 'first'"),
            1);
  EXPECT_EQ(QueryInt(conninfo_,
                     "SELECT count(*) FROM twin_calibrations WHERE patient_id = 'pat-a' AND trigger = 'first'"
                     " AND id > (SELECT id FROM twin_calibrations WHERE patient_id = 'pat-a' AND ok"
                     "           AND trigger = 'first')"),
            0)
      << "no first-calibration attempt after a success";
  EXPECT_LE(QueryInt(conninfo_,
                     "SELECT count(*) FROM twin_calibrations WHERE patient_id = 'pat-a'"
                     " AND trigger = 'scheduled'"),
            1);
  // The what-if engine's view: 5 names and a 5x5 covariance in twin_snapshots.
  EXPECT_EQ(QueryInt(conninfo_,
                     "SELECT array_length(covariance, 1) FROM twin_snapshots WHERE patient_id = 'pat-a'"
                     " ORDER BY version DESC LIMIT 1"),
            25);
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM twin_snapshots WHERE state IS NULL"), 0);

  // What did the twin believe back then?
  v1::TwinSnapshot then;
  ASSERT_TRUE(GetTwin("pat-a", &then, early_us).ok());
  EXPECT_EQ(then.version(), v_early);
  EXPECT_EQ(GetTwin("pat-a", &then, early_us - 3600LL * 1'000'000).error_code(), grpc::StatusCode::NOT_FOUND);

  // Predict: intervals around the mean, filtered types, bad input named.
  v1::PredictRequest preq;
  preq.set_patient_id("pat-a");
  preq.set_horizon_h(24);
  preq.set_step_min(360);
  v1::PredictResponse pred;
  ASSERT_TRUE(Predict(preq, &pred).ok());
  EXPECT_EQ(pred.points_size(), 4 * 6);  // 6, 12, 18, 24 h after the newest sample, 6 vitals
  for (const auto& p : pred.points()) {
    EXPECT_LT(p.lower(), p.mean());
    EXPECT_GT(p.upper(), p.mean());
    EXPECT_LE(p.lower(), p.level_lower());
    EXPECT_FALSE(p.ucum_unit().empty());
  }
  preq.add_types(healthtwin::vitals::v1::VITAL_TYPE_HEART_RATE);
  preq.set_interval_level(0.5);
  v1::PredictResponse hr;
  ASSERT_TRUE(Predict(preq, &hr).ok());
  ASSERT_EQ(hr.points_size(), 4);
  EXPECT_LT(hr.points(0).upper() - hr.points(0).lower(), pred.points(0).upper() - pred.points(0).lower());
  preq.set_interval_level(1.5);
  v1::PredictResponse bad;
  grpc::Status st = Predict(preq, &bad);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("interval_level"));
  // SpO2 is a saturation: a 99 % interval of a reading around ~97 % is cut at 100, not above.
  v1::PredictRequest spo2_req;
  spo2_req.set_patient_id("pat-a");
  spo2_req.set_horizon_h(24);
  spo2_req.set_step_min(360);
  spo2_req.add_types(healthtwin::vitals::v1::VITAL_TYPE_SPO2);
  spo2_req.set_interval_level(0.99);
  v1::PredictResponse spo2;
  ASSERT_TRUE(Predict(spo2_req, &spo2).ok());
  ASSERT_EQ(spo2.points_size(), 4);
  for (const auto& p : spo2.points()) {
    EXPECT_LT(p.mean(), 100.0);
    EXPECT_DOUBLE_EQ(p.upper(), 100.0) << "mean " << p.mean() << ", lower " << p.lower();
    EXPECT_LE(p.level_upper(), 100.0);
    EXPECT_LT(p.lower(), p.mean());
  }
  preq.set_interval_level(0.9);
  preq.add_types(healthtwin::vitals::v1::VITAL_TYPE_GLUCOSE);
  st = Predict(preq, &bad);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), HasSubstr("types"));

  // Recalibrate with enough data: a new snapshot, reason MANUAL_RECALIBRATION.
  v1::TwinSnapshot recal;
  ASSERT_TRUE(Recalibrate("pat-a", &recal).ok());
  EXPECT_EQ(recal.version(), snap.version() + 1);
  EXPECT_EQ(recal.reason(), v1::UPDATE_REASON_MANUAL_RECALIBRATION);
  EXPECT_TRUE(recal.calibrated());
  EXPECT_EQ(recal.covariance_size(), 25);

  // Too little data: FAILED_PRECONDITION naming the minimum; the twin is unchanged.
  const std::vector<mc::Sample> b = Simulate(4, 1);
  Insert("pat-b", b, 0, 1);
  Drain(*keeper_);
  v1::TwinSnapshot b_before, b_after, b_recal;
  ASSERT_TRUE(GetTwin("pat-b", &b_before).ok());
  EXPECT_FALSE(b_before.calibrated());
  st = Recalibrate("pat-b", &b_recal);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("too little data"));
  ASSERT_TRUE(GetTwin("pat-b", &b_after).ok());
  EXPECT_EQ(b_after.version(), b_before.version());
  EXPECT_EQ(b_after.parameters(0).value(), b_before.parameters(0).value());
  EXPECT_THAT(b_after.last_calibration_error(), HasSubstr("too little data"));
  EXPECT_EQ(QueryInt(conninfo_,
                     "SELECT count(*) FROM twin_calibrations WHERE patient_id = 'pat-b' AND NOT ok"
                     " AND trigger = 'recalibrate'"),
            1);
  // An unknown patient.
  EXPECT_EQ(Recalibrate("nobody", &b_recal).error_code(), grpc::StatusCode::NOT_FOUND);

  // A window longer than 90 days is refused before any data is read; the twin is unchanged.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    v1::RecalibrateRequest req;
    req.set_patient_id("pat-a");
    const std::int64_t end_us = DbNowUs();
    *req.mutable_window_end() = common::FromUnixMicros(end_us);
    *req.mutable_window_start() = common::FromUnixMicros(end_us - std::int64_t{91} * 86'400'000'000);
    v1::TwinSnapshot wide;
    st = stub_->Recalibrate(&ctx, req, &wide);
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(), HasSubstr("at most 90 days"));
    v1::TwinSnapshot after;
    ASSERT_TRUE(GetTwin("pat-a", &after).ok());
    EXPECT_EQ(after.version(), recal.version());
  }
  // A watch naming more than 1,000 patients.
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    v1::WatchTwinsRequest req;
    for (int i = 0; i <= 1000; ++i) req.add_patient_ids("pat-w" + std::to_string(i));
    auto reader = stub_->WatchTwins(&ctx, req);
    v1::TwinSnapshot ignored;
    EXPECT_FALSE(reader->Read(&ignored));
    const grpc::Status ws = reader->Finish();
    EXPECT_EQ(ws.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << ws.error_message();
    EXPECT_THAT(ws.error_message(), HasSubstr("patient_ids"));
  }
}

// The drain stops the keeper within its deadline when the thread is idle, and a Start after
// that (PostgreSQL first reachable during the drain) starts nothing.
TEST_F(TwinServiceTest, AKeeperStoppedForTheDrainStaysStopped) {
  keeper_ = std::make_unique<twin::TwinKeeper>(*pool_, twin_db_, SharedCache(), Options());
  keeper_->Start();
  ASSERT_TRUE(keeper_->running());
  const auto before = std::chrono::steady_clock::now();
  EXPECT_TRUE(keeper_->StopBy(before + std::chrono::seconds(5)));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  EXPECT_FALSE(keeper_->running());
  keeper_->Start();
  EXPECT_FALSE(keeper_->running()) << "started again after the drain stopped it";
}

// kill -9 between snapshots: the cursor lags behind unpersisted twins, and the replay skips
// the rows each twin's snapshot already holds, so nothing is lost or absorbed twice.
TEST_F(TwinServiceTest, ResumesFromItsCursorAfterARestartWithoutDoubleAbsorbing) {
  Register("pat-r");
  const std::vector<mc::Sample> r = Simulate(5, 5);
  auto keeper1 = std::make_unique<twin::TwinKeeper>(*pool_, twin_db_, SharedCache(), Options());
  Insert("pat-r", r, 0, 3.5);
  Drain(*keeper1);
  Insert("pat-r", r, 3.5, 3.95);  // same data day: no calibration, absorbed in memory only
  Drain(*keeper1);
  auto mem1 = keeper1->InMemory("pat-r");
  ASSERT_TRUE(mem1.has_value());
  ASSERT_GT(mem1->samples_absorbed, 0u);
  const std::int64_t max_seq = QueryInt(conninfo_, "SELECT max(ingest_seq) FROM vitals");
  EXPECT_LT(QueryInt(conninfo_, "SELECT last_seq FROM consumer_cursors WHERE consumer = 'twin/0-of-1'"), max_seq)
      << "the cursor must not pass rows whose twin state is not persisted";
  const std::int64_t snapshots = QueryInt(conninfo_, "SELECT count(*) FROM twin_snapshots");
  keeper1.reset();  // a crash: no flush

  auto keeper2 = std::make_unique<twin::TwinKeeper>(*pool_, twin_db_, SharedCache(), Options());
  Drain(*keeper2);
  auto mem2 = keeper2->InMemory("pat-r");
  ASSERT_TRUE(mem2.has_value());
  EXPECT_EQ(mem2->samples_absorbed, mem1->samples_absorbed);
  EXPECT_EQ(mem2->state_time_unix_s, mem1->state_time_unix_s);
  EXPECT_EQ(mem2->mean, mem1->mean);
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM twin_snapshots"), snapshots);

  // A clean stop flushes; the next start has nothing to replay and writes nothing new.
  ASSERT_TRUE(keeper2->Flush().ok());
  EXPECT_EQ(QueryInt(conninfo_, "SELECT last_seq FROM consumer_cursors WHERE consumer = 'twin/0-of-1'"), max_seq);
  const std::int64_t absorbed =
      QueryInt(conninfo_,
               "SELECT samples_absorbed FROM twin_snapshots WHERE patient_id = 'pat-r' ORDER BY version DESC LIMIT 1");
  EXPECT_EQ(absorbed, static_cast<std::int64_t>(mem1->samples_absorbed));
  const std::int64_t after_flush = QueryInt(conninfo_, "SELECT count(*) FROM twin_snapshots");
  keeper2.reset();
  auto keeper3 = std::make_unique<twin::TwinKeeper>(*pool_, twin_db_, SharedCache(), Options());
  Drain(*keeper3);
  ASSERT_TRUE(keeper3->Flush().ok());
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM twin_snapshots"), after_flush);
  auto mem3 = keeper3->InMemory("pat-r");
  EXPECT_FALSE(mem3.has_value()) << "no rows after the cursor: the twin is not even loaded";
}

// A cuff's stored history (RACP) reaches ingest after the strap's live data: every history row
// is older than the twin's state, so the sequential filter skips it, and an uncalibrated twin
// calibrates from it at once (trigger "history") instead of at the next day boundary.
TEST_F(TwinServiceTest, CalibratesAtOnceFromHistoryThatArrivesAfterLiveData) {
  Register("pat-h");
  const std::vector<mc::Sample> h = Simulate(7, 10);
  auto keeper = std::make_unique<twin::TwinKeeper>(*pool_, twin_db_, SharedCache(), Options());
  Insert("pat-h", h, 9.5, 10);  // the live half day first
  Drain(*keeper);
  auto live = keeper->InMemory("pat-h");
  ASSERT_TRUE(live.has_value());
  EXPECT_FALSE(live->calibrated) << "half a day of data cannot calibrate";
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM twin_calibrations WHERE patient_id = 'pat-h'"), 0);

  Insert("pat-h", h, 0, 9.5);  // then the stored days, all late
  Drain(*keeper);
  ExpectCalibratedOnceFromHistory(*keeper, "pat-h");
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM twin_snapshots WHERE patient_id = 'pat-h' AND calibrated"), 1);
}

// The other order: the stored days come first and hold no heart rate (a cuff and a scale), so no
// day-boundary attempt can fit; the live strap's heart rate a few rounds later can, on the retry.
TEST_F(TwinServiceTest, CalibratesFromHistoryWithoutHeartRateOnceLiveHeartRateArrives) {
  Register("pat-k");
  auto now = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now());
  twin::KeeperOptions o = Options();
  o.clock = [now] { return *now; };
  auto keeper = std::make_unique<twin::TwinKeeper>(*pool_, twin_db_, SharedCache(), o);
  const std::vector<mc::Sample> k = Simulate(9, 10);
  std::vector<mc::Sample> stored, live;
  for (const mc::Sample& s : k) {
    if (s.vital != mc::Vital::kHeartRate) stored.push_back(s);
    live.push_back(s);
  }
  Insert("pat-k", stored, 0, 9.5);
  Drain(*keeper);
  auto before = keeper->InMemory("pat-k");
  ASSERT_TRUE(before.has_value());
  EXPECT_FALSE(before->calibrated) << "no heart rate yet";
  EXPECT_GT(QueryInt(conninfo_, "SELECT count(*) FROM twin_calibrations WHERE patient_id = 'pat-k' AND NOT ok"), 0);

  *now += 6s;  // past the retry interval
  Insert("pat-k", live, 9.5, 10);
  Drain(*keeper);
  ExpectCalibratedOnceFromHistory(*keeper, "pat-k");
}

// Heart-failure style drift (blood volume +3 %/day, HR drive +2.5 %/day from day 7): the
// detector raises events, they are stored in twin_events and streamed by WatchTwins.
TEST_F(TwinServiceTest, DriftRaisesTwinEventsThatAreStoredAndWatched) {
  StartKeeperAndHost(Options());
  Register("pat-d");
  const std::vector<mc::Sample> d =
      Simulate(15, 14, /*drift_start_day=*/7, mc::ParamVector{0.0, 0.03, 0.0, 0.025, 0.0});
  Insert("pat-d", d, 0, 3);
  Drain(*keeper_);

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  v1::WatchTwinsRequest wreq;
  wreq.add_patient_ids("pat-d");
  auto reader = stub_->WatchTwins(&ctx, wreq);
  v1::TwinSnapshot msg;
  ASSERT_TRUE(reader->Read(&msg)) << "the current snapshot comes first";
  EXPECT_EQ(msg.patient_id(), "pat-d");
  const std::uint64_t first_version = msg.version();

  Insert("pat-d", d, 3, 14);
  Drain(*keeper_);
  bool got_update = false, got_event = false;
  while (!got_event && reader->Read(&msg)) {
    got_update = got_update || msg.version() > first_version;
    for (const auto& e : msg.events()) {
      got_event = true;
      EXPECT_GT(e.event_id(), 0u);
      EXPECT_EQ(e.patient_id(), "pat-d");
      // DRIFT_EVENT, or BATCH_FIT when a scheduled calibration ran in the same round.
      EXPECT_THAT(msg.reason(), ::testing::AnyOf(v1::UPDATE_REASON_DRIFT_EVENT, v1::UPDATE_REASON_BATCH_FIT));
    }
  }
  EXPECT_TRUE(got_update);
  EXPECT_TRUE(got_event);
  EXPECT_GE(QueryInt(conninfo_,
                     "SELECT count(*) FROM twin_events WHERE patient_id = 'pat-d'"
                     " AND type IN ('weight_rising', 'weight_gain_with_rising_hr')"),
            1)
      << QueryText(conninfo_, "SELECT string_agg(type, ',') FROM twin_events");
  // Not before the drift started (day 7).
  EXPECT_EQ(QueryInt(conninfo_, "SELECT (min(detected_at) >= to_timestamp(" + std::to_string(start_s_ + 7 * kDayS) +
                                    "))::int FROM twin_events WHERE patient_id = 'pat-d' AND type LIKE 'weight%'"),
            1);
  ctx.TryCancel();
}

// Two replicas, two shards: each absorbs only its own patients under its own cursor; a
// live-state call for the other shard's patient names the owner; reads work anywhere.
TEST_F(TwinServiceTest, ShardsSplitPatientsAndRefuseForeignOnes) {
  twin::ShardSpec s0 = *twin::ShardSpec::Create(0, 2);
  std::string mine, theirs;
  for (int i = 0; mine.empty() || theirs.empty(); ++i) {
    const std::string id = "pat-s" + std::to_string(i);
    (s0.Owns(id) ? mine : theirs) = id;
  }
  Register(mine);
  Register(theirs);
  const std::vector<mc::Sample> x = Simulate(6, 2);
  Insert(mine, x, 0, 2);
  Insert(theirs, x, 0, 2);
  StartKeeperAndHost(Options(0, 2));
  twin::TwinKeeper other(*pool_, twin_db_, SharedCache(), Options(1, 2));
  Drain(*keeper_);
  Drain(other);
  EXPECT_TRUE(keeper_->InMemory(mine).has_value());
  EXPECT_FALSE(keeper_->InMemory(theirs).has_value());
  EXPECT_TRUE(other.InMemory(theirs).has_value());
  EXPECT_FALSE(other.InMemory(mine).has_value());
  EXPECT_EQ(QueryInt(conninfo_, "SELECT count(*) FROM consumer_cursors WHERE consumer LIKE 'twin/%-of-2'"), 2);

  v1::PredictRequest preq;
  preq.set_patient_id(theirs);
  v1::PredictResponse pred;
  grpc::Status st = Predict(preq, &pred);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("belongs to twin shard 1 of 2"));
  v1::TwinSnapshot snap;
  EXPECT_EQ(Recalibrate(theirs, &snap).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(GetTwin(theirs, &snap).ok()) << "reads come from the shared database";
  preq.set_patient_id(mine);
  EXPECT_TRUE(Predict(preq, &pred).ok());

  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  v1::WatchTwinsRequest wreq;
  wreq.add_patient_ids(theirs);
  auto reader = stub_->WatchTwins(&ctx, wreq);
  while (reader->Read(&snap)) {
  }
  st = reader->Finish();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(st.error_message(), HasSubstr("shard 1 of 2"));
}

}  // namespace
}  // namespace healthtwin::testing
