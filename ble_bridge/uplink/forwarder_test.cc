#include "ble_bridge/uplink/forwarder.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "ble_bridge/uplink/fake_ingest.h"
#include "gtest/gtest.h"

namespace healthtwin::ble {
namespace {

using namespace std::chrono_literals;
using testing::FakeIngest;

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ht-forwarder-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto outbox = Outbox::Open(dir_ + "/outbox.db");
    ASSERT_TRUE(outbox.ok()) << outbox.status();
    outbox_ = *std::move(outbox);
  }
  void TearDown() override {
    outbox_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Fill(int n, const std::string& device = "dev-a", double value = 70) {
    std::vector<Measurement> batch;
    for (int i = 0; i < n; ++i) {
      const int64_t t = (next_t_s_++) * 1'000'000;
      batch.push_back({device, common::VitalType::kHeartRate, value, "/min", t, t + 1000, 0});
    }
    ASSERT_TRUE(outbox_->Append(batch).ok());
  }

  static ForwarderOptions Fast() {
    return {.batch_size = 50, .initial_backoff = 1ms, .max_backoff = 4ms, .idle_poll = 1ms, .jitter_seed = 7};
  }

  bool DrainWithin(Forwarder& f, std::chrono::milliseconds limit) {
    StopSignal stop;
    std::thread timer([&] {
      if (!stop.WaitFor(limit)) stop.Stop();
    });
    const bool drained = f.Drain(stop);
    stop.Stop();
    timer.join();
    return drained;
  }

  std::string dir_;
  std::unique_ptr<Outbox> outbox_;
  int64_t next_t_s_ = 1'700'000'000;
};

TEST_F(ForwarderTest, DeliversEveryRowAndEmptiesTheOutbox) {
  Fill(180);
  FakeIngest ingest;
  Forwarder f(*outbox_, ingest, Fast());
  StopSignal stop;
  ASSERT_TRUE(f.Drain(stop));
  EXPECT_EQ(ingest.stored_count(), 180u);
  EXPECT_EQ(outbox_->Stats().rows, 0);
  EXPECT_EQ(f.Stats().acked_total, 180u);
  EXPECT_EQ(ingest.batches, 4);  // 50 + 50 + 50 + 30
  EXPECT_EQ(ingest.contract_violations, 0u);
  EXPECT_TRUE(ingest.heartbeats.empty());  // no heartbeat_interval, no heartbeat
}

TEST_F(ForwarderTest, KeepsRowsThroughAnOutageThenDeliversExactlyOnce) {
  Fill(120);
  FakeIngest ingest;
  ingest.fail_opens = 25;
  Forwarder f(*outbox_, ingest, Fast());
  ASSERT_TRUE(DrainWithin(f, 10s));
  EXPECT_EQ(ingest.stored_count(), 120u);
  EXPECT_EQ(ingest.duplicates, 0u);
  EXPECT_EQ(f.Stats().stream_failures_total, 25u);
  EXPECT_EQ(outbox_->Stats().rows, 0);
}

TEST_F(ForwarderTest, LostAckResendsOnANewStreamAndIngestDeduplicates) {
  Fill(120);
  FakeIngest ingest;
  ingest.lose_ack_of_batch = 1;
  Forwarder f(*outbox_, ingest, Fast());
  ASSERT_TRUE(DrainWithin(f, 10s));
  EXPECT_EQ(ingest.stored_count(), 120u);
  EXPECT_EQ(ingest.duplicates, 50u);  // the second batch, stored but not acknowledged, came again
  EXPECT_EQ(f.Stats().duplicate_total, 50u);
  EXPECT_EQ(ingest.opens, 2);
  EXPECT_EQ(ingest.contract_violations, 0u);
  EXPECT_EQ(outbox_->Stats().rows, 0);
}

TEST_F(ForwarderTest, RowsStayUntilAcknowledged) {
  Fill(120);
  FakeIngest ingest;
  ingest.lose_ack_of_batch = 0;
  ForwarderOptions slow = Fast();
  slow.initial_backoff = 10s;  // no second session before the stop
  Forwarder f(*outbox_, ingest, slow);
  StopSignal stop;
  // First session: the first ack is lost, so nothing may be deleted yet.
  std::thread stopper([&] {
    while (true) {
      {
        std::lock_guard lock(ingest.mu);
        if (ingest.batches >= 1) break;
      }
      std::this_thread::sleep_for(1ms);
    }
    stop.Stop();
  });
  f.Run(stop);
  stopper.join();
  EXPECT_EQ(outbox_->Stats().rows, 120);
  EXPECT_EQ(f.Stats().acked_total, 0u);
}

TEST_F(ForwarderTest, RejectedRowIsRemovedAndCounted) {
  Fill(10);
  Fill(1, "dev-a", 900);  // implausible: ingest rejects it
  Fill(10);
  FakeIngest ingest;
  Forwarder f(*outbox_, ingest, Fast());
  StopSignal stop;
  ASSERT_TRUE(f.Drain(stop));
  EXPECT_EQ(ingest.stored_count(), 20u);
  EXPECT_EQ(f.Stats().rejected_total, 1u);
  EXPECT_EQ(f.Stats().acked_total, 21u);
  EXPECT_EQ(outbox_->Stats().rows, 0);
}

TEST_F(ForwarderTest, PartialAckDeletesOnlyCoveredRowsAndResendsTheRest) {
  Fill(100);
  FakeIngest ingest;
  ingest.partial_ack_of_batch = 0;  // acknowledges 25 of the first 50
  Forwarder f(*outbox_, ingest, Fast());
  ASSERT_TRUE(DrainWithin(f, 10s));
  EXPECT_EQ(ingest.stored_count(), 100u);
  EXPECT_EQ(ingest.duplicates, 0u);
  EXPECT_EQ(f.Stats().stream_failures_total, 1u);
  EXPECT_EQ(ingest.contract_violations, 0u);
}

TEST_F(ForwarderTest, ForwardsRowsAppendedWhileRunning) {
  FakeIngest ingest;
  Forwarder f(*outbox_, ingest, Fast());
  StopSignal stop;
  std::thread runner([&] { f.Run(stop); });
  for (int i = 0; i < 5; ++i) {
    Fill(7);
    std::this_thread::sleep_for(2ms);
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ingest.stored_count() < 35u && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  stop.Stop();
  runner.join();
  EXPECT_EQ(ingest.stored_count(), 35u);
  EXPECT_EQ(ingest.contract_violations, 0u);
}

TEST_F(ForwarderTest, StopEndsAnEndlessOutagePromptly) {
  Fill(5);
  FakeIngest ingest;
  ingest.fail_opens = 1'000'000;
  ForwarderOptions slow = Fast();
  slow.initial_backoff = 10s;
  slow.max_backoff = 10s;
  Forwarder f(*outbox_, ingest, slow);
  StopSignal stop;
  std::thread runner([&] { f.Run(stop); });
  // The first attempt has failed, so the forwarder is in (or entering) its 10 s backoff.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (f.Stats().stream_failures_total < 1 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(f.Stats().stream_failures_total, 1u);
  const auto t0 = std::chrono::steady_clock::now();
  stop.Stop();
  runner.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_EQ(ingest.opens, 1);           // stopped during the backoff, not before the first attempt
  EXPECT_EQ(outbox_->Stats().rows, 5);  // kept, not given up on
}

// Answers from a map the test can change: device -> patient ("" unbound); absent: NotFound.
class FakeRegistry final : public DeviceRegistry {
 public:
  absl::StatusOr<bool> MayForward(const std::string& device_id) override {
    std::lock_guard lock(mu);
    ++calls;
    if (down || calls <= fail_first) return absl::UnavailableError("registry down");
    auto it = patients.find(device_id);
    if (it == patients.end()) return absl::NotFoundError("device " + device_id + " does not exist");
    return !it->second.empty();
  }
  std::mutex mu;
  std::map<std::string, std::string> patients;
  bool down = false;
  int fail_first = 0;  // the first this many questions fail
  int calls = 0;
};

int64_t SteadyNowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

TEST_F(ForwarderTest, HoldsUnboundDevicesAndForwardsThemOnceBound) {
  FakeRegistry registry;
  registry.patients = {{"dev-a", "pat-1"}, {"dev-b", ""}};
  BindingCache bindings(registry, 20ms, SteadyNowUs);
  Fill(30, "dev-a");
  Fill(20, "dev-b");
  Fill(10, "dev-c");  // not enrolled at all
  FakeIngest ingest;
  Forwarder f(*outbox_, ingest, Fast(), &bindings);
  StopSignal stop;
  ASSERT_TRUE(f.Drain(stop));
  EXPECT_EQ(ingest.stored_count(), 30u);
  EXPECT_EQ(ingest.devices_seen, std::set<std::string>{"dev-a"});
  EXPECT_EQ(outbox_->Stats().rows, 30);  // held, not lost
  auto unbound = bindings.Unbound();
  ASSERT_EQ(unbound.size(), 2u);
  EXPECT_EQ(unbound[0].device_id, "dev-b");
  EXPECT_TRUE(unbound[0].known_to_registry);
  EXPECT_EQ(unbound[1].device_id, "dev-c");
  EXPECT_FALSE(unbound[1].known_to_registry);

  // dev-b is bound: a running forwarder renews its session and sends the held rows.
  std::thread runner([&] { f.Run(stop); });
  {
    std::lock_guard lock(registry.mu);
    registry.patients["dev-b"] = "pat-2";
  }
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ingest.stored_count() < 50u && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  stop.Stop();
  runner.join();
  EXPECT_EQ(ingest.stored_count(), 50u);
  EXPECT_EQ(outbox_->Stats().rows, 10);  // dev-c still waits for enrollment
  EXPECT_EQ(ingest.contract_violations, 0u);
}

// The registry's first answer for a device is an error (held), its next "bound": the rows held
// must not be overtaken by the device's later rows in the same session. Seen in the hour's
// chaos soak, where the twin then refused the older readings.
TEST_F(ForwarderTest, ADeviceHeldInASessionHasItsLaterRowsHeldTooSoTheyArriveInOrder) {
  FakeRegistry registry;
  registry.patients = {{"dev-a", "pat-1"}};
  registry.fail_first = 1;
  BindingCache bindings(registry, 20ms, SteadyNowUs);
  Fill(100, "dev-a");  // two batches of 50
  FakeIngest ingest;
  Forwarder f(*outbox_, ingest, Fast(), &bindings);
  StopSignal stop;
  std::thread runner([&] { f.Run(stop); });
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (ingest.stored_count() < 100u && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  stop.Stop();
  runner.join();
  ASSERT_EQ(ingest.stored_count(), 100u);
  std::lock_guard lock(ingest.mu);
  EXPECT_TRUE(std::is_sorted(ingest.arrival.begin(), ingest.arrival.end(), [](const auto& a, const auto& b) {
    return std::get<2>(a) < std::get<2>(b);
  })) << "a device's readings arrived out of order";
  EXPECT_GE(registry.calls, 2) << "the first answer was the error";
}

DeviceStatusRecord Contact(const std::string& device, int64_t t_us, SensorContact contact) {
  return {device, t_us, 55, contact, true, t_us - 1'000'000, std::nullopt};
}

TEST_F(ForwarderTest, StatusesInterleavedWithSamplesAreDeliveredExactlyOnceAcrossALostAck) {
  // 60 samples, 10 statuses in between, 60 samples: batches of 50 mix both kinds.
  Fill(60);
  for (int i = 0; i < 10; ++i) {
    const auto contact = i % 2 == 0 ? SensorContact::kNotDetected : SensorContact::kDetected;
    ASSERT_TRUE(outbox_->AppendStatus(Contact("dev-a", 1'800'000'000'000'000 + i, contact)).ok());
  }
  Fill(60);
  FakeIngest ingest;
  ingest.lose_ack_of_batch = 1;  // rows 51..100, statuses among them
  Forwarder f(*outbox_, ingest, Fast());
  ASSERT_TRUE(DrainWithin(f, 10s));
  EXPECT_EQ(ingest.stored_count(), 120u);
  EXPECT_EQ(ingest.statuses.size(), 10u);
  EXPECT_EQ(ingest.duplicates, 50u);  // the resent batch: 40 samples and 10 statuses
  EXPECT_EQ(ingest.contract_violations, 0u);
  EXPECT_EQ(outbox_->Stats().rows, 0);
  EXPECT_EQ(ingest.statuses.begin()->second.sensor_contact, SensorContact::kNotDetected);
  EXPECT_EQ(ingest.statuses.begin()->second.battery_percent, 55);
}

TEST_F(ForwarderTest, HoldsTheStatusesOfAnUnboundDeviceLikeItsSamples) {
  FakeRegistry registry;
  registry.patients = {{"dev-a", "pat-1"}, {"dev-b", ""}};
  BindingCache bindings(registry, 1h, SteadyNowUs);
  ASSERT_TRUE(outbox_->AppendStatus(Contact("dev-a", 1'800'000'000'000'000, SensorContact::kDetected)).ok());
  ASSERT_TRUE(outbox_->AppendStatus(Contact("dev-b", 1'800'000'000'000'000, SensorContact::kDetected)).ok());
  FakeIngest ingest;
  Forwarder f(*outbox_, ingest, Fast(), &bindings);
  StopSignal stop;
  ASSERT_TRUE(f.Drain(stop));
  ASSERT_EQ(ingest.statuses.size(), 1u);
  EXPECT_EQ(ingest.statuses.begin()->first.first, "dev-a");
  EXPECT_EQ(outbox_->Stats().rows, 1);
}

TEST_F(ForwarderTest, SendsAHeartbeatWhenTheStreamOpensAndThenEveryIntervalWithTheOutboxDepth) {
  FakeRegistry registry;
  registry.patients = {{"dev-b", ""}};
  BindingCache bindings(registry, 1h, SteadyNowUs);
  Fill(3, "dev-b");  // held: the depth the heartbeat reports
  FakeIngest ingest;
  ForwarderOptions options = Fast();
  options.heartbeat_interval = 50ms;
  options.bridge_version = "9.9.9";
  options.now_unix_us = [] { return int64_t{1'800'000'000'000'000}; };
  Forwarder f(*outbox_, ingest, options, &bindings);
  StopSignal stop;
  std::thread runner([&] { f.Run(stop); });
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(520ms);
  stop.Stop();
  runner.join();
  const auto elapsed = std::chrono::steady_clock::now() - t0;
  std::lock_guard lock(ingest.mu);
  ASSERT_GE(ingest.heartbeats.size(), 2u);
  // One at the start, then one per 50 ms at most: never more often than the interval.
  EXPECT_LE(ingest.heartbeats.size(), static_cast<std::size_t>(elapsed / 50ms) + 1);
  EXPECT_GE(ingest.heartbeats.size(), 3u);  // and not much less often (idle polls every 1 ms)
  EXPECT_EQ(ingest.heartbeats.front().outbox_depth, 3);
  EXPECT_EQ(ingest.heartbeats.front().bridge_version, "9.9.9");
  EXPECT_EQ(ingest.heartbeats.front().observed_at_unix_us, 1'800'000'000'000'000);
  EXPECT_EQ(ingest.opens, 1);
  EXPECT_EQ(ingest.contract_violations, 0u);
  EXPECT_EQ(outbox_->Stats().rows, 3);  // a heartbeat's ack deletes nothing
  EXPECT_EQ(f.Stats().heartbeats_total, ingest.heartbeats.size());
}

}  // namespace
}  // namespace healthtwin::ble
