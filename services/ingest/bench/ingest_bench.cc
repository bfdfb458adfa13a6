// healthtwin-ingest-bench: sustained durable ingest throughput and acknowledgement latency of
// the real ingest service, against a raw PostgreSQL COPY of the same rows into the same schema
// measured in the same run on the same private cluster.
//
// It starts a throwaway PostgreSQL cluster, a development PKI and the real healthtwin-ingest
// binary; enrols `--devices` heart-rate straps; then streams `--seconds-of-data` seconds of
// 1 Hz heart rate for every device over `--streams` concurrent mutual-TLS streams, keeping at
// most `--inflight` batches unacknowledged per stream. Throughput counts samples whose
// acknowledgement (durability watermark) has arrived. The baseline COPYs the same rows with
// the same batch size, one transaction per batch, over the same number of connections.
//
// With --status-every-s N, every device also sends a device status (battery, sensor contact,
// connection) every N seconds of data, in the same batches and sequence space as its samples, so
// the cost of device status on the sample path shows (the COPY baseline copies samples only).
//
// The last line printed is one JSON object:
//   {"samples_per_s":..., "p50_ack_ms":..., "p99_ack_ms":..., "copy_rows_per_s":..., "ratio":...,
//    "statuses":...}
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>
#include <grpcpp/grpcpp.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <pqxx/tablewriter>

#include "grpc/health/v1/health.grpc.pb.h"
#include "healthtwin/vitals/v1/vitals.grpc.pb.h"
#include "services/common/db/migrator.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/subprocess.h"

namespace {

using namespace healthtwin;
namespace v1 = healthtwin::vitals::v1;
using Clock = std::chrono::steady_clock;

struct Options {
  int streams = 4;
  int devices = 2000;
  int seconds_of_data = 300;
  int batch = 1000;
  int inflight = 2;
  int status_every_s = 0;  // 0: samples only
  std::string ingest_bin;
  std::string pki_script;
};

[[noreturn]] void Die(const std::string& what) {
  std::cerr << "healthtwin-ingest-bench: " << what << "\n";
  std::exit(1);
}

template <typename T>
T Check(absl::StatusOr<T> v, const std::string& what) {
  if (!v.ok()) Die(what + ": " + std::string(v.status().message()));
  return *std::move(v);
}

std::string DeviceId(int d) { return "bench-hr-" + std::to_string(d); }

// Deterministic plausible heart rate for device d at second s.
double HeartRate(int d, int s) { return 60 + ((d * 7919 + s * 104729) % 41); }

// Samples for stream `k`: devices k, k+K, k+2K, ... interleaved by second, so each batch is
// one second of many devices, as a gateway fleet would send.
std::vector<v1::SampleBatch> BuildBatches(const Options& o, int k, int64_t base_us) {
  std::vector<v1::SampleBatch> out;
  v1::SampleBatch batch;
  uint64_t seq = 0;
  for (int s = 0; s < o.seconds_of_data; ++s) {
    for (int d = k; d < o.devices; d += o.streams) {
      auto* x = batch.add_samples();
      x->set_sender_seq(++seq);
      x->set_device_id(DeviceId(d));
      x->set_type(v1::VITAL_TYPE_HEART_RATE);
      x->set_value(HeartRate(d, s));
      x->set_ucum_unit("/min");
      *x->mutable_measured_at() = common::FromUnixMicros(base_us + s * 1'000'000LL);
      *x->mutable_received_at() = common::FromUnixMicros(base_us + s * 1'000'000LL + 200'000);
      if (o.status_every_s > 0 && (s + 1) % o.status_every_s == 0) {
        auto* st = batch.add_statuses();
        st->set_sender_seq(++seq);
        st->set_device_id(DeviceId(d));
        *st->mutable_observed_at() = common::FromUnixMicros(base_us + s * 1'000'000LL + 300'000);
        st->set_battery_percent(100 - (s / o.status_every_s) % 100);
        st->set_sensor_contact((s / o.status_every_s) % 2 == 0 ? v1::SENSOR_CONTACT_DETECTED
                                                               : v1::SENSOR_CONTACT_NOT_DETECTED);
        st->set_connection(v1::CONNECTION_STATE_CONNECTED);
        *st->mutable_connection_changed_at() = common::FromUnixMicros(base_us);
      }
      if (batch.samples_size() == o.batch) {
        out.push_back(std::move(batch));
        batch = {};
      }
    }
  }
  if (batch.samples_size() > 0) out.push_back(std::move(batch));
  return out;
}

void Enrol(const std::string& conninfo, int devices) {
  pqxx::connection c(conninfo);
  pqxx::work tx(c);
  tx.exec_params(
      "INSERT INTO patients (patient_id) SELECT 'bench-' || g FROM generate_series(0, $1 - 1) g", devices);
  tx.exec_params(
      "INSERT INTO devices (device_id, kind, patient_id, bound_at)"
      " SELECT 'bench-hr-' || g, 1, 'bench-' || g, now() - interval '1 day' FROM generate_series(0, $1 - 1) g",
      devices);
  tx.exec("INSERT INTO device_gateways (device_id, bridge_id) SELECT device_id, 'bridge-001' FROM devices");
  tx.commit();
}

// The physical baseline: the same rows COPYed straight into vitals, same batches, one
// transaction (one durable commit) per batch, one connection per stream.
double RunCopyBaseline(const Options& o, const std::string& conninfo,
                       const std::vector<std::vector<v1::SampleBatch>>& per_stream) {
  std::vector<std::thread> threads;
  std::atomic<int64_t> rows{0};
  const auto start = Clock::now();
  for (int k = 0; k < o.streams; ++k) {
    threads.emplace_back([&, k] {
      pqxx::connection c(conninfo);
      std::string line;
      for (const auto& batch : per_stream[k]) {
        pqxx::work tx(c);
        {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
          static const std::vector<std::string> kColumns = {
              "patient_id", "device_id", "vital_type", "value", "ucum_unit", "measured_at", "received_at",
              "device_record_seq", "flags", "bridge_id"};
          pqxx::tablewriter w(tx, "vitals", kColumns.begin(), kColumns.end());
#pragma GCC diagnostic pop
          for (const auto& s : batch.samples()) {
            line = "bench-" + s.device_id().substr(9) + '\t' + s.device_id() + "\t1\t" +
                   std::to_string(static_cast<int>(s.value())) + "\t/min\t" +
                   common::FormatTimestamp(s.measured_at()) + '\t' +
                   common::FormatTimestamp(s.received_at()) + "\t0\t0\tbridge-001";
            w.write_raw_line(line);
          }
          w.complete();
        }
        tx.commit();
        rows += batch.samples_size();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  return static_cast<double>(rows.load()) / secs;
}

struct StreamResult {
  int64_t acked = 0;
  int64_t statuses_acked = 0;
  std::vector<double> latencies_ms;
  grpc::Status status;
};

StreamResult RunStream(const Options& o, const std::string& address, const common::TlsFiles& tls, int k,
                       const std::vector<v1::SampleBatch>& batches) {
  // A channel per stream: separate HTTP/2 connections, as separate gateways would have.
  grpc::ChannelArguments args;
  args.SetInt("healthtwin.bench_stream", k);
  auto channel = Check(common::MakePeerChannel(address, tls, "ingest", args), "client channel");
  auto stub = v1::IngestService::NewStub(channel);
  grpc::ClientContext ctx;
  auto stream = stub->StreamSamples(&ctx);

  StreamResult result;
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, Clock::time_point> sent;  // last sender_seq of each batch -> send time
  uint64_t watermark = 0;
  std::thread reader([&] {
    v1::Ack ack;
    while (stream->Read(&ack)) {
      const auto now = Clock::now();
      std::lock_guard lock(mu);
      watermark = ack.durable_through_seq();
      for (auto it = sent.begin(); it != sent.end() && it->first <= watermark; it = sent.erase(it)) {
        result.latencies_ms.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
      }
      result.acked += ack.stored_count() + ack.duplicate_count() + ack.quarantined_count();
      result.statuses_acked += ack.status_stored_count() + ack.status_duplicate_count();
      cv.notify_all();
    }
  });
  for (const auto& batch : batches) {
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return static_cast<int>(sent.size()) < o.inflight; });
      uint64_t last = batch.samples(batch.samples_size() - 1).sender_seq();
      if (batch.statuses_size() > 0) last = std::max(last, batch.statuses(batch.statuses_size() - 1).sender_seq());
      sent[last] = Clock::now();
    }
    if (!stream->Write(batch)) break;
  }
  {
    std::unique_lock lock(mu);
    cv.wait_for(lock, std::chrono::seconds(120), [&] { return sent.empty(); });
  }
  stream->WritesDone();
  reader.join();
  result.status = stream->Finish();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app("Ingest throughput benchmark against a raw COPY baseline", "healthtwin-ingest-bench");
  app.add_option("--streams", o.streams, "concurrent bridge streams")->check(CLI::Range(1, 64));
  app.add_option("--devices", o.devices, "heart-rate straps (one patient each)")->check(CLI::Range(1, 1'000'000));
  app.add_option("--seconds-of-data", o.seconds_of_data, "seconds of 1 Hz data per device")->check(CLI::Range(1, 86400));
  app.add_option("--batch", o.batch, "samples per batch")->check(CLI::Range(1, 10000));
  app.add_option("--inflight", o.inflight, "unacknowledged batches per stream")->check(CLI::Range(1, 64));
  app.add_option("--status-every-s", o.status_every_s, "a device status per device every N s of data (0: none)")
      ->check(CLI::Range(0, 86400));
  app.add_option("--ingest-bin", o.ingest_bin, "healthtwin-ingest binary")->required()->check(CLI::ExistingFile);
  app.add_option("--pki-script", o.pki_script, "deploy/pki/make-dev-pki.sh")->required()->check(CLI::ExistingFile);
  CLI11_PARSE(app, argc, argv);

  auto cluster = Check(testing::PgCluster::Start(), "start PostgreSQL");
  for (const char* db : {"ingest_bench", "copy_baseline"}) {
    Enrol(Check(testing::CreateMigratedDatabase(*cluster, db), "create database"), o.devices);
  }
  const std::string work = cluster->dir() + "-bench";
  std::filesystem::create_directories(work);
  if (auto s = testing::MakeDevPki(o.pki_script, work + "/pki"); !s.ok()) Die(std::string(s.message()));

  const int64_t base_us = (common::NowUnixMicros() / 1'000'000 - o.seconds_of_data - 3600) * 1'000'000;
  std::vector<std::vector<v1::SampleBatch>> per_stream;
  int64_t total = 0, total_statuses = 0;
  for (int k = 0; k < o.streams; ++k) {
    per_stream.push_back(BuildBatches(o, k, base_us));
    for (const auto& b : per_stream.back()) {
      total += b.samples_size();
      total_statuses += b.statuses_size();
    }
  }
  std::cerr << "samples: " << total << " (" << o.devices << " devices x " << o.seconds_of_data << " s), "
            << o.streams << " streams, batch " << o.batch << ", inflight " << o.inflight << "\n";

  const double copy_rows_per_s = RunCopyBaseline(o, cluster->ConnInfo("copy_baseline"), per_stream);
  std::cerr << "raw COPY baseline: " << static_cast<int64_t>(copy_rows_per_s) << " rows/s\n";

  auto started = Check(testing::StartIngestProcess(o.ingest_bin, work + "/pki", cluster->ConnInfo("ingest_bench"),
                                                   work, {"--log-level", "warn"}),
                       "start ingest");
  auto ingest = std::move(started.process);
  const std::string address = started.address;
  const common::TlsFiles bridge{work + "/pki/ca.pem", work + "/pki/bridge-001.pem", work + "/pki/bridge-001.key"};
  {
    auto health =
        grpc::health::v1::Health::NewStub(Check(common::MakePeerChannel(address, bridge, "ingest"), "channel"));
    const bool serving = testing::PollUntil(
        [&] {
          grpc::ClientContext ctx;
          ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(1));
          grpc::health::v1::HealthCheckResponse resp;
          return health->Check(&ctx, {}, &resp).ok() &&
                 resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
        },
        std::chrono::seconds(30));
    if (!serving) Die("ingest never reported SERVING: " + ingest->Stderr());
  }

  std::vector<StreamResult> results(o.streams);
  std::vector<std::thread> threads;
  const auto start = Clock::now();
  for (int k = 0; k < o.streams; ++k) {
    threads.emplace_back([&, k] { results[k] = RunStream(o, address, bridge, k, per_stream[k]); });
  }
  for (auto& t : threads) t.join();
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();

  int64_t acked = 0, statuses_acked = 0;
  std::vector<double> lat;
  for (const auto& r : results) {
    if (!r.status.ok()) Die("stream failed: " + r.status.error_message());
    acked += r.acked;
    statuses_acked += r.statuses_acked;
    lat.insert(lat.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) { return lat.empty() ? 0.0 : lat[std::min(lat.size() - 1, static_cast<size_t>(p * lat.size()))]; };
  int64_t stored = 0, statuses_stored = 0;
  {
    pqxx::connection c(cluster->ConnInfo("ingest_bench"));
    pqxx::nontransaction tx(c);
    stored = tx.exec("SELECT count(*) FROM vitals")[0][0].as<int64_t>();
    statuses_stored = tx.exec("SELECT count(*) FROM device_status_history")[0][0].as<int64_t>();
  }
  if (statuses_acked != total_statuses || statuses_stored != total_statuses) {
    Die("acknowledged " + std::to_string(statuses_acked) + " and stored " + std::to_string(statuses_stored) + " of " +
        std::to_string(total_statuses) + " device statuses");
  }
  if (acked != total || stored != total) {
    Die("acknowledged " + std::to_string(acked) + " and stored " + std::to_string(stored) + " of " +
        std::to_string(total) + " samples");
  }
  (void)ingest->Signal(SIGTERM);
  (void)ingest->Wait(std::chrono::seconds(15));
  std::filesystem::remove_all(work);

  const double samples_per_s = static_cast<double>(acked) / secs;
  std::cerr << "ingest: " << static_cast<int64_t>(samples_per_s) << " durable samples/s over " << secs
            << " s; ack latency p50 " << pct(0.5) << " ms, p99 " << pct(0.99) << " ms; all " << stored
            << " rows verified in PostgreSQL\n";
  std::cout << nlohmann::json{{"samples_per_s", std::round(samples_per_s)},
                              {"p50_ack_ms", std::round(pct(0.5) * 10) / 10},
                              {"p99_ack_ms", std::round(pct(0.99) * 10) / 10},
                              {"copy_rows_per_s", std::round(copy_rows_per_s)},
                              {"ratio", std::round(samples_per_s / copy_rows_per_s * 1000) / 1000},
                              {"statuses", statuses_stored}}
                   .dump()
            << std::endl;
  return 0;
}
