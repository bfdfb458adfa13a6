// The services slice end to end inside one process: a bridge streams vitals to ingest,
// the registry binds devices, alerts evaluates and fans out, and clinician_api enforces the
// care team and audits. Real PostgreSQL and real mutual TLS; see test_env.h.

#include <grpcpp/grpcpp.h>
#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "healthtwin/alerts/v1/alerts.grpc.pb.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/logging.h"
#include "services/common/pg.h"
#include "services/common/testing/reflection_probe.h"
#include "services/common/time_util.h"
#include "services/ingest/pg_sample_store.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

namespace vitals_v1 = healthtwin::vitals::v1;
namespace registry_v1 = healthtwin::registry::v1;
namespace alerts_v1 = healthtwin::alerts::v1;
namespace clinician_v1 = healthtwin::clinician::v1;
namespace twin_v1 = healthtwin::twin::v1;

constexpr int64_t kMicrosPerSecond = 1'000'000;
// Long enough for the evaluator and the alert hub (woken by NOTIFY, polling at 0.5-1 s).
constexpr auto kAlertWait = 20s;

void SetDeadline(grpc::ClientContext& ctx, std::chrono::seconds timeout = kRpcDeadline) {
  ctx.set_deadline(std::chrono::system_clock::now() + timeout);
}

// Whole seconds, `ago_s` in the past: readable timestamps and exact bucket boundaries.
int64_t SecondsAgoUs(int64_t ago_s) { return (common::NowUnixMicros() / kMicrosPerSecond - ago_s) * kMicrosPerSecond; }

vitals_v1::Sample HeartRate(uint64_t sender_seq, const std::string& device_id, double bpm, int64_t measured_at_us) {
  vitals_v1::Sample s;
  s.set_sender_seq(sender_seq);
  s.set_device_id(device_id);
  s.set_type(vitals_v1::VITAL_TYPE_HEART_RATE);
  s.set_value(bpm);
  s.set_ucum_unit("/min");
  *s.mutable_measured_at() = common::FromUnixMicros(measured_at_us);
  *s.mutable_received_at() = common::FromUnixMicros(measured_at_us + 200'000);
  return s;
}

// `count` readings of `bpm` at 1 Hz from `start_us`, with sender_seq first_seq, first_seq+1, ...
vitals_v1::SampleBatch HeartRateRun(const std::string& device_id, uint64_t first_seq, int count, int64_t start_us,
                                    double bpm) {
  vitals_v1::SampleBatch batch;
  for (int i = 0; i < count; ++i) {
    *batch.add_samples() = HeartRate(first_seq + i, device_id, bpm, start_us + i * kMicrosPerSecond);
  }
  return batch;
}

// Splits a batch into batches of at most `size` samples, as a bridge draining its outbox does.
std::vector<vitals_v1::SampleBatch> Chunk(const vitals_v1::SampleBatch& all, int size) {
  std::vector<vitals_v1::SampleBatch> out;
  for (int i = 0; i < all.samples_size(); ++i) {
    if (i % size == 0) out.emplace_back();
    *out.back().add_samples() = all.samples(i);
  }
  return out;
}

// Polls `done` every 50 ms until it holds or `timeout` passes; returns its last value.
bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

struct StreamOutcome {
  std::vector<vitals_v1::Ack> acks;
  grpc::Status status;
};

// One clinician's alert subscription, read on its own thread so the test can wait for an
// event with a timeout. Cancels the call and joins on destruction.
class AlertWatch {
 public:
  AlertWatch(clinician_v1::ClinicianService::Stub& stub, const alerts_v1::SubscribeRequest& req) {
    SetDeadline(ctx_, 120s);  // a backstop: the test cancels long before
    reader_ = stub.SubscribeAlerts(&ctx_, req);
    thread_ = std::thread([this] {
      alerts_v1::AlertEvent event;
      while (reader_->Read(&event)) {
        std::lock_guard lock(mu_);
        events_.push_back(event);
        cv_.notify_all();
      }
      std::lock_guard lock(mu_);
      ended_ = true;
      cv_.notify_all();
    });
  }
  ~AlertWatch() { Stop(); }

  // The first event received so far or within `timeout` that satisfies `match`.
  std::optional<alerts_v1::AlertEvent> WaitFor(const std::function<bool(const alerts_v1::AlertEvent&)>& match,
                                               std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    std::optional<alerts_v1::AlertEvent> found;
    cv_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (match(e)) {
          found = e;
          return true;
        }
      }
      return ended_;
    });
    return found;
  }

  // Ends the call now and returns its status (CANCELLED unless the server ended it first).
  grpc::Status Stop() {
    ctx_.TryCancel();
    if (thread_.joinable()) thread_.join();
    if (!finished_) {
      finished_ = true;
      status_ = reader_->Finish();
    }
    return status_;
  }

  std::vector<alerts_v1::AlertEvent> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientReader<alerts_v1::AlertEvent>> reader_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<alerts_v1::AlertEvent> events_;
  bool ended_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

class SliceTest : public ::testing::Test {
 protected:
  static constexpr char kPatient[] = "pat-0001";
  static constexpr char kDevice[] = "AA:BB:CC:00:00:01";  // a BLE address, as bridges send

  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(DatabaseName());
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
  }

  // A database of its own per test; names stay unique when one process runs every test.
  static std::string DatabaseName() { return TestDatabaseName("slice"); }

  const std::string& db() const { return slice_->conninfo(); }

  std::unique_ptr<registry_v1::RegistryService::Stub> Registry(std::string_view identity = "cli-admin") {
    return registry_v1::RegistryService::NewStub(Slice::Channel(slice_->data_address(), identity, "ingest"));
  }
  std::unique_ptr<clinician_v1::ClinicianService::Stub> Clinician(std::string_view identity) {
    return clinician_v1::ClinicianService::NewStub(
        Slice::Channel(slice_->clinician_address(), identity, "clinician_api"));
  }

  // Creates `patient`, binds `device` to it and puts `care_team` on its care team, as an admin.
  void Enroll(const std::string& patient, const std::string& device, const std::vector<std::string>& care_team) {
    auto registry = Registry();
    {
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      registry_v1::CreatePatientRequest req;
      req.mutable_patient()->set_patient_id(patient);
      req.mutable_patient()->set_sex(registry_v1::SEX_FEMALE);
      registry_v1::Patient resp;
      grpc::Status s = registry->CreatePatient(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << "CreatePatient " << patient << ": " << s.error_message();
    }
    {
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      registry_v1::BindDeviceRequest req;
      req.mutable_device()->set_device_id(device);
      req.mutable_device()->set_kind(registry_v1::DEVICE_KIND_HEART_RATE_STRAP);
      req.set_patient_id(patient);
      req.add_gateway_ids("bridge-001");
      registry_v1::Device resp;
      grpc::Status s = registry->BindDevice(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << "BindDevice " << device << ": " << s.error_message();
    }
    for (const auto& member : care_team) {
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      registry_v1::AddCareTeamMemberRequest req;
      req.set_patient_id(patient);
      req.set_member(member);
      registry_v1::AddCareTeamMemberResponse resp;
      grpc::Status s = registry->AddCareTeamMember(&ctx, req, &resp);
      ASSERT_TRUE(s.ok()) << "AddCareTeamMember " << member << ": " << s.error_message();
    }
  }

  // Opens one ingest stream as `identity`, sends each batch and reads its Ack before the next,
  // then half-closes. Stops early when the server ends the stream.
  StreamOutcome Stream(const std::vector<vitals_v1::SampleBatch>& batches, std::string_view identity = "bridge-001") {
    auto stub = vitals_v1::IngestService::NewStub(Slice::Channel(slice_->data_address(), identity, "ingest"));
    grpc::ClientContext ctx;
    SetDeadline(ctx, 15s);
    auto stream = stub->StreamSamples(&ctx);
    StreamOutcome out;
    for (const auto& batch : batches) {
      if (!stream->Write(batch)) break;
      vitals_v1::Ack ack;
      if (!stream->Read(&ack)) break;
      out.acks.push_back(std::move(ack));
    }
    stream->WritesDone();
    for (vitals_v1::Ack ack; stream->Read(&ack);) out.acks.push_back(ack);
    out.status = stream->Finish();
    return out;
  }

  // Waits until the alerts evaluator's cursor has passed every stored vitals row.
  bool WaitForEvaluator() {
    return PollUntil(
        [&] {
          const int64_t newest = QueryInt(db(), "SELECT coalesce(max(ingest_seq), 0) FROM vitals");
          const int64_t cursor = QueryInt(db(), "SELECT last_seq FROM consumer_cursors WHERE consumer = 'alerts'");
          return newest > 0 && cursor >= newest;
        },
        10s);
  }

  grpc::Status GetVitals(std::string_view identity, const vitals_v1::QueryVitalsRequest& req,
                         vitals_v1::QueryVitalsResponse* resp) {
    auto clinician = Clinician(identity);
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return clinician->GetVitals(&ctx, req, resp);
  }

  grpc::Status GetTwin(std::string_view identity, const clinician_v1::GetTwinRequest& req,
                       twin_v1::TwinSnapshot* resp) {
    auto clinician = Clinician(identity);
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    return clinician->GetTwin(&ctx, req, resp);
  }

  static vitals_v1::QueryVitalsRequest HeartRateQuery(const std::string& patient, int64_t start_us, int64_t end_us,
                                                      uint32_t bucket_s) {
    vitals_v1::QueryVitalsRequest req;
    req.set_patient_id(patient);
    req.add_types(vitals_v1::VITAL_TYPE_HEART_RATE);
    *req.mutable_start() = common::FromUnixMicros(start_us);
    *req.mutable_end() = common::FromUnixMicros(end_us);
    req.set_bucket_s(bucket_s);
    return req;
  }

  // Two whole minutes of readings every 10 s: 70, 72 .. 80 in the first, 90, 92 .. 100 in the
  // second. Returns the start of the first minute.
  int64_t StoreTwoMinutesOfHeartRate() {
    const int64_t minute_us = 60 * kMicrosPerSecond;
    // Within ingest's binding clock grace (10 min) of the Enroll that precedes this.
    const int64_t base_us = SecondsAgoUs(300) / minute_us * minute_us;
    vitals_v1::SampleBatch batch;
    for (int i = 0; i < 12; ++i) {
      const double bpm = i < 6 ? 70 + 2 * i : 90 + 2 * (i - 6);
      *batch.add_samples() = HeartRate(i + 1, kDevice, bpm, base_us + i * 10 * kMicrosPerSecond);
    }
    StreamOutcome out = Stream({batch});
    EXPECT_TRUE(out.status.ok()) << out.status.error_message();
    EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 12);
    return base_us;
  }

  static alerts_v1::SubscribeRequest SubscribeTo(const std::string& patient) {
    alerts_v1::SubscribeRequest req;
    req.add_patient_ids(patient);
    // Replays anything raised before the relay reached the alerts hub, so the test does not
    // race the subscription being established.
    *req.mutable_since() = common::FromUnixMicros(SecondsAgoUs(60));
    return req;
  }

  static std::function<bool(const alerts_v1::AlertEvent&)> IsEvent(alerts_v1::AlertEvent::Kind kind,
                                                                   const std::string& patient) {
    return [kind, patient](const alerts_v1::AlertEvent& e) {
      return e.kind() == kind && e.alert().patient_id() == patient;
    };
  }
  static std::function<bool(const alerts_v1::AlertEvent&)> IsSeq(int64_t seq) {
    return [seq](const alerts_v1::AlertEvent& e) { return e.record().event_seq() == seq; };
  }

  // An open MEDIUM hr_high alert of `patient`, written as the lifecycle writes one (no event yet).
  std::string InsertOpenAlert(const std::string& patient = kPatient) {
    return QueryText(db(),
                     "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at,"
                     " raised_at, peak_value, ucum_unit, duration_s) VALUES ('" +
                         patient +
                         "', 'hr_high', 2, 1, 'test', now(), now(), 130, '/min', 60) RETURNING alert_id::text");
  }
  // One event of `alert_id` (kind as AlertEvent.Kind, detail JSON), announced to the hub.
  int64_t InsertAlertEvent(const std::string& alert_id, int kind, const std::string& detail) {
    const int64_t seq = QueryInt(db(), "INSERT INTO alert_events (alert_id, kind, detail) VALUES ('" + alert_id +
                                           "', " + std::to_string(kind) + ", '" + detail + "') RETURNING event_seq");
    QueryInt(db(), "SELECT 1 FROM pg_notify('alerts_new', '')");
    return seq;
  }

  std::unique_ptr<Slice> slice_;
};

// ----------------------------------------------------------------------------- ingest

TEST_F(SliceTest, IngestAcknowledgesWatermarkAfterStoring) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  vitals_v1::SampleBatch batch;
  for (int i = 0; i < 10; ++i) *batch.add_samples() = HeartRate(i + 1, kDevice, 60 + i, SecondsAgoUs(60 - i));

  StreamOutcome out = Stream({batch});

  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.acks.size(), 1u);
  EXPECT_EQ(out.acks[0].durable_through_seq(), 10u);
  EXPECT_EQ(out.acks[0].stored_count(), 10u);
  EXPECT_EQ(out.acks[0].duplicate_count(), 0u);
  EXPECT_EQ(out.acks[0].rejections_size(), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE patient_id = 'pat-0001' AND vital_type = 1"), 10);
  EXPECT_DOUBLE_EQ(QueryDouble(db(), "SELECT sum(value) FROM vitals"), 645.0);  // 60 + 61 + ... + 69
  EXPECT_EQ(QueryText(db(), "SELECT string_agg(DISTINCT bridge_id, ',') FROM vitals"), "bridge-001");
}

TEST_F(SliceTest, IngestReplayOnNewStreamStoresNothingNew) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  const vitals_v1::SampleBatch batch = HeartRateRun(kDevice, 1, 10, SecondsAgoUs(60), 72);
  StreamOutcome first = Stream({batch});
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  const double sum_before = QueryDouble(db(), "SELECT sum(value) FROM vitals");

  StreamOutcome replay = Stream({batch});

  ASSERT_TRUE(replay.status.ok()) << replay.status.error_message();
  ASSERT_EQ(replay.acks.size(), 1u);
  EXPECT_EQ(replay.acks[0].durable_through_seq(), 10u);
  EXPECT_EQ(replay.acks[0].stored_count(), 0u);
  EXPECT_EQ(replay.acks[0].duplicate_count(), 10u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 10);
  EXPECT_DOUBLE_EQ(QueryDouble(db(), "SELECT sum(value) FROM vitals"), sum_before);
}

TEST_F(SliceTest, IngestQuarantinesSamplesFromUnknownDevice) {
  const vitals_v1::SampleBatch batch = HeartRateRun("ghost-device-9", 1, 3, SecondsAgoUs(30), 80);

  StreamOutcome out = Stream({batch});

  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.acks.size(), 1u);
  EXPECT_EQ(out.acks[0].durable_through_seq(), 3u);
  EXPECT_EQ(out.acks[0].quarantined_count(), 3u);
  EXPECT_EQ(out.acks[0].stored_count(), 0u);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM quarantine WHERE device_id = 'ghost-device-9'"
                     " AND reason = 'unknown device' AND bridge_id = 'bridge-001'"),
            3);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 0);
}

TEST_F(SliceTest, QuarantinedSamplesAreReleasedOnceTheDeviceIsBound) {
  const std::string device = "AA:BB:CC:00:00:07";
  ASSERT_TRUE(Stream({HeartRateRun(device, 1, 5, SecondsAgoUs(60), 77)}).status.ok());
  ASSERT_EQ(QueryInt(db(), "SELECT count(*) FROM quarantine WHERE device_id = '" + device + "'"), 5);

  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, device, {}));
  auto registry = Registry();
  registry_v1::ReleaseQuarantineRequest req;
  req.set_device_id(device);
  registry_v1::ReleaseQuarantineResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  ASSERT_TRUE(registry->ReleaseQuarantine(&ctx, req, &resp).ok());
  EXPECT_EQ(resp.released_count(), 5u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE patient_id = 'pat-0001' AND value = 77"), 5);

  // A second release finds nothing pending and stores nothing twice.
  grpc::ClientContext again;
  SetDeadline(again);
  ASSERT_TRUE(registry->ReleaseQuarantine(&again, req, &resp).ok());
  EXPECT_EQ(resp.released_count(), 0u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 5);
}

TEST_F(SliceTest, ReleasingQuarantineOfAnUnboundDeviceIsFailedPrecondition) {
  ASSERT_TRUE(Stream({HeartRateRun("ghost-device-8", 1, 2, SecondsAgoUs(60), 77)}).status.ok());
  registry_v1::ReleaseQuarantineRequest req;
  req.set_device_id("ghost-device-8");
  registry_v1::ReleaseQuarantineResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  EXPECT_EQ(Registry()->ReleaseQuarantine(&ctx, req, &resp).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM quarantine WHERE released_at IS NULL"), 2);
}

TEST_F(SliceTest, DeviceIdsOutsideTheRegistryCharsetAreRejectedNotQuarantined) {
  // Quarantine once took any text as a device id; ids now follow the registry's rule, so a
  // bridge cannot fill quarantine with ids that could never be bound.
  const std::string device = "weird\tdevice\\with\nspecials";
  StreamOutcome out = Stream({HeartRateRun(device, 1, 2, SecondsAgoUs(60), 70)});
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.acks.size(), 1u);
  ASSERT_EQ(out.acks[0].rejections_size(), 2);
  EXPECT_EQ(out.acks[0].rejections(0).reason(), vitals_v1::REJECT_REASON_INVALID_DEVICE_ID);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM quarantine"), 0);
}

TEST_F(SliceTest, VitalsLandInMonthlyPartitionsAndOldOnesInDefault) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  // The device was the patient's long ago, so its two-year-old stored record is theirs.
  QueryInt(db(), "UPDATE devices SET bound_at = now() - interval '3 years' RETURNING 1");
  vitals_v1::SampleBatch batch = HeartRateRun(kDevice, 1, 2, SecondsAgoUs(60), 70);
  *batch.add_samples() = HeartRate(3, kDevice, 71, SecondsAgoUs(2 * 365 * 86400));  // a stored record
  ASSERT_TRUE(Stream({batch}).status.ok());
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM vitals WHERE tableoid::regclass::text = 'vitals_' ||"
                     " to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')"),
            2);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals_default"), 1);

  // Retention of one year drops the two-year-old row; recent ones stay.
  EXPECT_EQ(QueryInt(db(), "SELECT healthtwin_apply_vitals_retention(365)"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 2);
}

TEST_F(SliceTest, CreatingAPartitionMovesRowsOutOfDefault) {
  // A row far enough ahead to have no partition yet (inserted directly: ingest would refuse
  // a future timestamp), then partitions created further ahead take it over.
  QueryInt(db(),
           "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, bridge_id)"
           " VALUES ('p', 'd', 1, 60, '/min', date_trunc('month', now()) + interval '5 months', 'b')"
           " RETURNING 1");
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals_default"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT healthtwin_ensure_vitals_partitions(6)"), 4);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals_default"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT healthtwin_ensure_vitals_partitions(6)"), 0);  // idempotent
}

TEST_F(SliceTest, BadSamplesAreRejectedWithReasonsAndTheRestOfTheBatchIsStored) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  vitals_v1::SampleBatch batch;
  *batch.add_samples() = HeartRate(1, kDevice, 70, SecondsAgoUs(5));
  auto nan = HeartRate(2, kDevice, std::nan(""), SecondsAgoUs(4));
  auto inf = HeartRate(3, kDevice, std::numeric_limits<double>::infinity(), SecondsAgoUs(3));
  auto unknown_type = HeartRate(4, kDevice, 70, SecondsAgoUs(2));
  unknown_type.set_type(static_cast<vitals_v1::VitalType>(77));
  auto no_device = HeartRate(5, "", 70, SecondsAgoUs(1));
  auto no_time = HeartRate(6, kDevice, 70, SecondsAgoUs(1));
  no_time.clear_measured_at();
  for (auto* s : {&nan, &inf, &unknown_type, &no_device, &no_time}) *batch.add_samples() = *s;
  *batch.add_samples() = HeartRate(7, kDevice, 72, SecondsAgoUs(0));

  StreamOutcome out = Stream({batch});

  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.acks.size(), 1u);
  const auto& ack = out.acks[0];
  EXPECT_EQ(ack.durable_through_seq(), 7u);
  EXPECT_EQ(ack.stored_count(), 2u);
  ASSERT_EQ(ack.rejections_size(), 5);
  std::map<uint64_t, std::string> detail;
  for (const auto& r : ack.rejections()) detail[r.sender_seq()] = r.detail();
  EXPECT_THAT(detail[2], HasSubstr("value"));
  EXPECT_THAT(detail[3], HasSubstr("value"));
  EXPECT_THAT(detail[4], HasSubstr("type"));
  EXPECT_THAT(detail[5], HasSubstr("device_id"));
  EXPECT_THAT(detail[6], HasSubstr("measured_at"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 2);
}

TEST_F(SliceTest, OversizedMessageEndsTheStreamAndKeepsWhatWasAcknowledged) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  vitals_v1::SampleBatch small = HeartRateRun(kDevice, 1, 5, SecondsAgoUs(60), 70);
  vitals_v1::SampleBatch huge = HeartRateRun(kDevice, 6, 1, SecondsAgoUs(30), 70);
  huge.mutable_samples(0)->set_device_id(std::string(5 * 1024 * 1024, 'x'));  // over the 4 MiB limit

  StreamOutcome out = Stream({small, huge});

  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << out.status.error_message();
  ASSERT_GE(out.acks.size(), 1u);
  EXPECT_EQ(out.acks[0].durable_through_seq(), 5u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 5);
}

TEST_F(SliceTest, IngestRejectsImplausibleHeartRateButAcknowledgesIt) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  vitals_v1::SampleBatch batch;
  *batch.add_samples() = HeartRate(1, kDevice, 80, SecondsAgoUs(3));
  *batch.add_samples() = HeartRate(2, kDevice, 81, SecondsAgoUs(2));
  *batch.add_samples() = HeartRate(3, kDevice, 900, SecondsAgoUs(1));

  StreamOutcome out = Stream({batch});

  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.acks.size(), 1u);
  const vitals_v1::Ack& ack = out.acks[0];
  EXPECT_EQ(ack.durable_through_seq(), 3u);  // covers the rejected sample: the bridge may drop it
  EXPECT_EQ(ack.stored_count(), 2u);
  ASSERT_EQ(ack.rejections_size(), 1);
  EXPECT_EQ(ack.rejections(0).sender_seq(), 3u);
  EXPECT_EQ(ack.rejections(0).reason(), vitals_v1::REJECT_REASON_IMPLAUSIBLE_VALUE);
  EXPECT_THAT(ack.rejections(0).detail(), HasSubstr("900"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 2);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE value = 900"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM quarantine"), 0);
}

TEST_F(SliceTest, IngestEndsStreamWhenSenderSeqDoesNotIncrease) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  const int64_t start_us = SecondsAgoUs(60);

  StreamOutcome out = Stream(
      {HeartRateRun(kDevice, 1, 3, start_us, 70), HeartRateRun(kDevice, 3, 2, start_us + 10 * kMicrosPerSecond, 70)});

  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(out.status.error_message(), HasSubstr("sender_seq"));
  ASSERT_EQ(out.acks.size(), 1u);  // the first batch was fine
  EXPECT_EQ(out.acks[0].durable_through_seq(), 3u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 3);  // nothing of the bad batch
}

TEST_F(SliceTest, IngestRefusesClinicianCertificate) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));

  StreamOutcome out = Stream({HeartRateRun(kDevice, 1, 3, SecondsAgoUs(30), 70)}, "dr-alice");

  EXPECT_EQ(out.status.error_code(), grpc::StatusCode::PERMISSION_DENIED) << out.status.error_message();
  EXPECT_TRUE(out.acks.empty());
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 0);
}

// ----------------------------------------------------------------------------- registry

TEST_F(SliceTest, RegistryRejectsInvalidPatientId) {
  auto registry = Registry();
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  registry_v1::CreatePatientRequest req;
  req.mutable_patient()->set_patient_id("no spaces allowed!");
  registry_v1::Patient resp;

  grpc::Status s = registry->CreatePatient(&ctx, req, &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("patient.patient_id"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM patients"), 0);
}

TEST_F(SliceTest, RegistryBindDeviceToMissingPatientIsNotFound) {
  auto registry = Registry();
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  registry_v1::BindDeviceRequest req;
  req.mutable_device()->set_device_id(kDevice);
  req.mutable_device()->set_kind(registry_v1::DEVICE_KIND_HEART_RATE_STRAP);
  req.set_patient_id("pat-missing");
  req.add_gateway_ids("bridge-001");
  registry_v1::Device resp;

  grpc::Status s = registry->BindDevice(&ctx, req, &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("pat-missing"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM devices"), 0);
}

TEST_F(SliceTest, RegistryRefusesCreatePatientFromBridge) {
  auto registry = Registry("bridge-001");
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  registry_v1::CreatePatientRequest req;
  req.mutable_patient()->set_patient_id("pat-0002");
  registry_v1::Patient resp;

  grpc::Status s = registry->CreatePatient(&ctx, req, &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM patients"), 0);
}

// ----------------------------------------------------------------------------- vitals reads

TEST_F(SliceTest, GetVitalsReturnsSamplesToCareTeamMember) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  const int64_t base_us = StoreTwoMinutesOfHeartRate();
  vitals_v1::QueryVitalsResponse resp;

  grpc::Status s = GetVitals("dr-alice", HeartRateQuery(kPatient, base_us, base_us + 120 * kMicrosPerSecond, 0), &resp);

  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.samples_size(), 12);
  EXPECT_TRUE(resp.next_page_token().empty());
  for (int i = 0; i < 12; ++i) {
    const auto& sample = resp.samples(i);
    EXPECT_EQ(sample.patient_id(), kPatient);
    EXPECT_EQ(sample.device_id(), kDevice);
    EXPECT_EQ(sample.type(), vitals_v1::VITAL_TYPE_HEART_RATE);
    EXPECT_EQ(sample.ucum_unit(), "/min");
    EXPECT_DOUBLE_EQ(sample.value(), i < 6 ? 70 + 2 * i : 90 + 2 * (i - 6));
    EXPECT_EQ(common::ToUnixMicros(sample.measured_at(), "timestamp").value(), base_us + i * 10 * kMicrosPerSecond);
  }
}

TEST_F(SliceTest, GetVitalsWithBucketsReturnsMinMaxMeanPerBucket) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  const int64_t base_us = StoreTwoMinutesOfHeartRate();
  vitals_v1::QueryVitalsResponse resp;

  grpc::Status s =
      GetVitals("dr-alice", HeartRateQuery(kPatient, base_us, base_us + 120 * kMicrosPerSecond, 60), &resp);

  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(resp.samples_size(), 0);
  ASSERT_EQ(resp.buckets_size(), 2);
  const auto& first = resp.buckets(0);
  EXPECT_EQ(common::ToUnixMicros(first.bucket_start(), "timestamp").value(), base_us);
  EXPECT_EQ(first.type(), vitals_v1::VITAL_TYPE_HEART_RATE);
  EXPECT_DOUBLE_EQ(first.min(), 70);
  EXPECT_DOUBLE_EQ(first.max(), 80);
  EXPECT_DOUBLE_EQ(first.mean(), 75);
  EXPECT_EQ(first.count(), 6u);
  EXPECT_EQ(first.ucum_unit(), "/min");
  const auto& second = resp.buckets(1);
  EXPECT_EQ(common::ToUnixMicros(second.bucket_start(), "timestamp").value(), base_us + 60 * kMicrosPerSecond);
  EXPECT_DOUBLE_EQ(second.min(), 90);
  EXPECT_DOUBLE_EQ(second.max(), 100);
  EXPECT_DOUBLE_EQ(second.mean(), 95);
  EXPECT_EQ(second.count(), 6u);
}

TEST_F(SliceTest, GetVitalsDeniesClinicianNotOnCareTeam) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  const int64_t base_us = StoreTwoMinutesOfHeartRate();
  vitals_v1::QueryVitalsResponse resp;

  grpc::Status s = GetVitals("dr-bob", HeartRateQuery(kPatient, base_us, base_us + 120 * kMicrosPerSecond, 0), &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(resp.samples_size(), 0);
}

TEST_F(SliceTest, GetVitalsAuditsAllowedAndDeniedAccess) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  const int64_t base_us = StoreTwoMinutesOfHeartRate();
  const auto req = HeartRateQuery(kPatient, base_us, base_us + 120 * kMicrosPerSecond, 0);
  vitals_v1::QueryVitalsResponse alice_resp;
  vitals_v1::QueryVitalsResponse bob_resp;

  ASSERT_TRUE(GetVitals("dr-alice", req, &alice_resp).ok());
  ASSERT_FALSE(GetVitals("dr-bob", req, &bob_resp).ok());

  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'dr-alice' AND role = 'clinician'"
                     " AND action = 'vitals.read' AND patient_id = 'pat-0001' AND outcome = 'allowed'"),
            1);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'dr-bob' AND role = 'clinician'"
                     " AND action = 'vitals.read' AND patient_id = 'pat-0001' AND outcome = 'denied'"),
            1);
  // Plus ingest's own record of the one relayed query (dr-bob's never left clinician_api).
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM audit_log WHERE action LIKE 'vitals.%'"), 3);
  EXPECT_EQ(
      QueryInt(db(), "SELECT count(*) FROM audit_log WHERE action = 'vitals.query' AND on_behalf_of = 'dr-alice'"), 1);
}

// ----------------------------------------------------------------------------- alerts

// The alerts.raised log line names the alert, never the patient or the peak heart rate (PHI).
TEST_F(SliceTest, AlertRaisedLogLineCarriesTheAlertIdButNoPatientOrPeak) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  auto alice = Clinician("dr-alice");
  AlertWatch watch(*alice, SubscribeTo(kPatient));
  std::ostringstream captured;
  ASSERT_TRUE(common::InitLogging("slice_integration_test", "info", common::LogFormat::kJson,
                                  std::make_shared<spdlog::sinks::ostream_sink_mt>(captured, /*force_flush=*/true))
                  .ok());
  StreamOutcome out = Stream(Chunk(HeartRateRun(kDevice, 1, 70, SecondsAgoUs(180), 137), 10));
  auto raised = watch.WaitFor(IsEvent(alerts_v1::AlertEvent::KIND_RAISED, kPatient), kAlertWait);
  ASSERT_TRUE(common::InitLogging("slice_integration_test", "warn", common::LogFormat::kText).ok());
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_TRUE(raised.has_value()) << "no KIND_RAISED event within " << kAlertWait.count() << " s";

  std::istringstream lines(captured.str());
  std::string line, raised_line;
  while (std::getline(lines, line)) {
    if (line.find("\"alerts.raised\"") != std::string::npos) raised_line = line;
  }
  ASSERT_FALSE(raised_line.empty()) << captured.str();
  const nlohmann::json fields = nlohmann::json::parse(raised_line);
  EXPECT_EQ(fields.value("alert_id", ""), raised->alert().alert_id()) << raised_line;
  EXPECT_EQ(raised_line.find(kPatient), std::string::npos) << raised_line;
  EXPECT_EQ(raised_line.find("peak"), std::string::npos) << raised_line;
  for (const auto& [key, value] : fields.items()) {
    EXPECT_FALSE(value.is_number() && value.get<double>() == 137) << key << " carries the peak: " << raised_line;
  }
}

// 70 readings at 1 Hz (69 s of data) of HR 135 for a patient on dr-alice's care team.
TEST_F(SliceTest, SustainedTachycardiaRaisesOneAlertOnCliniciansSubscription) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  auto alice = Clinician("dr-alice");
  AlertWatch watch(*alice, SubscribeTo(kPatient));
  const int64_t start_us = SecondsAgoUs(180);

  StreamOutcome first = Stream(Chunk(HeartRateRun(kDevice, 1, 70, start_us, 135), 10));
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();

  auto raised = watch.WaitFor(IsEvent(alerts_v1::AlertEvent::KIND_RAISED, kPatient), kAlertWait);
  ASSERT_TRUE(raised.has_value()) << "no KIND_RAISED event within " << kAlertWait.count() << " s";
  EXPECT_EQ(raised->alert().rule_id(), "hr_high");
  EXPECT_EQ(raised->alert().state(), alerts_v1::ALERT_STATE_OPEN);
  EXPECT_EQ(raised->alert().priority(), alerts_v1::PRIORITY_HIGH);
  EXPECT_EQ(common::ToUnixMicros(raised->alert().condition_started_at(), "timestamp").value(), start_us);
  EXPECT_DOUBLE_EQ(raised->alert().peak_value(), 135);

  // 30 more seconds of the same episode: still one alert.
  StreamOutcome more = Stream({HeartRateRun(kDevice, 71, 30, start_us + 70 * kMicrosPerSecond, 135)});
  ASSERT_TRUE(more.status.ok()) << more.status.error_message();
  ASSERT_TRUE(WaitForEvaluator()) << "the evaluator did not consume the vitals";
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 100);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alerts"), 1);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM alerts WHERE patient_id = 'pat-0001'"
                     " AND rule_id = 'hr_high'"),
            1);
  watch.Stop();
  int raised_events = 0;
  for (const auto& e : watch.events()) raised_events += e.kind() == alerts_v1::AlertEvent::KIND_RAISED;
  EXPECT_EQ(raised_events, 1);
}

TEST_F(SliceTest, AcknowledgeAlertRecordsRecipientAndNotifiesSubscriber) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  auto alice = Clinician("dr-alice");
  AlertWatch watch(*alice, SubscribeTo(kPatient));
  StreamOutcome streamed = Stream(Chunk(HeartRateRun(kDevice, 1, 70, SecondsAgoUs(180), 135), 10));
  ASSERT_TRUE(streamed.status.ok()) << streamed.status.error_message();
  auto raised = watch.WaitFor(IsEvent(alerts_v1::AlertEvent::KIND_RAISED, kPatient), kAlertWait);
  ASSERT_TRUE(raised.has_value()) << "no KIND_RAISED event within " << kAlertWait.count() << " s";
  const std::string alert_id = raised->alert().alert_id();

  grpc::ClientContext ctx;
  SetDeadline(ctx);
  clinician_v1::AcknowledgeAlertRequest req;
  req.set_alert_id(alert_id);
  req.set_note("seen, calling the patient");
  alerts_v1::Alert acked;
  grpc::Status s = alice->AcknowledgeAlert(&ctx, req, &acked);

  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(acked.alert_id(), alert_id);
  EXPECT_EQ(acked.state(), alerts_v1::ALERT_STATE_ACKNOWLEDGED);
  ASSERT_EQ(acked.acknowledgements_size(), 1);
  EXPECT_EQ(acked.acknowledgements(0).recipient(), "dr-alice");
  EXPECT_EQ(acked.acknowledgements(0).note(), "seen, calling the patient");

  // The alarm lifecycle records the acknowledgement as its own event kind, naming the person.
  auto updated = watch.WaitFor(
      [&](const alerts_v1::AlertEvent& e) {
        return e.kind() == alerts_v1::AlertEvent::KIND_ACKNOWLEDGED && e.alert().alert_id() == alert_id;
      },
      kAlertWait);
  ASSERT_TRUE(updated.has_value()) << "no KIND_ACKNOWLEDGED event within " << kAlertWait.count() << " s";
  EXPECT_EQ(updated->alert().state(), alerts_v1::ALERT_STATE_ACKNOWLEDGED);
  EXPECT_EQ(updated->record().actor(), "dr-alice");
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'dr-alice' AND action = 'alert.acknowledge'"
                     " AND outcome = 'allowed'"),
            1);
}

// Acknowledging silences the alert's updates for the one who acknowledged, not for the rest of
// the care team, and a rise in priority is sent to everyone (issue 11; IEC 60601-1-8 6.8).
// Events are written by SQL as the lifecycle writes them, so only the delivery is under test.
TEST_F(SliceTest, AnAcknowledgementSilencesUpdatesForThatRecipientOnly) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice", "dr-bob"}));
  alerts_v1::SubscribeRequest all_mine;
  *all_mine.mutable_since() = common::FromUnixMicros(SecondsAgoUs(60));
  auto alice = Clinician("dr-alice");
  auto bob = Clinician("dr-bob");
  AlertWatch alice_watch(*alice, all_mine);
  AlertWatch bob_watch(*bob, all_mine);
  const std::string alert_id = InsertOpenAlert();
  auto event = [&](int kind, const std::string& detail) { return InsertAlertEvent(alert_id, kind, detail); };
  auto is_seq = IsSeq;
  const int64_t raised = event(1, "{}");
  ASSERT_TRUE(alice_watch.WaitFor(is_seq(raised), kAlertWait).has_value());
  ASSERT_TRUE(bob_watch.WaitFor(is_seq(raised), kAlertWait).has_value());

  grpc::ClientContext ctx;
  SetDeadline(ctx);
  clinician_v1::AcknowledgeAlertRequest ack;
  ack.set_alert_id(alert_id);
  alerts_v1::Alert acked;
  ASSERT_TRUE(alice->AcknowledgeAlert(&ctx, ack, &acked).ok());

  const int64_t new_peak = event(2, R"({"priority_from": 2, "priority_to": 2, "peak_from": 130, "peak_to": 140})");
  const int64_t worse = event(2, R"({"priority_from": 2, "priority_to": 3, "peak_from": 140, "peak_to": 150})");
  ASSERT_TRUE(bob_watch.WaitFor(is_seq(new_peak), kAlertWait).has_value()) << "the others still hear the updates";
  ASSERT_TRUE(bob_watch.WaitFor(is_seq(worse), kAlertWait).has_value());
  // Delivered in order: once the rise has reached her, the new peak would have come before it.
  ASSERT_TRUE(alice_watch.WaitFor(is_seq(worse), kAlertWait).has_value()) << "a rise in priority is news";
  alice_watch.Stop();
  bob_watch.Stop();
  bool acknowledged_seen = false;
  for (const auto& e : alice_watch.events()) {
    EXPECT_NE(e.record().event_seq(), new_peak) << "she acknowledged: a new peak is not sent to her";
    acknowledged_seen = acknowledged_seen || e.kind() == alerts_v1::AlertEvent::KIND_ACKNOWLEDGED;
  }
  EXPECT_TRUE(acknowledged_seen) << "her own acknowledgement is sent to her";
}

// A shelf (alarm paused) silences the alert's updates and escalations for the one who shelved it,
// while it lasts; the condition's end is still sent, and the others hear everything.
TEST_F(SliceTest, AShelfSilencesUpdatesAndEscalationsForThatRecipientOnly) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice", "dr-bob"}));
  alerts_v1::SubscribeRequest all_mine;
  *all_mine.mutable_since() = common::FromUnixMicros(SecondsAgoUs(60));
  auto alice = Clinician("dr-alice");
  auto bob = Clinician("dr-bob");
  AlertWatch alice_watch(*alice, all_mine);
  AlertWatch bob_watch(*bob, all_mine);
  const std::string alert_id = InsertOpenAlert();
  const int64_t raised = InsertAlertEvent(alert_id, 1, "{}");
  ASSERT_TRUE(bob_watch.WaitFor(IsSeq(raised), kAlertWait).has_value());

  grpc::ClientContext ctx;
  SetDeadline(ctx);
  clinician_v1::ShelveAlertRequest shelve;
  shelve.set_alert_id(alert_id);
  shelve.set_reason("patient in surgery");
  shelve.mutable_duration()->set_seconds(600);
  alerts_v1::Alert shelved;
  ASSERT_TRUE(bob->ShelveAlert(&ctx, shelve, &shelved).ok());

  const int64_t update = InsertAlertEvent(alert_id, 2, R"({"priority_from": 2, "priority_to": 2})");
  const int64_t escalated = InsertAlertEvent(alert_id, 3, R"({"tier": 2})");
  const int64_t ended = InsertAlertEvent(alert_id, 9, "{}");
  for (int64_t seq : {update, escalated, ended}) {
    ASSERT_TRUE(alice_watch.WaitFor(IsSeq(seq), kAlertWait).has_value()) << "event " << seq << " to the others";
  }
  ASSERT_TRUE(bob_watch.WaitFor(IsSeq(ended), kAlertWait).has_value()) << "the condition's end is sent";
  bob_watch.Stop();
  for (const auto& e : bob_watch.events()) {
    EXPECT_NE(e.record().event_seq(), update) << "he shelved it: its update is not sent to him";
    EXPECT_NE(e.record().event_seq(), escalated) << "he shelved it: its escalation is not sent to him";
  }
}

// 60 readings at 1 Hz span 59 s: one second short of the rule's 60 s.
TEST_F(SliceTest, FiftyNineSecondsOfTachycardiaRaisesNoAlert) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));

  StreamOutcome out = Stream(Chunk(HeartRateRun(kDevice, 1, 60, SecondsAgoUs(180), 135), 10));

  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 60);
  ASSERT_TRUE(WaitForEvaluator()) << "the evaluator did not consume the vitals";
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alerts"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alert_events"), 0);
}

// ----------------------------------------------------------------------------- twin

TEST_F(SliceTest, ReplayedAlertsAreOnlyTheCallersPatients) {
  // Two tachycardic patients; dr-alice cares for the first only. Her subscription, opened
  // after both alerts exist, replays history: it must contain hers and never the other's.
  const std::string other_patient = "pat-0002";
  const std::string other_device = "AA:BB:CC:00:00:02";
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  ASSERT_NO_FATAL_FAILURE(Enroll(other_patient, other_device, {"dr-bob"}));
  const int64_t start_us = SecondsAgoUs(180);
  vitals_v1::SampleBatch both = HeartRateRun(kDevice, 1, 70, start_us, 140);
  const vitals_v1::SampleBatch other = HeartRateRun(other_device, 71, 70, start_us, 140);
  for (const auto& s : other.samples()) *both.add_samples() = s;
  ASSERT_TRUE(Stream({both}).status.ok());
  ASSERT_TRUE(WaitForEvaluator());
  ASSERT_EQ(QueryInt(db(), "SELECT count(*) FROM alerts"), 2);

  auto alice = Clinician("dr-alice");
  alerts_v1::SubscribeRequest all_mine;  // no patient ids: every patient on her care team
  *all_mine.mutable_since() = common::FromUnixMicros(SecondsAgoUs(600));
  AlertWatch watch(*alice, all_mine);
  auto mine = watch.WaitFor(IsEvent(alerts_v1::AlertEvent::KIND_RAISED, kPatient), kAlertWait);
  ASSERT_TRUE(mine.has_value()) << "her patient's alert was not replayed";
  // Replay is one burst, so anything leaked would arrive well within this window.
  auto leaked = watch.WaitFor(IsEvent(alerts_v1::AlertEvent::KIND_RAISED, other_patient), 3s);
  EXPECT_FALSE(leaked.has_value()) << "another care team's alert was replayed";
  watch.Stop();
  for (const auto& e : watch.events()) EXPECT_EQ(e.alert().patient_id(), kPatient);
}

TEST_F(SliceTest, ServerReflectionListsOurServices) {
  const common::testing::ReflectionReply r =
      common::testing::ListServices(Slice::Channel(slice_->data_address(), "cli-admin", "ingest"), kRpcDeadline);
  EXPECT_TRUE(r.status.ok()) << r.status.error_message();
  EXPECT_NE(r.response.find("healthtwin.vitals.v1.IngestService"), std::string::npos);
  EXPECT_NE(r.response.find("healthtwin.registry.v1.RegistryService"), std::string::npos);
  EXPECT_NE(r.response.find("grpc.health.v1.Health"), std::string::npos);
}

// 20236744074158 s times 1e6 used to wrap to a time in 2026 and run the query.
TEST_F(SliceTest, GetVitalsRejectsATimestampOutsideYears0001To9999) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  vitals_v1::QueryVitalsRequest req = HeartRateQuery(kPatient, SecondsAgoUs(60), SecondsAgoUs(0), 0);
  req.mutable_end()->set_seconds(20'236'744'074'158);
  vitals_v1::QueryVitalsResponse resp;

  grpc::Status s = GetVitals("dr-alice", req, &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("end: seconds 20236744074158 is outside years 0001..9999"));
}

TEST_F(SliceTest, GetTwinRejectsNegativeNanosInAsOf) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  clinician_v1::GetTwinRequest req;
  req.set_patient_id(kPatient);
  *req.mutable_as_of() = common::FromUnixMicros(SecondsAgoUs(0));
  req.mutable_as_of()->set_nanos(-1);
  twin_v1::TwinSnapshot resp;

  grpc::Status s = GetTwin("dr-alice", req, &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr("as_of: nanos -1 is outside 0..999999999"));
}

TEST_F(SliceTest, GetTwinWithoutSnapshotsIsNotFound) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  clinician_v1::GetTwinRequest req;
  req.set_patient_id(kPatient);
  twin_v1::TwinSnapshot resp;

  grpc::Status s = GetTwin("dr-alice", req, &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_THAT(s.error_message(), HasSubstr(kPatient));
}

// ----------------------------------------------------------------------------- authorization
// Negative tests for the access model of docs/security.md: each would pass a request that the
// code before that model let through.

TEST_F(SliceTest, BridgeCertificateCannotReadTheRegistry) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  auto registry = Registry("bridge-001");
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    registry_v1::ListPatientsResponse resp;
    EXPECT_EQ(registry->ListPatients(&ctx, {}, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(resp.patients_size(), 0);
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    registry_v1::GetPatientRequest req;
    req.set_patient_id(kPatient);
    registry_v1::Patient resp;
    EXPECT_EQ(registry->GetPatient(&ctx, req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    registry_v1::ListDevicesResponse resp;
    EXPECT_EQ(registry->ListDevices(&ctx, {}, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_EQ(resp.devices_size(), 0);
  }
  {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    registry_v1::GetDeviceRequest req;
    req.set_device_id(kDevice);
    registry_v1::Device resp;
    EXPECT_EQ(registry->GetDevice(&ctx, req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
    EXPECT_TRUE(resp.patient_id().empty());
  }
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'bridge-001' AND outcome = 'denied'"
                     " AND action LIKE 'registry.%'"),
            4);
}

TEST_F(SliceTest, BridgeLearnsOnlyWhetherItMayForwardADevice) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  auto ask = [&](std::string_view identity, const std::string& device, registry_v1::CheckForwardingResponse* resp) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    registry_v1::CheckForwardingRequest req;
    req.set_device_id(device);
    return Registry(identity)->CheckForwarding(&ctx, req, resp);
  };
  registry_v1::CheckForwardingResponse resp;
  ASSERT_TRUE(ask("bridge-001", kDevice, &resp).ok());
  EXPECT_EQ(resp.state(), registry_v1::FORWARDING_STATE_ALLOWED);
  ASSERT_TRUE(ask("bridge-002", kDevice, &resp).ok());
  EXPECT_EQ(resp.state(), registry_v1::FORWARDING_STATE_NOT_BOUND) << "bridge-002 is not the device's gateway";
  EXPECT_EQ(ask("bridge-001", "AA:BB:CC:99:99:99", &resp).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ask("cli-admin", kDevice, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(SliceTest, ASecondBridgeCannotWriteAPatientsVitalsNorSilenceTheTachycardiaAlert) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  auto alice = Clinician("dr-alice");
  AlertWatch watch(*alice, SubscribeTo(kPatient));
  const int64_t start_us = SecondsAgoUs(180);
  // bridge-002 injects a normal heart rate between every genuine reading of the strap, first.
  const vitals_v1::SampleBatch injected = HeartRateRun(kDevice, 1, 70, start_us + kMicrosPerSecond / 2, 70);
  StreamOutcome rogue = Stream(Chunk(injected, 10), "bridge-002");
  ASSERT_TRUE(rogue.status.ok()) << rogue.status.error_message();
  for (const auto& ack : rogue.acks) EXPECT_EQ(ack.stored_count(), 0u);
  StreamOutcome genuine = Stream(Chunk(HeartRateRun(kDevice, 1, 70, start_us, 135), 10));
  ASSERT_TRUE(genuine.status.ok()) << genuine.status.error_message();

  auto raised = watch.WaitFor(
      [](const alerts_v1::AlertEvent& e) {
        return e.kind() == alerts_v1::AlertEvent::KIND_RAISED && e.alert().rule_id() == "hr_high";
      },
      kAlertWait);
  ASSERT_TRUE(raised.has_value()) << "the injected readings suppressed the tachycardia alert";
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE patient_id = 'pat-0001'"), 70);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE bridge_id <> 'bridge-001'"), 0);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM quarantine WHERE bridge_id = 'bridge-002'"
                     " AND reason = 'gateway not bound to the device'"),
            70);
  // And the care team hears that someone else forwarded the patient's device.
  auto technical = watch.WaitFor(
      [](const alerts_v1::AlertEvent& e) {
        return e.kind() == alerts_v1::AlertEvent::KIND_RAISED && e.alert().rule_id() == "tech_foreign_gateway";
      },
      kAlertWait);
  ASSERT_TRUE(technical.has_value()) << "no technical alert for the foreign gateway";
  EXPECT_EQ(technical->alert().patient_id(), kPatient);
  EXPECT_THAT(technical->alert().summary(), HasSubstr("bridge-002"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alerts WHERE rule_id = 'tech_foreign_gateway'"), 1);
}

TEST_F(SliceTest, ASampleMeasuredBeforeTheBindingIsQuarantined) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  vitals_v1::SampleBatch batch;
  *batch.add_samples() = HeartRate(1, kDevice, 64, SecondsAgoUs(3600));  // the previous wearer's
  *batch.add_samples() = HeartRate(2, kDevice, 70, SecondsAgoUs(30));
  StreamOutcome out = Stream({batch});
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.acks.size(), 1u);
  EXPECT_EQ(out.acks[0].stored_count(), 1u);
  EXPECT_EQ(out.acks[0].quarantined_count(), 1u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE value = 64"), 0);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM quarantine WHERE value = 64"
                     " AND reason = 'measured before the device was bound'"),
            1);
}

// A device that was the patient's before it was bound (their own cuff with stored readings): the
// admin binds it with readings_since, and readings measured since then are stored; older ones
// are still quarantined, and a readings_since in the future is refused.
TEST_F(SliceTest, ReadingsSinceAcceptsTheDevicesStoredReadingsFromThatTime) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  auto registry = Registry();
  auto bind = [&](int64_t since_us, registry_v1::Device* resp) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    registry_v1::BindDeviceRequest req;
    req.mutable_device()->set_device_id(kDevice);
    req.mutable_device()->set_kind(registry_v1::DEVICE_KIND_HEART_RATE_STRAP);
    req.set_patient_id(kPatient);
    req.add_gateway_ids("bridge-001");
    *req.mutable_readings_since() = common::FromUnixMicros(since_us);
    return registry->BindDevice(&ctx, req, resp);
  };
  registry_v1::Device resp;
  const grpc::Status future = bind(SecondsAgoUs(-3600), &resp);
  EXPECT_EQ(future.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(future.error_message(), HasSubstr("readings_since"));
  const int64_t since_us = SecondsAgoUs(2 * 86400);
  const grpc::Status s = bind(since_us, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(common::ToUnixMicros(resp.bound_at(), "bound_at").value_or(0) / 1'000'000, since_us / 1'000'000);

  vitals_v1::SampleBatch batch;
  *batch.add_samples() = HeartRate(1, kDevice, 61, SecondsAgoUs(86400));      // stored yesterday: the patient's
  *batch.add_samples() = HeartRate(2, kDevice, 63, SecondsAgoUs(3 * 86400));  // before readings_since
  StreamOutcome out = Stream({batch});
  ASSERT_TRUE(out.status.ok()) << out.status.error_message();
  ASSERT_EQ(out.acks.size(), 1u);
  EXPECT_EQ(out.acks[0].stored_count(), 1u);
  EXPECT_EQ(out.acks[0].quarantined_count(), 1u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE value = 61"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM quarantine WHERE value = 63"), 1);
}

TEST_F(SliceTest, ReleaseMovesOnlyTheGatewaysReadingsMeasuredAfterTheBinding) {
  const std::string device = "AA:BB:CC:00:00:07";
  ASSERT_TRUE(Stream({HeartRateRun(device, 1, 3, SecondsAgoUs(60), 77)}).status.ok());                // gateway, recent
  ASSERT_TRUE(Stream({HeartRateRun(device, 1, 2, SecondsAgoUs(50), 55)}, "bridge-002").status.ok());  // another bridge
  ASSERT_TRUE(Stream({HeartRateRun(device, 4, 2, SecondsAgoUs(7200), 66)}).status.ok());              // before binding
  ASSERT_EQ(QueryInt(db(), "SELECT count(*) FROM quarantine"), 7);
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, device, {}));

  registry_v1::ReleaseQuarantineRequest req;
  req.set_device_id(device);
  registry_v1::ReleaseQuarantineResponse resp;
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  ASSERT_TRUE(Registry()->ReleaseQuarantine(&ctx, req, &resp).ok());

  EXPECT_EQ(resp.released_count(), 3u);
  EXPECT_EQ(resp.held_count(), 4u);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals"), 3);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM vitals WHERE value <> 77"), 0);
}

TEST_F(SliceTest, QuarantineIsBoundedPerBridgeAndRefusesBeyondTheBound) {
  // A store over the slice's database with a small bound; the rule is the store's, not gRPC's.
  common::PgPool pool(db(), 2, ingest::PgSampleStore::PrepareConnection);
  ingest::PgSampleStore store(pool, {.max_pending_quarantine_per_bridge = 3});
  std::vector<ingest::ValidSample> samples;
  for (int i = 0; i < 5; ++i) {
    ingest::ValidSample s;
    s.sender_seq = i + 1;
    s.device_id = "AA:BB:CC:00:00:55";
    s.type = common::VitalType::kHeartRate;
    s.value = 60 + i;
    s.measured_at_us = SecondsAgoUs(60 - i);
    samples.push_back(s);
  }
  auto outcome = store.StoreBatch("bridge-002", samples);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(outcome->quarantined, 3u);
  EXPECT_EQ(outcome->refused_quarantine_full, (std::vector<std::size_t>{3, 4}));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM quarantine WHERE bridge_id = 'bridge-002'"), 3);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT sum(sample_count) FROM technical_events WHERE kind = 'quarantine_full'"
                     " AND bridge_id = 'bridge-002'"),
            2);
  // A replay of what is already held is a duplicate, not a refusal; another bridge has its own room.
  auto replay = store.StoreBatch("bridge-002", {samples.begin(), samples.begin() + 3});
  ASSERT_TRUE(replay.ok());
  EXPECT_TRUE(replay->refused_quarantine_full.empty());
  EXPECT_EQ(replay->duplicates, 3u);
  auto other = store.StoreBatch("bridge-001", {samples.begin() + 3, samples.end()});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->quarantined, 2u);
}

TEST_F(SliceTest, AFullQuarantineIsRaisedToThePatientsOfThatGateway) {
  // pat-0001's strap goes through bridge-001; a new cuff nobody bound fills bridge-001's room.
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  common::PgPool pool(db(), 2, ingest::PgSampleStore::PrepareConnection);
  ingest::PgSampleStore store(pool, {.max_pending_quarantine_per_bridge = 1});
  std::vector<ingest::ValidSample> samples(2);
  for (int i = 0; i < 2; ++i) {
    samples[i].sender_seq = i + 1;
    samples[i].device_id = "AA:BB:CC:00:00:56";
    samples[i].type = common::VitalType::kSystolicBp;
    samples[i].value = 150 + i;
    samples[i].measured_at_us = SecondsAgoUs(30 - i);
  }
  auto outcome = store.StoreBatch("bridge-001", samples);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  ASSERT_EQ(outcome->refused_quarantine_full.size(), 1u);

  ASSERT_TRUE(PollUntil(
      [&] { return QueryInt(db(), "SELECT count(*) FROM alerts WHERE rule_id = 'tech_gateway_quarantine_full'") > 0; },
      kAlertWait))
      << "no technical alert for the full quarantine";
  EXPECT_EQ(QueryText(db(),
                      "SELECT patient_id || '/' || priority FROM alerts"
                      " WHERE rule_id = 'tech_gateway_quarantine_full'"),
            "pat-0001/1");
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM technical_events WHERE alerted_at IS NULL"), 0);
  // A second refusal the same day raises nothing new.
  ASSERT_TRUE(store.StoreBatch("bridge-001", {samples[1]}).ok());
  ASSERT_TRUE(
      PollUntil([&] { return QueryInt(db(), "SELECT count(*) FROM technical_events WHERE alerted_at IS NULL") == 0; },
                kAlertWait));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alerts WHERE rule_id = 'tech_gateway_quarantine_full'"), 1);
}

TEST_F(SliceTest, AdminsAndOtherServicesCannotReadPatientDataFromTheServices) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  const int64_t base_us = StoreTwoMinutesOfHeartRate();
  for (std::string_view identity : {"cli-admin", "twin", "simulation"}) {
    {
      auto stub = vitals_v1::VitalsQueryService::NewStub(Slice::Channel(slice_->data_address(), identity, "ingest"));
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      vitals_v1::QueryVitalsResponse resp;
      EXPECT_EQ(stub->QueryVitals(&ctx, HeartRateQuery(kPatient, base_us, base_us + 120 * kMicrosPerSecond, 0), &resp)
                    .error_code(),
                grpc::StatusCode::PERMISSION_DENIED)
          << identity;
      EXPECT_EQ(resp.samples_size(), 0) << identity;
    }
    {
      auto stub = alerts_v1::AlertService::NewStub(Slice::Channel(slice_->alerts_address(), identity, "alerts"));
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      alerts_v1::ListAlertsRequest req;
      req.set_patient_id(kPatient);
      alerts_v1::ListAlertsResponse resp;
      EXPECT_EQ(stub->ListAlerts(&ctx, req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED) << identity;
    }
    {
      auto stub = alerts_v1::AlertService::NewStub(Slice::Channel(slice_->alerts_address(), identity, "alerts"));
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      alerts_v1::SubscribeRequest req;
      req.add_patient_ids(kPatient);
      auto reader = stub->Subscribe(&ctx, req);
      alerts_v1::AlertEvent ev;
      EXPECT_FALSE(reader->Read(&ev));
      EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::PERMISSION_DENIED) << identity;
    }
    {
      auto stub = twin_v1::TwinService::NewStub(Slice::Channel(slice_->data_address(), identity, "ingest"));
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      twin_v1::GetTwinRequest req;
      req.set_patient_id(kPatient);
      twin_v1::TwinSnapshot resp;
      EXPECT_EQ(stub->GetTwin(&ctx, req, &resp).error_code(), grpc::StatusCode::PERMISSION_DENIED) << identity;
    }
    {  // and no service certificate administers care teams
      registry_v1::AddCareTeamMemberRequest req;
      req.set_patient_id(kPatient);
      req.set_member("dr-mallory");
      registry_v1::AddCareTeamMemberResponse resp;
      grpc::ClientContext ctx;
      SetDeadline(ctx);
      const auto code = Registry(identity)->AddCareTeamMember(&ctx, req, &resp).error_code();
      if (identity != "cli-admin") {
        EXPECT_EQ(code, grpc::StatusCode::PERMISSION_DENIED) << identity;
      }
    }
  }
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM care_team WHERE member = 'dr-mallory'"), 1) << "only the admin's";
  // Each refusal is in the audit log, with the patient it was about.
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE outcome = 'denied' AND patient_id = 'pat-0001'"
                     " AND actor IN ('cli-admin', 'twin', 'simulation')"
                     " AND action IN ('vitals.query', 'alerts.list', 'alerts.subscribe', 'twin.read')"),
            12);
}

TEST_F(SliceTest, TheAcknowledgingPersonComesFromTheAuthenticatedRelay) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  auto alice = Clinician("dr-alice");
  AlertWatch watch(*alice, SubscribeTo(kPatient));
  ASSERT_TRUE(Stream(Chunk(HeartRateRun(kDevice, 1, 70, SecondsAgoUs(180), 135), 10)).status.ok());
  auto raised = watch.WaitFor(IsEvent(alerts_v1::AlertEvent::KIND_RAISED, kPatient), kAlertWait);
  ASSERT_TRUE(raised.has_value());
  const std::string alert_id = raised->alert().alert_id();
  auto ack_as = [&](std::string_view identity, const std::string& header) {
    auto stub = alerts_v1::AlertService::NewStub(Slice::Channel(slice_->alerts_address(), identity, "alerts"));
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    if (!header.empty()) ctx.AddMetadata("x-healthtwin-on-behalf-of", header);
    alerts_v1::AcknowledgeRequest req;
    req.set_alert_id(alert_id);
    req.set_recipient("dr-alice");
    alerts_v1::Alert resp;
    return stub->Acknowledge(&ctx, req, &resp);
  };
  // A service or admin certificate cannot acknowledge "as dr-alice" ...
  EXPECT_EQ(ack_as("twin", "dr-alice").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ack_as("cli-admin", "dr-alice").error_code(), grpc::StatusCode::PERMISSION_DENIED);
  // ... and even the relay must name the same person it authenticated.
  EXPECT_EQ(ack_as("clinician_api", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ack_as("clinician_api", "dr-bob").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alert_acknowledgements"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT state FROM alerts WHERE alert_id = '" + alert_id + "'"), 1) << "still open";
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE action = 'alert.acknowledge' AND outcome = 'denied'"
                     " AND actor IN ('twin', 'cli-admin') AND patient_id = 'pat-0001'"),
            2);

  // Through clinician_api: both the person and the relay are recorded.
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  clinician_v1::AcknowledgeAlertRequest req;
  req.set_alert_id(alert_id);
  alerts_v1::Alert acked;
  ASSERT_TRUE(alice->AcknowledgeAlert(&ctx, req, &acked).ok());
  EXPECT_EQ(QueryText(db(), "SELECT recipient || '/' || relayed_by FROM alert_acknowledgements"),
            "dr-alice/clinician_api");
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE action = 'alert.acknowledge' AND outcome = 'allowed'"
                     " AND actor = 'clinician_api' AND on_behalf_of = 'dr-alice'"),
            1);
}

TEST_F(SliceTest, InternalServicesAuditEveryRelayedReadWithThePerson) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  const int64_t base_us = StoreTwoMinutesOfHeartRate();
  vitals_v1::QueryVitalsResponse resp;
  ASSERT_TRUE(
      GetVitals("dr-alice", HeartRateQuery(kPatient, base_us, base_us + 120 * kMicrosPerSecond, 0), &resp).ok());
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE action = 'vitals.query' AND actor = 'clinician_api'"
                     " AND on_behalf_of = 'dr-alice' AND patient_id = 'pat-0001' AND outcome = 'allowed'"),
            1);
  // A person cannot pass the relay header themselves: dr-alice's own assertion is ignored.
  auto stub = Clinician("dr-alice");
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  ctx.AddMetadata("x-healthtwin-on-behalf-of", "dr-bob");
  clinician_v1::ListMyPatientsResponse mine;
  ASSERT_TRUE(stub->ListMyPatients(&ctx, {}, &mine).ok());
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM audit_log WHERE on_behalf_of = 'dr-bob'"), 0);
}

TEST_F(SliceTest, AlertSubscriptionMustNamePatients) {
  auto stub = alerts_v1::AlertService::NewStub(Slice::Channel(slice_->alerts_address(), "clinician_api", "alerts"));
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  auto reader = stub->Subscribe(&ctx, alerts_v1::SubscribeRequest{});
  alerts_v1::AlertEvent ev;
  EXPECT_FALSE(reader->Read(&ev));
  grpc::Status s = reader->Finish();
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("patient_ids"));
}

// "All my patients" follows the care team on an open stream (issue 11): a patient added is
// streamed from then on; a patient removed is not any more. Alerts are written by SQL as the
// lifecycle writes them (an alert and its raised event), so only the delivery is under test.
TEST_F(SliceTest, AnOpenSubscriptionFollowsCareTeamChanges) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  const std::string other = "pat-0002";
  ASSERT_NO_FATAL_FAILURE(Enroll(other, "AA:BB:CC:00:00:02", {"dr-bob"}));
  auto raise = [&](const std::string& patient) {
    const std::string id = InsertOpenAlert(patient);
    InsertAlertEvent(id, 1, "{}");
    return id;
  };
  auto care_team = [&](bool add, const std::string& patient) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    grpc::Status s;
    if (add) {
      registry_v1::AddCareTeamMemberRequest req;
      req.set_patient_id(patient);
      req.set_member("dr-alice");
      registry_v1::AddCareTeamMemberResponse resp;
      s = Registry()->AddCareTeamMember(&ctx, req, &resp);
    } else {
      registry_v1::RemoveCareTeamMemberRequest req;
      req.set_patient_id(patient);
      req.set_member("dr-alice");
      registry_v1::RemoveCareTeamMemberResponse resp;
      s = Registry()->RemoveCareTeamMember(&ctx, req, &resp);
    }
    return s;
  };
  auto is_alert = [](const std::string& id) {
    return [id](const alerts_v1::AlertEvent& e) { return e.alert().alert_id() == id; };
  };

  auto alice = Clinician("dr-alice");
  alerts_v1::SubscribeRequest all_mine;  // every patient on her care team
  // Replay from a minute ago: an alert raised while the stream is still being set up arrives too.
  *all_mine.mutable_since() = common::FromUnixMicros(SecondsAgoUs(60));
  AlertWatch watch(*alice, all_mine);
  ASSERT_TRUE(PollUntil(
      [&] {
        return QueryInt(db(),
                        "SELECT count(*) FROM audit_log WHERE actor = 'dr-alice'"
                        " AND action = 'alerts.subscribe' AND outcome = 'allowed'"
                        " AND patient_id = 'pat-0001'") == 1;
      },
      std::chrono::milliseconds(10'000)))
      << "the subscription was not recorded against her one patient";
  const std::string before = raise(other);  // not hers yet
  const std::string mine = raise(kPatient);
  ASSERT_TRUE(watch.WaitFor(is_alert(mine), kAlertWait).has_value());

  ASSERT_TRUE(care_team(true, other).ok());
  const std::string added = raise(other);
  ASSERT_TRUE(watch.WaitFor(is_alert(added), kAlertWait).has_value()) << "a patient added to her care team";

  ASSERT_TRUE(care_team(false, kPatient).ok());
  const std::string removed = raise(kPatient);
  const std::string after = raise(other);  // raised after `removed`: once it is here, so would that be
  ASSERT_TRUE(watch.WaitFor(is_alert(after), kAlertWait).has_value());
  watch.Stop();
  for (const auto& e : watch.events()) {
    EXPECT_NE(e.alert().alert_id(), before) << "an alert of a patient not (yet) on her care team";
    EXPECT_NE(e.alert().alert_id(), removed) << "an alert of a patient removed from her care team";
  }
  // Removing her again is NOT_FOUND; the removal is on the record.
  EXPECT_EQ(care_team(false, kPatient).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'cli-admin'"
                     " AND action = 'registry.remove_care_team_member' AND patient_id = 'pat-0001'"
                     " AND outcome = 'allowed'"),
            2);
}

TEST_F(SliceTest, ClinicianApiAuditsRoleRefusals) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  vitals_v1::QueryVitalsResponse resp;
  grpc::Status s = GetVitals("bridge-001", HeartRateQuery(kPatient, SecondsAgoUs(60), SecondsAgoUs(0), 0), &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'bridge-001' AND role = 'bridge'"
                     " AND action = 'vitals.read' AND outcome = 'denied' AND patient_id = 'pat-0001'"),
            1);
}

TEST_F(SliceTest, AcknowledgeAlertValidatesTheIdAuditsNotFoundAndNamesNoPatient) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  ASSERT_NO_FATAL_FAILURE(Enroll("pat-0002", "AA:BB:CC:00:00:02", {"dr-bob"}));
  auto bob = Clinician("dr-bob");
  auto ack = [&](const std::string& id) {
    grpc::ClientContext ctx;
    SetDeadline(ctx);
    clinician_v1::AcknowledgeAlertRequest req;
    req.set_alert_id(id);
    alerts_v1::Alert resp;
    return bob->AcknowledgeAlert(&ctx, req, &resp);
  };
  grpc::Status malformed = ack("not-a-uuid'; --");
  EXPECT_EQ(malformed.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(malformed.error_message(), "alert_id: not a UUID");

  grpc::Status missing = ack("00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'dr-bob' AND action = 'alert.acknowledge'"
                     " AND outcome = 'not_found'"),
            1);

  // An alert of dr-alice's patient: refused, and the refusal does not say whose it is.
  const std::string alert_id =
      QueryText(db(),
                "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, peak_value,"
                " ucum_unit, duration_s) VALUES ('pat-0001', 'hr_high', 3, 1, 's', now(), 130, '/min', 60)"
                " RETURNING alert_id::text");
  grpc::Status denied = ack(alert_id);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(denied.error_message(), ::testing::Not(HasSubstr("pat-0001")));
}

TEST_F(SliceTest, RegistryRejectsNaNHeightAndAuditsAdministration) {
  auto registry = Registry();
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  registry_v1::CreatePatientRequest req;
  req.mutable_patient()->set_patient_id("pat-0009");
  req.mutable_patient()->set_height_cm(std::nan(""));
  registry_v1::Patient resp;
  grpc::Status s = registry->CreatePatient(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("height_cm"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM patients"), 0);

  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {"dr-alice"}));
  for (const char* action : {"registry.create_patient", "registry.bind_device", "registry.add_care_team_member"}) {
    EXPECT_EQ(QueryInt(db(), std::string("SELECT count(*) FROM audit_log WHERE actor = 'cli-admin' AND outcome = "
                                         "'allowed' AND patient_id = 'pat-0001' AND action = '") +
                                 action + "'"),
              1)
        << action;
  }
}

// The escalation tier (care_team.tier, read by the alerts lifecycle): stored as given, 1 when
// unset; outside 1-9 INVALID_ARGUMENT naming `tier`; a member already there keeps theirs.
grpc::Status AddCareTeamMember(registry_v1::RegistryService::Stub& registry, const std::string& patient,
                               const std::string& member, uint32_t tier) {
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  registry_v1::AddCareTeamMemberRequest req;
  req.set_patient_id(patient);
  req.set_member(member);
  req.set_tier(tier);
  registry_v1::AddCareTeamMemberResponse resp;
  return registry.AddCareTeamMember(&ctx, req, &resp);
}

TEST_F(SliceTest, AddCareTeamMemberStoresTheEscalationTier) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  auto registry = Registry();
  ASSERT_TRUE(AddCareTeamMember(*registry, kPatient, "dr-alice", 0).ok());
  ASSERT_TRUE(AddCareTeamMember(*registry, kPatient, "dr-bob", 2).ok());
  // Added again at another tier: kept as it was (remove and add to change it).
  ASSERT_TRUE(AddCareTeamMember(*registry, kPatient, "dr-bob", 3).ok());

  EXPECT_EQ(QueryInt(db(), "SELECT tier FROM care_team WHERE patient_id = 'pat-0001' AND member = 'dr-alice'"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT tier FROM care_team WHERE patient_id = 'pat-0001' AND member = 'dr-bob'"), 2);
}

TEST_F(SliceTest, AddCareTeamMemberRejectsATierAboveNine) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  grpc::Status s = AddCareTeamMember(*Registry(), kPatient, "dr-bob", 10);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("tier: 10"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM care_team"), 0);
}

TEST_F(SliceTest, BindingNeedsAGateway) {
  ASSERT_NO_FATAL_FAILURE(Enroll(kPatient, kDevice, {}));
  registry_v1::BindDeviceRequest req;
  req.mutable_device()->set_device_id("AA:BB:CC:00:00:31");
  req.mutable_device()->set_kind(registry_v1::DEVICE_KIND_HEART_RATE_STRAP);
  req.set_patient_id(kPatient);
  registry_v1::Device resp;
  grpc::ClientContext ctx;
  SetDeadline(ctx);
  grpc::Status s = Registry()->BindDevice(&ctx, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("gateway_ids"));
}

}  // namespace
}  // namespace healthtwin::testing
