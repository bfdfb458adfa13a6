// healthtwin-feeds-bench (issue 12 item 6; not a test): vitals ORU^R01 and alert ORU^R40 from
// PostgreSQL to a real HL7 v2 receiver, and the same load as FHIR R4 rest-hook notification
// Bundles to an HTTPS receiver, at a sustained rate, ending with one JSON line.
//
// What runs: a private PostgreSQL (tests/harness), the real feed worker IN-PROCESS (FeedWorker
// with the real Hl7Encoder and MLLP transport, its NOTIFY listener and its loop: everything of
// `healthtwin-feeds` but the gRPC health server and flags), and the real python3-hl7 MLLP peer
// (tests/peers/hl7_mllp_peer.py, answering AA, printing one line per message; "lightpeer" phases
// run it with --light, which hl7.parses only the MSH: a full hl7.parse of a 100-OBX ORU^R01
// costs 6-12 ms of python CPU, so the full peer caps one connection below the target). The bench writes
// vitals (as ingest does: rows plus NOTIFY vitals_new) at --samples-per-s and alert events (as
// the alerts lifecycle does: the alert_events advisory lock, rows, NOTIFY alerts_new) at
// --alerts-per-s, for --seconds, then lets the feed drain for at most --drain-s.
//
// Phases, each on a fresh database of the same cluster:
//   instant-both  the load through a transport that acknowledges at once (the baseline:
//                 database, encoder and loop without any network or receiver);
//   peer-vitals, peer-alerts, peer-both  to the python peer, every message hl7.parse'd;
//   lightpeer-vitals, lightpeer-alerts, lightpeer-both  to the peer in --light mode;
//   fhirinstant-LOAD  the FHIR encoder (Backport notification Bundles, fhir_feed.h) through the
//                 instant transport (what encoding costs against instant-LOAD);
//   https-LOAD    the fhir-rest-hook feed end to end: FhirEncoder and the real HTTPS transport
//                 (MakeFhirTransport, mutual TLS with the dev PKI of deploy/pki/make-dev-pki.sh,
//                 keep-alive) into a light HTTPS receiver in this process
//                 (bench/light_https_receiver.h: cpp-httplib, answers 200 after a cheap check).
// HL7 and FHIR phases run in the same invocation, so their ratio is a same-load comparison on a
// shared machine (--kind only picks the default phases).
// Figures: delivered samples/s over the whole window and over its second half (steady state),
// the backlog (samples written but not yet ACKed) when the writers stop, the time to drain it,
// and alert latency = delivered_at (the ACK recorded, the outbox row's commit) minus the
// alert_events row's created_at (its transaction's start, microseconds before its commit),
// p50/p99/max. The peer's CPU seconds per phase say whether python is the bottleneck.
//
//   healthtwin-feeds-bench [--seconds 30] [--samples-per-s 20000] [--alerts-per-s 50]
//                          [--patients 20] [--phases instant-both,peer-vitals,lightpeer-vitals,...]
//                          [--kind hl7v2-mllp|fhir-rest-hook]
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "services/common/pg.h"
#include "services/feeds/bench/light_https_receiver.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/fhir_feed.h"
#include "services/feeds/hl7_feed.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"
#include "tests/harness/subprocess.h"

namespace {

using namespace healthtwin;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

struct Load {
  int seconds = 30;
  int samples_per_s = 20000;
  int alerts_per_s = 50;
  int patients = 20;
  int drain_s = 60;
  int samples_per_message = feeds::EnqueueOptions{}.max_samples_per_message;  // the service's default
};

class AckAll : public feeds::Transport {
 public:
  feeds::SendResult Send(const std::string&, const std::string& id) override {
    return {feeds::SendResult::Outcome::kDelivered, "", "MSA|AA|" + id};
  }
};

// Writes at a fixed rate in ticks of 50 ms; a late tick writes what is due, so the rate holds
// on average. Returns rows written.
class Writer {
 public:
  Writer(std::string conninfo, std::function<int64_t(pqxx::work&, int64_t first, int n)> write, double per_s,
         std::chrono::milliseconds tick)
      : conninfo_(std::move(conninfo)), write_(std::move(write)), per_s_(per_s), tick_(tick) {}
  void Start() {
    if (per_s_ <= 0) return;
    thread_ = std::thread([this] { Run(); });
  }
  int64_t StopAndCount() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return written_;
  }

 private:
  void Run() {
    pqxx::connection c(conninfo_);
    const auto start = Clock::now();
    for (auto next = start; !stop_; next += tick_) {
      std::this_thread::sleep_until(next);
      const double elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
      const int due = static_cast<int>(elapsed_s * per_s_) - static_cast<int>(written_);
      if (due <= 0) continue;
      pqxx::work tx(c);
      written_ += write_(tx, written_, due);
      tx.commit();
    }
  }
  const std::string conninfo_;
  const std::function<int64_t(pqxx::work&, int64_t, int)> write_;
  const double per_s_;
  const std::chrono::milliseconds tick_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> written_{0};
  std::thread thread_;
};

int64_t VitalsRows(pqxx::work& tx, int64_t first, int n, int patients) {
  // As ingest: the transaction has its id before it takes an ingest_seq (common::GapTracker).
  tx.exec("SELECT txid_current()");
  tx.exec_params(
      "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
      " bridge_id) SELECT 'p' || (1 + g % $3), 'd' || (1 + g % $3), 1, 60 + g % 40, '/min', now(), g, 'bench'"
      " FROM generate_series($1::bigint, $1::bigint + $2 - 1) g",
      first, n, patients);
  tx.exec("SELECT pg_notify('vitals_new', '')");
  return n;
}

int64_t AlertRows(pqxx::work& tx, int64_t first, int n, int patients) {
  // As services/alerts/lifecycle/pg_store.cc: writers of alert_events serialise on this lock.
  tx.exec("SELECT pg_advisory_xact_lock(7468657274)");
  tx.exec_params(
      "INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary, condition_started_at,"
      " peak_value, ucum_unit, duration_s) SELECT md5('bench-' || g)::uuid, 'p' || (1 + g % $3), 'hr_high', 3, 1,"
      " 'HR 130 /min', now(), 130, '/min', 60 FROM generate_series($1::bigint, $1::bigint + $2 - 1) g",
      first, n, patients);
  tx.exec_params(
      "INSERT INTO alert_events (alert_id, kind) SELECT md5('bench-' || g)::uuid, 1"
      " FROM generate_series($1::bigint, $1::bigint + $2 - 1) g ORDER BY g",
      first, n);
  tx.exec("SELECT pg_notify('alerts_new', '')");
  return n;
}

double CpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ');
  // Fields 14 and 15 of /proc/PID/stat (utime, stime), here 11 and 12 after the name.
  if (f.size() < 13) return 0;
  return (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  return v[i];
}

struct Phase {
  std::string name;
  bool peer = false;   // a network receiver (the python peer, or the HTTPS receiver when fhir)
  bool light = false;  // the peer's --light mode (hl7.parse of MSH only)
  bool fhir = false;   // fhir-rest-hook (FhirEncoder; HTTPS transport when peer)
  bool vitals = false;
  bool alerts = false;
};

// The FHIR side of a run: the receiver and the dev PKI the feed and the receiver use.
struct FhirSetup {
  std::string pki_dir;  // ca.pem, feeds.pem/key (our client identity), alerts.pem/key (the receiver)
  feeds::bench::LightHttpsReceiver* receiver = nullptr;
};

absl::StatusOr<nlohmann::json> RunPhase(testing::PgCluster& cluster, const Phase& phase, const Load& load,
                                        int peer_port, pid_t peer_pid, int index, const FhirSetup& fhir) {
  auto su = testing::CreateMigratedDatabase(cluster, absl::StrCat("bench", index));
  if (!su.ok()) return su.status();
  const std::string feeds_conninfo = testing::ServiceConnInfo(*su, "feeds");
  testing::ExecSql(*su, absl::StrCat("INSERT INTO patients (patient_id) SELECT 'p' || g FROM generate_series(1, ",
                                     load.patients, ") g"));
  if (!phase.fhir) {
    testing::ExecSql(*su, absl::StrCat("INSERT INTO feeds (name, kind, target, tls, send_alerts, send_vitals,"
                                       " created_by, updated_by) VALUES ('bench', 'hl7v2-mllp', '127.0.0.1:",
                                       peer_port, "', false, true, true, 'bench', 'bench')"));
  } else {
    // As a hospital's rest-hook endpoint: https, its CA, our client certificate ("alerts" is the
    // receiver certificate's name, mapped to 127.0.0.1 in the transport).
    const int port = fhir.receiver != nullptr ? fhir.receiver->port() : 1;
    testing::ExecSql(
        *su, absl::StrCat("INSERT INTO feeds (name, kind, target, tls, tls_ca_pem, tls_client_cert,"
                          " send_alerts, send_vitals, created_by, updated_by) VALUES ('bench',"
                          " 'fhir-rest-hook', 'https://alerts:",
                          port, "/fhir/notify', true, $pem$", testing::ReadFileOrEmpty(fhir.pki_dir + "/ca.pem"),
                          "$pem$, true, true, true, 'bench', 'bench')"));
  }
  const int64_t bundles_before = fhir.receiver != nullptr ? fhir.receiver->bundles() : 0;
  const int64_t bytes_before = fhir.receiver != nullptr ? fhir.receiver->bytes() : 0;
  const int64_t connections_before = fhir.receiver != nullptr ? fhir.receiver->connections() : 0;
  common::PgPool pool(feeds_conninfo, 4);
  const feeds::Hl7Encoder hl7_encoder;
  const feeds::FhirEncoder fhir_encoder("https://healthtwin.bench/fhir/r4");
  const feeds::MessageEncoder* encoder = phase.fhir ? static_cast<const feeds::MessageEncoder*>(&fhir_encoder)
                                                    : static_cast<const feeds::MessageEncoder*>(&hl7_encoder);
  feeds::FhirTransportOptions fhir_options;
  fhir_options.identity = {fhir.pki_dir + "/feeds.pem", fhir.pki_dir + "/feeds.key"};
  fhir_options.host_addresses = {{"alerts", "127.0.0.1"}};
  feeds::WorkerOptions options;
  options.enqueue.max_samples_per_message = load.samples_per_message;
  feeds::FeedWorker worker(
      pool, feeds_conninfo, [&](const feeds::Feed&) -> const feeds::MessageEncoder* { return encoder; },
      [&](const feeds::Feed& feed) -> absl::StatusOr<std::unique_ptr<feeds::Transport>> {
        if (!phase.peer) return std::make_unique<AckAll>();
        if (phase.fhir) return feeds::MakeFhirTransport(feed, fhir_options);
        return feeds::MakeMllpTransport(feed, {});
      },
      [] { return 0.5; }, options);
  if (auto r = worker.RunOnce(); !r.ok()) return r.status();  // the cursor at the current end
  worker.Start();

  const int patients = load.patients;
  Writer vitals(
      *su, [&](pqxx::work& tx, int64_t first, int n) { return VitalsRows(tx, first, n, patients); },
      phase.vitals ? load.samples_per_s : 0, 50ms);
  Writer alerts(
      *su, [&](pqxx::work& tx, int64_t first, int n) { return AlertRows(tx, first, n, patients); },
      phase.alerts ? load.alerts_per_s : 0, 20ms);
  const double cpu_before = peer_pid > 0 ? CpuSeconds(peer_pid) : 0;
  const std::string t0 = std::to_string(testing::QueryInt64(*su, "SELECT (extract(epoch FROM now()) * 1e6)::bigint"));
  vitals.Start();
  alerts.Start();
  std::this_thread::sleep_for(std::chrono::seconds(load.seconds));
  const int64_t samples = vitals.StopAndCount();
  const int64_t events = alerts.StopAndCount();
  const std::string t1 = std::to_string(testing::QueryInt64(*su, "SELECT (extract(epoch FROM now()) * 1e6)::bigint"));
  const double cpu_window = peer_pid > 0 ? CpuSeconds(peer_pid) - cpu_before : 0;

  // Drain: until every source row is in a delivered message (or --drain-s passes).
  const auto drain_start = Clock::now();
  const auto Pending = [&] {
    return testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox WHERE state = 'pending'") +
           testing::QueryInt64(*su,
                               "SELECT (SELECT coalesce(max(ingest_seq), 0) FROM vitals) - vitals_seq"
                               " + (SELECT coalesce(max(event_seq), 0) FROM alert_events) - alert_event_seq"
                               " FROM feed_cursors");
  };
  testing::PollUntil([&] { return Pending() == 0; }, std::chrono::seconds(load.drain_s));
  const double drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
  worker.StopBy(Clock::now() + 10s);

  // Samples per message, counted after the run (an index the feed did not have while it ran).
  testing::ExecSql(*su, "CREATE INDEX bench_vitals_patient_seq ON vitals (patient_id, ingest_seq)");
  const std::string delivered_samples_by =
      "SELECT coalesce(sum((SELECT count(*) FROM vitals v WHERE v.patient_id = o.patient_id"
      " AND v.ingest_seq BETWEEN o.source_first_seq AND o.source_last_seq)), 0)::bigint FROM feed_outbox o"
      " WHERE o.source_kind = 'vitals' AND o.state = 'delivered' AND o.delivered_at <= timestamptz 'epoch' + ";
  const auto At = [](const std::string& us, double plus_s) {
    return absl::StrCat("(", us, " + ", static_cast<int64_t>(plus_s * 1e6), ") * interval '1 microsecond'");
  };
  const int64_t by_t1 = testing::QueryInt64(*su, delivered_samples_by + At(t1, 0));
  const int64_t by_half = testing::QueryInt64(*su, delivered_samples_by + At(t0, load.seconds / 2.0) +
                                                       " AND o.delivered_at > timestamptz 'epoch' + " + At(t0, 0));
  const int64_t total_delivered = testing::QueryInt64(*su, delivered_samples_by + At(t1, 1e6));
  const int64_t messages = testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox WHERE state = 'delivered'");
  const int64_t dead = testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox WHERE state = 'dead'");
  const int64_t retried = testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox WHERE attempts > 1");
  const int64_t vitals_messages =
      testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox WHERE state = 'delivered' AND source_kind = 'vitals'");

  std::vector<double> latency_ms;
  {
    pqxx::connection c(*su);
    pqxx::nontransaction q(c);
    for (const auto& r : q.exec("SELECT extract(epoch FROM o.delivered_at - e.created_at) * 1000 FROM feed_outbox o"
                                " JOIN alert_events e ON e.event_seq = o.source_first_seq"
                                " WHERE o.source_kind = 'alert_event' AND o.state = 'delivered'")) {
      latency_ms.push_back(r[0].as<double>());
    }
  }
  const char* transport = !phase.peer   ? "instant ack (no network)"
                          : phase.fhir  ? "https (mTLS, keep-alive) to the in-process light receiver"
                          : phase.light ? "mllp to python3-hl7 peer --light (parses MSH only)"
                                        : "mllp to python3-hl7 peer (hl7.parse of every message)";
  nlohmann::json out = {{"phase", phase.name},
                        {"kind", phase.fhir ? "fhir-rest-hook" : "hl7v2-mllp"},
                        {"transport", transport},
                        {"seconds", load.seconds},
                        {"messages_delivered", messages},
                        {"messages_dead", dead},
                        {"messages_retried", retried},
                        {"drain_s", drain_s}};
  if (phase.vitals) {
    const double half_s = load.seconds - load.seconds / 2.0;
    out["vitals"] = {
        {"samples_written", samples},
        {"written_per_s", static_cast<double>(samples) / load.seconds},
        {"delivered_per_s", static_cast<double>(by_t1) / load.seconds},
        {"delivered_per_s_second_half", static_cast<double>(by_t1 - by_half) / half_s},
        {"backlog_samples_at_end", samples - by_t1},
        {"delivered_after_drain", total_delivered},
        {"messages", vitals_messages},
        {"samples_per_message", vitals_messages > 0 ? static_cast<double>(total_delivered) / vitals_messages : 0.0}};
  }
  if (phase.alerts) {
    out["alerts"] = {{"events_written", events},
                     {"delivered", latency_ms.size()},
                     {"commit_to_ack_recorded_ms",
                      {{"p50", Percentile(latency_ms, 0.50)},
                       {"p99", Percentile(latency_ms, 0.99)},
                       {"max", Percentile(latency_ms, 1.0)}}}};
  }
  if (peer_pid > 0) out["peer_cpu_s_per_s"] = cpu_window / load.seconds;
  if (phase.fhir && fhir.receiver != nullptr && phase.peer) {
    const int64_t bundles = fhir.receiver->bundles() - bundles_before;
    out["receiver"] = {{"bundles", bundles},
                       {"connections", fhir.receiver->connections() - connections_before},
                       {"not_bundles", fhir.receiver->not_bundles()},
                       {"mean_bundle_bytes", bundles > 0 ? (fhir.receiver->bytes() - bytes_before) / bundles : 0}};
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Load load;
  std::string phases_arg = "instant-both,peer-vitals,lightpeer-vitals,peer-alerts,lightpeer-both";
  std::string kind = "hl7v2-mllp";
  std::string peer_script = HT_HL7_PEER;
  std::string pki_script = HT_PKI_SCRIPT;
  CLI::App app("healthtwin-feeds-bench: vitals and alerts from PostgreSQL to a real HL7 v2 peer");
  app.add_option("--seconds", load.seconds, "load duration per phase")->check(CLI::Range(2, 3600));
  app.add_option("--samples-per-s", load.samples_per_s, "vitals written per second")->check(CLI::Range(0, 1000000));
  app.add_option("--alerts-per-s", load.alerts_per_s, "alert events written per second")->check(CLI::Range(0, 10000));
  app.add_option("--patients", load.patients, "patients the load is spread over")->check(CLI::Range(1, 100000));
  app.add_option("--drain-s", load.drain_s, "most seconds to wait for the backlog after the load")
      ->check(CLI::Range(0, 3600));
  app.add_option("--samples-per-message", load.samples_per_message, "most samples in one ORU^R01 (the service flag)")
      ->check(CLI::Range(1, 10000));
  app.add_option("--phases", phases_arg,
                 "comma-separated TRANSPORT-LOAD: TRANSPORT instant, peer or lightpeer; LOAD vitals, alerts or both");
  app.add_option("--kind", kind,
                 "default phases: hl7v2-mllp (HL7 only) or fhir-rest-hook (the FHIR phases, with the light HL7 peer"
                 " as the same-run baseline)")
      ->check(CLI::IsMember({"hl7v2-mllp", "fhir-rest-hook"}));
  app.add_option("--pki-script", pki_script, "deploy/pki/make-dev-pki.sh (FHIR phases: the receiver's and our certs)");
  app.add_option("--peer-script", peer_script, "the python3-hl7 MLLP peer");
  CLI11_PARSE(app, argc, argv);
  if (kind == "fhir-rest-hook" && app.count("--phases") == 0) {
    phases_arg = "fhirinstant-both,lightpeer-both,https-vitals,https-alerts,https-both";
  }
  std::vector<Phase> phases;
  bool any_fhir = false;
  for (const std::string& name : std::vector<std::string>(absl::StrSplit(phases_arg, ',', absl::SkipEmpty()))) {
    Phase p{name,
            name.starts_with("peer-") || name.starts_with("lightpeer-") || name.starts_with("https-"),
            name.starts_with("lightpeer-"),
            name.starts_with("https-") || name.starts_with("fhirinstant-"),
            name.ends_with("-vitals") || name.ends_with("-both"),
            name.ends_with("-alerts") || name.ends_with("-both")};
    any_fhir = any_fhir || p.fhir;
    if (!(p.vitals || p.alerts) || !(p.peer || name.starts_with("instant-") || name.starts_with("fhirinstant-"))) {
      std::fprintf(stderr, "--phases: unknown phase '%s'\n", name.c_str());
      return 2;
    }
    phases.push_back(p);
  }

  auto cluster = testing::PgCluster::Start();
  if (!cluster.ok()) return std::fprintf(stderr, "%s\n", cluster.status().ToString().c_str()), 1;
  // Two receivers: the full one (hl7.parse of every message) and the light one (MSH only).
  struct Peer {
    std::unique_ptr<testing::Subprocess> process;
    int port = 0;
  };
  const auto StartPeer = [&](bool light) -> absl::StatusOr<Peer> {
    const std::string port_file = absl::StrCat("/tmp/healthtwin-feeds-bench-port-", getpid(), light ? "-light" : "");
    std::remove(port_file.c_str());
    std::vector<std::string> args = {peer_script, "--port", "0", "--port-file", port_file, "--print-obx", "0"};
    if (light) args.push_back("--light");
    auto process = testing::Subprocess::Spawn("/usr/bin/python3", args);
    if (!process.ok()) return process.status();
    if (!testing::PollUntil([&] { return !testing::ReadFileOrEmpty(port_file).empty(); }, 20s)) {
      return absl::UnavailableError("the peer did not start: " + (*process)->Stderr());
    }
    Peer peer{std::move(process).value(), std::stoi(testing::ReadFileOrEmpty(port_file))};
    std::remove(port_file.c_str());
    return peer;
  };
  auto full_peer = StartPeer(false);
  auto light_peer = StartPeer(true);
  if (!full_peer.ok() || !light_peer.ok()) {
    std::fprintf(stderr, "%s\n", (full_peer.ok() ? light_peer.status() : full_peer.status()).ToString().c_str());
    return 1;
  }

  // FHIR: the dev PKI in a private directory, and the receiver (mutual TLS).
  FhirSetup fhir;
  std::unique_ptr<feeds::bench::LightHttpsReceiver> receiver;
  std::string pki_parent;
  if (any_fhir) {
    pki_parent = absl::StrCat("/tmp/healthtwin-feeds-bench-pki-", getpid());
    fhir.pki_dir = pki_parent + "/pki";
    auto pki = testing::Subprocess::Spawn(pki_script, {fhir.pki_dir});
    if (!pki.ok()) return std::fprintf(stderr, "%s\n", pki.status().ToString().c_str()), 1;
    auto exit = (*pki)->Wait(60s);
    if (!exit.ok() || !exit->exited || exit->code != 0) {
      return std::fprintf(stderr, "%s failed: %s\n", pki_script.c_str(), (*pki)->Stderr().c_str()), 1;
    }
    auto started = feeds::bench::LightHttpsReceiver::Start(
        {fhir.pki_dir + "/alerts.pem", fhir.pki_dir + "/alerts.key", fhir.pki_dir + "/ca.pem"});
    if (!started.ok()) return std::fprintf(stderr, "%s\n", started.status().ToString().c_str()), 1;
    receiver = std::move(started).value();
    fhir.receiver = receiver.get();
  }

  nlohmann::json results = nlohmann::json::array();
  for (size_t i = 0; i < phases.size(); ++i) {
    const Peer& peer = phases[i].light ? *light_peer : *full_peer;
    const bool python = phases[i].peer && !phases[i].fhir;
    auto r =
        RunPhase(**cluster, phases[i], load, peer.port, python ? peer.process->pid() : 0, static_cast<int>(i), fhir);
    if (!r.ok()) return std::fprintf(stderr, "%s: %s\n", phases[i].name.c_str(), r.status().ToString().c_str()), 1;
    std::fprintf(stderr, "%s\n", r->dump().c_str());
    results.push_back(*r);
  }
  const auto Lines = [](const Peer& p) {
    const std::string out = testing::ReadFileOrEmpty(p.process->stdout_path());
    // One "[peer] <type> <control id> ..." line per message, besides the listening and
    // connection lines.
    int64_t n = 0;
    for (size_t at = out.find("[peer] O"); at != std::string::npos; at = out.find("[peer] O", at + 1)) ++n;
    return n;
  };
  receiver.reset();
  if (!pki_parent.empty()) std::filesystem::remove_all(pki_parent);
  // Same-run ratios of each FHIR phase to its HL7 counterpart (https-X to lightpeer-X,
  // fhirinstant-X to instant-X): the machine is shared, so absolute figures move with its load.
  nlohmann::json ratios = nlohmann::json::object();
  for (const auto& f : results) {
    const std::string name = f["phase"];
    std::string base;
    if (name.starts_with("https-")) base = "lightpeer-" + name.substr(6);
    if (name.starts_with("fhirinstant-")) base = "instant-" + name.substr(12);
    for (const auto& b : results) {
      if (base.empty() || b["phase"] != base) continue;
      nlohmann::json r = {{"baseline", base}};
      if (f.contains("vitals") && b.contains("vitals") && b["vitals"]["delivered_per_s"].get<double>() > 0) {
        r["delivered_per_s"] =
            f["vitals"]["delivered_per_s"].get<double>() / b["vitals"]["delivered_per_s"].get<double>();
      }
      if (f.contains("alerts") && b.contains("alerts") &&
          b["alerts"]["commit_to_ack_recorded_ms"]["p99"].get<double>() > 0) {
        r["alert_p99"] = f["alerts"]["commit_to_ack_recorded_ms"]["p99"].get<double>() /
                         b["alerts"]["commit_to_ack_recorded_ms"]["p99"].get<double>();
      }
      ratios[name] = r;
    }
  }
  double load1 = 0;
  {
    std::ifstream in("/proc/loadavg");
    in >> load1;
  }
  nlohmann::json line = {{"bench", "healthtwin-feeds-bench"},
                         {"kind", kind},
                         {"worker",
                          "in-process FeedWorker (real Hl7Encoder / FhirEncoder, MLLP / HTTPS transport,"
                          " NOTIFY loop)"},
                         {"peer", "tests/peers/hl7_mllp_peer.py (python3-hl7); FHIR: in-process light HTTPS receiver"},
                         {"fhir_to_hl7_ratio", ratios},
                         {"load_average_1m_at_end", load1},
                         {"peer_messages_received", Lines(*full_peer) + Lines(*light_peer)},
                         {"load",
                          {{"samples_per_s", load.samples_per_s},
                           {"alerts_per_s", load.alerts_per_s},
                           {"patients", load.patients},
                           {"samples_per_message_max", load.samples_per_message},
                           {"seconds", load.seconds}}},
                         {"targets", {{"samples_per_s", 20000}, {"alert_to_ack_p99_ms", 100}}},
                         {"phases", results}};
  std::printf("%s\n", line.dump().c_str());
  return 0;
}
