// healthtwin-chaos: a seeded chaos run over the whole pipeline. It starts the real thing, a
// private PostgreSQL, ingest, alerts and twin over mutual TLS, the mock BlueZ with simulated
// wearables (tests/chaos/wearables.h) and the real bridge, which reaches ingest through a TCP
// proxy of ours, then injects faults at random times drawn from the seed:
//
//   kill -9 and SIGTERM of ingest, alerts, twin and the bridge; a PostgreSQL crash and restart;
//   a D-Bus restart; a bluetoothd (mock) restart; a stall and a reset of the uplink's path.
//
// Faults overlap: a fault may be injected while others have not healed yet. At the end it lets
// everything heal, waits for the pipeline to go quiet and judges (tests/chaos/oracle.h): every
// record a device kept is stored exactly once, every heart rate sent while a bridge listened is
// stored exactly once, nothing is stored that was not sent, the alerts of the data-judged rules
// are exactly those the alerts service's rule engine finds in the final stored data, the alerts and twin cursors
// reached the end, every twin absorbed each of its rows once, and no process crashed. One line per fault, a JSON
// summary last; the seed is printed first, so a failure can be replayed with --seed.
//
//   healthtwin-chaos [--seed N] [--duration-s 150] [--min-faults 15] [--patients 3] [--keep]
//
// Exit 0 when every check holds, 1 when one fails (the reasons are printed), 2 on bad arguments.
#include <signal.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "ble_bridge/bluez/testing/mock_bluez.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/inputs_loader.h"
#include "services/alerts/lifecycle/config.h"
#include "services/alerts/rules/test_catalogue.h"
#include "tests/chaos/managed_process.h"
#include "tests/chaos/oracle.h"
#include "tests/chaos/tcp_proxy.h"
#include "tests/chaos/wearables.h"
#include "tests/harness/ingest_process.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::chaos {
namespace {

using std::chrono::milliseconds;
using testing::PollUntil;
using testing::ReadFileOrEmpty;

constexpr int64_t kSecondUs = 1'000'000;
// A notification in flight when the bridge or the bus goes away may be lost with it.
constexpr int64_t kBlindMarginUs = kSecondUs;
// From a notification to the bridge's receive stamp, at most (a loaded 2-core machine, ASan).
constexpr int64_t kMaxLatencyUs = 5 * kSecondUs;
constexpr int64_t kClockSlackUs = 50'000;
// The alerts service runs the shipped catalogue with hr_high over 60 s (cleared after 30 s),
// written to the work directory and passed with --alert-rules: the wearables' episodes last
// 90 s (wearables.cc) and the run only minutes, against the shipped 10 min. The judge uses the
// same catalogue and the lifecycle's reopen window (lifecycle::Config).
constexpr int kHrHighMinDurationS = 60, kHrHighClearDurationS = 30;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Options {
  uint64_t seed = 0;
  bool seed_given = false;
  int duration_s = 150;
  int min_faults = 15;
  int patients = 3;
  double hr_hz = 4;
  double glucose_interval_s = 3;
  double min_gap_s = 2, max_gap_s = 8;
  bool keep = false;
};

enum class Kind { kKill9, kTerm, kPgCrash, kBusRestart, kBluezRestart, kUplinkStall, kUplinkReset };

struct Fault {
  Kind kind;
  std::string target;  // process name for kKill9 and kTerm
};

std::string Describe(const Fault& f) {
  switch (f.kind) {
    case Kind::kKill9:
      return "kill -9 " + f.target;
    case Kind::kTerm:
      return "SIGTERM " + f.target;
    case Kind::kPgCrash:
      return "PostgreSQL crash (SIGKILL of the postmaster)";
    case Kind::kBusRestart:
      return "D-Bus restart (dbus-daemon killed, a new one at the same address)";
    case Kind::kBluezRestart:
      return "bluetoothd restart (mock killed and started again)";
    case Kind::kUplinkStall:
      return "uplink stall (proxy stops forwarding)";
    case Kind::kUplinkReset:
      return "uplink reset (proxy resets every connection)";
  }
  return "?";
}

std::string KindName(Kind k) {
  switch (k) {
    case Kind::kKill9:
      return "kill9";
    case Kind::kTerm:
      return "sigterm";
    case Kind::kPgCrash:
      return "pg_crash";
    case Kind::kBusRestart:
      return "dbus_restart";
    case Kind::kBluezRestart:
      return "bluez_restart";
    case Kind::kUplinkStall:
      return "uplink_stall";
    case Kind::kUplinkReset:
      return "uplink_reset";
  }
  return "?";
}

class Harness {
 public:
  Harness(Options o) : o_(o), rng_(o.seed) {}
  int Run();

 private:
  absl::Status SetUp();
  absl::Status SeedRegistry();
  void Tick();
  void InjectRandomFault();
  void Inject(const Fault& f);
  void Heal(bool all);
  void OpenBlindWindows();
  void RebaseBlindWindows();
  void CloseBlindWindows();
  int CountSubscribed(const std::string& address);
  bool BluezUp() const { return !bluez_down_ && !bus_down_; }
  void Say(const std::string& line);
  // How long a fault lasts: mostly a few seconds, one in five for 10 to 40 s (long enough for a
  // whole alert episode to pass while a consumer is down).
  int64_t OutageUs();
  absl::Status WaitQuiet();
  bool Judge(nlohmann::json& summary);
  int64_t Scalar(const std::string& sql);
  ManagedProcess* Proc(const std::string& name);
  void Fail(const std::string& why) { failures_.push_back(why); }

  Options o_;
  std::mt19937_64 rng_;
  int64_t t0_us_ = 0;
  std::string work_;
  std::unique_ptr<testing::PgCluster> pg_;
  std::string conninfo_;    // superuser, for the harness's own reads
  std::string rules_path_;  // the alerts service's catalogue (kHrHighMinDurationS)
  std::optional<alerts::rules::RuleEngine> rules_;
  std::unique_ptr<TcpProxy> proxy_;
  std::unique_ptr<ble::testing::MockBluez> mock_;
  std::unique_ptr<Wearables> wearables_;
  std::vector<std::unique_ptr<ManagedProcess>> procs_;

  // Healing: what is down, and when it comes back.
  std::map<std::string, int64_t> restart_at_us_;  // process name -> when to start it again
  std::optional<int64_t> pg_back_at_us_, bus_back_at_us_, bluez_back_at_us_, stall_until_us_;
  bool pg_down_ = false, bus_down_ = false, bluez_down_ = false;

  // Blind windows per strap: open since, and the bridge's "subscribed" count to beat.
  struct Open {
    int64_t from_us;
    int baseline;
  };
  std::map<std::string, Open> open_windows_;
  std::vector<BlindWindow> blind_;

  int faults_ = 0;
  std::map<std::string, int> by_kind_;
  std::vector<std::string> failures_;
};

void Harness::Say(const std::string& line) {
  std::cout << absl::StrFormat("[chaos %7.1fs] %s", static_cast<double>(NowUs() - t0_us_) / 1e6, line) << std::endl;
}

int64_t Harness::OutageUs() {
  if (std::uniform_int_distribution<int>(0, 4)(rng_) == 0) {
    return std::uniform_int_distribution<int64_t>(10 * kSecondUs, 40 * kSecondUs)(rng_);
  }
  return std::uniform_int_distribution<int64_t>(500'000, 4 * kSecondUs)(rng_);
}

ManagedProcess* Harness::Proc(const std::string& name) {
  for (auto& p : procs_) {
    if (p->name() == name) return p.get();
  }
  return nullptr;
}

int64_t Harness::Scalar(const std::string& sql) {
  pqxx::connection c(conninfo_);
  pqxx::nontransaction tx(c);
  auto r = tx.exec(sql);
  return r[0][0].is_null() ? 0 : r[0][0].as<int64_t>();
}

absl::Status Harness::SeedRegistry() {
  pqxx::connection c(conninfo_);
  pqxx::work tx(c);
  for (int p = 1; p <= o_.patients; ++p) {
    tx.exec_params("INSERT INTO patients (patient_id) VALUES ($1)", absl::StrFormat("pat-%04d", p));
  }
  // Bound a day ago, so that nothing the devices measure predates the binding.
  for (const WearableDevice& d : wearables_->devices()) {
    tx.exec_params(
        "INSERT INTO devices (device_id, kind, patient_id, bound_at) VALUES ($1, $2, $3, now() - interval '1 day')",
        d.address, d.kind, d.patient_id);
    tx.exec_params("INSERT INTO device_gateways (device_id, bridge_id) VALUES ($1, 'bridge-001')", d.address);
  }
  tx.commit();
  return absl::OkStatus();
}

absl::Status Harness::SetUp() {
  char dir[] = "/tmp/healthtwin-chaos-XXXXXX";
  if (mkdtemp(dir) == nullptr) return absl::InternalError("mkdtemp failed");
  work_ = dir;
  chmod(dir, 0755);
  std::filesystem::create_directories(work_ + "/logs");
  Say("work directory " + work_);

  auto pg = testing::PgCluster::Start();
  if (!pg.ok()) return pg.status();
  pg_ = *std::move(pg);
  auto conninfo = testing::CreateMigratedDatabase(*pg_, "chaos");
  if (!conninfo.ok()) return conninfo.status();
  conninfo_ = *conninfo;
  if (absl::Status s = testing::MakeDevPki(HT_PKI_SCRIPT, work_ + "/pki"); !s.ok()) return s;
  auto toml = alerts::rules::ShortHrHighToml(HT_ALERT_RULES_TOML, kHrHighMinDurationS, kHrHighClearDurationS);
  if (!toml.ok()) return toml.status();
  auto engine = alerts::rules::RuleEngine::FromToml(*toml, "chaos_alert_rules.toml");
  if (!engine.ok()) return engine.status();
  rules_.emplace(*std::move(engine));
  rules_path_ = work_ + "/alert_rules.toml";
  std::ofstream(rules_path_) << *toml;

  auto proxy = TcpProxy::Start(1);  // the target is set once ingest has a port
  if (!proxy.ok()) return proxy.status();
  proxy_ = *std::move(proxy);

  auto mock = ble::testing::MockBluez::Start();  // also points DBUS_SYSTEM_BUS_ADDRESS at it
  if (!mock.ok()) return mock.status();
  mock_ = *std::move(mock);
  wearables_ =
      std::make_unique<Wearables>(o_.patients, o_.hr_hz, o_.glucose_interval_s, NowUs(), work_ + "/emitted.log");
  if (absl::Status s = wearables_->Install(*mock_); !s.ok()) return s;
  if (absl::Status s = SeedRegistry(); !s.ok()) return s;

  const std::string pki = work_ + "/pki";
  auto service = [this, pki](const std::string& name, std::vector<std::string> extra) {
    return [this, pki, name, extra] {
      std::vector<std::string> a = testing::ServiceFlags(pki, name, conninfo_, work_ + "/" + name + ".port");
      a.insert(a.end(), {"--log-format", "text"});
      a.insert(a.end(), extra.begin(), extra.end());
      std::filesystem::remove(work_ + "/" + name + ".port");
      return a;
    };
  };
  auto wait_port = [this](const std::string& name, bool route_uplink) {
    return [this, name, route_uplink](testing::Subprocess& p) -> absl::Status {
      std::string port;
      if (!PollUntil([&] { return !(port = ReadFileOrEmpty(work_ + "/" + name + ".port")).empty() || !p.Running(); },
                     milliseconds(30'000)) ||
          port.empty()) {
        return absl::UnavailableError(name + " wrote no port file: " + p.Stderr().substr(0, 2000));
      }
      if (route_uplink) proxy_->SetTarget(static_cast<uint16_t>(std::stoi(port)));
      return absl::OkStatus();
    };
  };
  const std::string logs = work_ + "/logs";
  procs_.push_back(std::make_unique<ManagedProcess>("ingest", HT_INGEST_BIN, service("ingest", {}), logs,
                                                    wait_port("ingest", true)));
  procs_.push_back(std::make_unique<ManagedProcess>(
      "alerts", HT_ALERTS_BIN, service("alerts", {"--alert-rules", rules_path_}), logs, wait_port("alerts", false)));
  // Snapshots every 5 s instead of 10 min: more restarts land between two of them.
  procs_.push_back(std::make_unique<ManagedProcess>("twin", HT_TWIN_BIN, service("twin", {"--persist-every-s", "5"}),
                                                    logs, wait_port("twin", false)));
  const std::string uplink = absl::StrCat("localhost:", proxy_->port());
  procs_.push_back(std::make_unique<ManagedProcess>(
      "bridge", HT_BRIDGE_BIN,
      [this, pki, uplink] {
        return std::vector<std::string>{"run",
                                        "--ingest-addr",
                                        uplink,
                                        "--registry-addr",
                                        uplink,
                                        "--pki",
                                        pki,
                                        "--as",
                                        "bridge-001",
                                        "--outbox",
                                        work_ + "/outbox.db",
                                        "--adapter",
                                        "hci0",
                                        "--batch-size",
                                        "50",
                                        "--binding-ttl-s",
                                        "5",
                                        "--ack-timeout-ms",
                                        "3000",
                                        "--max-backoff-ms",
                                        "2000",
                                        "--drain-timeout-s",
                                        "10"};
      },
      logs));
  for (auto& p : procs_) {
    if (absl::Status s = p->Start(); !s.ok()) return s;
  }
  for (const std::string& strap : wearables_->straps()) {
    if (!PollUntil([&] { return CountSubscribed(strap) >= 1; }, milliseconds(30'000))) {
      return absl::DeadlineExceededError("the bridge did not subscribe to " + strap);
    }
  }
  Say("pipeline up: PostgreSQL, ingest (through proxy :" + std::to_string(proxy_->port()) +
      "), alerts, twin, bridge; " + std::to_string(wearables_->devices().size()) + " wearables on the mock BlueZ");
  return absl::OkStatus();
}

int Harness::CountSubscribed(const std::string& address) {
  ManagedProcess* bridge = Proc("bridge");
  if (bridge->stderr_paths().empty()) return 0;
  const std::string log = ReadFileOrEmpty(bridge->stderr_paths().back());
  const std::string needle = address + " subscribed";
  int n = 0;
  for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
  return n;
}

// The bridge is about to stop hearing the straps: a window opens for each (or stays open, its
// baseline moved to what the bridge has logged so far).
void Harness::OpenBlindWindows() {
  const bool bridge_up = Proc("bridge")->running();
  for (const std::string& strap : wearables_->straps()) {
    const int baseline = bridge_up ? CountSubscribed(strap) : 0;
    auto [it, inserted] = open_windows_.try_emplace(strap, Open{NowUs() - kBlindMarginUs, baseline});
    if (!inserted) it->second.baseline = baseline;
  }
}

// BlueZ is back, still without devices: a subscription the bridge logged since the fault was on
// the BlueZ that went away (it was still re-subscribing after an earlier fault), so only one
// logged from now on closes a window. The soak once closed a window on such a stale line and
// charged the 2 s the bridge then took to subscribe on the new bus to the pipeline.
void Harness::RebaseBlindWindows() {
  const bool bridge_up = Proc("bridge")->running();
  for (auto& [strap, w] : open_windows_) w.baseline = bridge_up ? CountSubscribed(strap) : 0;
}

// A window closes when the running bridge has logged the strap as subscribed again.
void Harness::CloseBlindWindows() {
  ManagedProcess* bridge = Proc("bridge");
  if (open_windows_.empty() || !bridge->running() || bridge->stopping() || !BluezUp()) return;
  for (auto it = open_windows_.begin(); it != open_windows_.end();) {
    if (CountSubscribed(it->first) > it->second.baseline) {
      blind_.push_back({it->first, it->second.from_us, NowUs()});
      it = open_windows_.erase(it);
    } else {
      ++it;
    }
  }
}

void Harness::Inject(const Fault& f) {
  ++faults_;
  ++by_kind_[f.kind == Kind::kKill9 || f.kind == Kind::kTerm ? KindName(f.kind) + ":" + f.target : KindName(f.kind)];
  const int64_t now = NowUs();
  std::string heal;
  switch (f.kind) {
    case Kind::kKill9: {
      if (f.target == "bridge") OpenBlindWindows();
      if (absl::Status s = Proc(f.target)->Kill9(); !s.ok()) Fail("kill -9 " + f.target + ": " + s.ToString());
      if (f.target == "bridge" && BluezUp()) wearables_->DropLinks(*mock_);
      restart_at_us_[f.target] = now + OutageUs();
      heal = absl::StrFormat("restart in %.1f s", (restart_at_us_[f.target] - now) / 1e6);
      break;
    }
    case Kind::kTerm: {
      if (f.target == "bridge") OpenBlindWindows();
      if (absl::Status s = Proc(f.target)->Terminate(); !s.ok()) Fail("SIGTERM " + f.target + ": " + s.ToString());
      restart_at_us_[f.target] = -1;  // once it has exited
      heal = "restart once it has drained and exited";
      break;
    }
    case Kind::kPgCrash:
      if (absl::Status s = pg_->Kill9(); !s.ok()) Fail("PostgreSQL kill: " + s.ToString());
      pg_down_ = true;
      pg_back_at_us_ = now + OutageUs();
      heal = absl::StrFormat("restart in %.1f s", (*pg_back_at_us_ - now) / 1e6);
      break;
    case Kind::kBusRestart:
      OpenBlindWindows();
      mock_->KillDaemon();
      bus_down_ = true;
      bus_back_at_us_ = now + OutageUs();
      heal = absl::StrFormat("new daemon in %.1f s", (*bus_back_at_us_ - now) / 1e6);
      break;
    case Kind::kBluezRestart:
      OpenBlindWindows();
      mock_->KillMock();
      bluez_down_ = true;
      bluez_back_at_us_ = now + OutageUs();
      heal = absl::StrFormat("restart in %.1f s", (*bluez_back_at_us_ - now) / 1e6);
      break;
    case Kind::kUplinkStall:
      proxy_->Pause();
      stall_until_us_ = now + std::uniform_int_distribution<int64_t>(2 * kSecondUs, 8 * kSecondUs)(rng_);
      heal = absl::StrFormat("for %.1f s", (*stall_until_us_ - now) / 1e6);
      break;
    case Kind::kUplinkReset:
      heal = absl::StrFormat("%d connections reset", proxy_->Reset());
      break;
  }
  Say(absl::StrFormat("fault %d: %s (%s)", faults_, Describe(f), heal));
}

void Harness::InjectRandomFault() {
  std::vector<Fault> menu;
  for (const char* name : {"ingest", "alerts", "twin", "bridge"}) {
    if (restart_at_us_.contains(name) || !Proc(name)->running()) continue;
    menu.push_back({Kind::kKill9, name});
    menu.push_back({Kind::kTerm, name});
  }
  if (!pg_down_) menu.push_back({Kind::kPgCrash, ""});
  if (!bus_down_ && !bluez_down_) {
    menu.push_back({Kind::kBusRestart, ""});
    menu.push_back({Kind::kBluezRestart, ""});
  }
  if (!stall_until_us_) menu.push_back({Kind::kUplinkStall, ""});
  menu.push_back({Kind::kUplinkReset, ""});
  Inject(menu[std::uniform_int_distribution<size_t>(0, menu.size() - 1)(rng_)]);
}

// Brings back what is due (everything when `all`).
void Harness::Heal(bool all) {
  const int64_t now = NowUs();
  auto due = [&](const std::optional<int64_t>& at) { return at && (all || now >= *at); };
  if (pg_down_ && due(pg_back_at_us_)) {
    if (absl::Status s = pg_->Restart(); !s.ok()) Fail("PostgreSQL restart: " + s.ToString());
    pg_down_ = false;
    pg_back_at_us_.reset();
    Say("healed: PostgreSQL restarted (crash recovery)");
  }
  if (bus_down_ && due(bus_back_at_us_)) {
    if (absl::Status s = mock_->RestartDaemon(); !s.ok()) Fail("D-Bus restart: " + s.ToString());
    RebaseBlindWindows();
    if (absl::Status s = wearables_->Install(*mock_); !s.ok()) Fail("wearables after D-Bus restart: " + s.ToString());
    bus_down_ = false;
    bus_back_at_us_.reset();
    Say("healed: new dbus-daemon and BlueZ, wearables back");
  }
  if (bluez_down_ && due(bluez_back_at_us_)) {
    if (absl::Status s = mock_->RestartMock(); !s.ok()) Fail("bluetoothd restart: " + s.ToString());
    RebaseBlindWindows();
    if (absl::Status s = wearables_->Install(*mock_); !s.ok())
      Fail("wearables after bluetoothd restart: " + s.ToString());
    bluez_down_ = false;
    bluez_back_at_us_.reset();
    Say("healed: bluetoothd back, wearables back");
  }
  if (due(stall_until_us_)) {
    proxy_->Resume();
    stall_until_us_.reset();
    Say("healed: uplink flows again");
  }
  for (auto it = restart_at_us_.begin(); it != restart_at_us_.end();) {
    ManagedProcess* p = Proc(it->first);
    if (it->second < 0) {  // SIGTERMed: wait for the exit (Poll records a bad one)
      if (all) p->AwaitStopped(35'000);
      if (p->running()) {
        ++it;
        continue;
      }
      if (p->name() == "bridge" && BluezUp()) wearables_->DropLinks(*mock_);
      it->second = all ? now : now + 200'000;
    }
    if (!all && now < it->second) {
      ++it;
      continue;
    }
    if (p->name() == "bridge") {
      for (auto& [strap, w] : open_windows_) w.baseline = 0;  // a new log
    }
    if (absl::Status s = p->Start(); !s.ok()) Fail(s.ToString());
    Say("healed: " + p->name() + " started again (start " + std::to_string(p->starts()) + ")");
    it = restart_at_us_.erase(it);
  }
}

void Harness::Tick() {
  const int64_t now = NowUs();
  wearables_->Tick(BluezUp() ? mock_.get() : nullptr, now);
  for (auto& p : procs_) {
    if (!restart_at_us_.contains(p->name())) p->Poll(now);
  }
  for (auto& p : procs_) {
    if (restart_at_us_.contains(p->name()) && restart_at_us_[p->name()] < 0) p->Poll(now);
  }
  CloseBlindWindows();
}

absl::Status Harness::WaitQuiet() {
  // Every strap heard again, then a quiet tail of normal operation.
  const int64_t heard_by = NowUs() + 60 * kSecondUs;
  while (!open_windows_.empty()) {
    if (NowUs() > heard_by) return absl::DeadlineExceededError("the bridge did not subscribe to every strap again");
    Tick();
    std::this_thread::sleep_for(milliseconds(20));
  }
  const int64_t tail_until = NowUs() + 10 * kSecondUs;
  while (NowUs() < tail_until) {
    Tick();
    std::this_thread::sleep_for(milliseconds(20));
  }
  Say("wearables stop; waiting for the pipeline to drain");
  // The bridge drains its outbox on SIGTERM and says what is left.
  ManagedProcess* bridge = Proc("bridge");
  if (absl::Status s = bridge->Terminate(); !s.ok()) return s;
  if (!bridge->AwaitStopped(35'000)) return absl::DeadlineExceededError("the bridge did not stop");
  const std::string out = bridge->process()->Stdout();
  const size_t last = out.rfind('{');
  const auto summary =
      nlohmann::json::parse(last == std::string::npos ? std::string() : out.substr(last), nullptr, false);
  if (summary.is_discarded() || !summary.is_object() || summary.value("pending", -1) != 0) {
    Fail("the bridge stopped with rows still in its outbox: " + out);
  }
  // The consumers catch up (both follow the vitals table), then stop; the twin also writes
  // its snapshots on SIGTERM. Both are waited for: a twin restarted just before the faults
  // ended may still be a round or two behind when alerts is done (the hour's soak stopped one
  // 126 rows short this way).
  const std::string end = "(SELECT coalesce(max(ingest_seq), 0) FROM vitals)";
  if (!PollUntil(
          [&] {
            return Scalar(
                       "SELECT count(*) FROM consumer_cursors WHERE consumer IN ('alerts', 'twin/0-of-1')"
                       " AND last_seq = " +
                       end) == 2;
          },
          milliseconds(30'000))) {
    Fail(absl::StrCat("the consumers did not catch up within 30 s: alerts at ",
                      Scalar("SELECT last_seq FROM consumer_cursors WHERE consumer = 'alerts'"), ", twin at ",
                      Scalar("SELECT last_seq FROM consumer_cursors WHERE consumer = 'twin/0-of-1'"), " of ",
                      Scalar("SELECT max(ingest_seq) FROM vitals")));
  }
  for (const char* name : {"twin", "alerts", "ingest"}) {
    if (absl::Status s = Proc(name)->Terminate(); !s.ok()) return s;
    if (!Proc(name)->AwaitStopped(35'000)) Fail(std::string(name) + " did not stop within 35 s of SIGTERM");
  }
  if (Scalar("SELECT count(*) FROM consumer_cursors WHERE consumer = 'twin/0-of-1' AND last_seq = " + end) != 1) {
    Fail(absl::StrCat("the twin cursor stayed at ",
                      Scalar("SELECT last_seq FROM consumer_cursors WHERE consumer = 'twin/0-of-1'"), " of ",
                      Scalar("SELECT max(ingest_seq) FROM vitals")));
  }
  return absl::OkStatus();
}

bool Harness::Judge(nlohmann::json& summary) {
  pqxx::connection c(conninfo_);
  pqxx::nontransaction tx(c);

  // Heart rates.
  std::vector<StoredHr> stored_hr;
  for (const auto& r : tx.exec("SELECT device_id, (extract(epoch FROM measured_at) * 1000000)::bigint, value"
                               " FROM vitals WHERE vital_type = 1")) {
    stored_hr.push_back({r[0].as<std::string>(), r[1].as<int64_t>(), static_cast<int>(std::lround(r[2].as<double>()))});
  }
  const HrVerdict hr = JudgeHeartRates(wearables_->hr_emissions(), stored_hr, blind_, kMaxLatencyUs, kClockSlackUs);
  for (size_t i = 0; i < hr.missed.size() && i < 10; ++i) {
    Fail(absl::StrFormat("heart rate lost: %s %d /min sent at +%.3f s outside every blind window", hr.missed[i].device,
                         hr.missed[i].bpm, (hr.missed[i].emitted_at_us - t0_us_) / 1e6));
  }
  for (size_t i = 0; i < hr.unexplained.size() && i < 10; ++i) {
    Fail(absl::StrFormat("heart rate stored that matches no emission (twice, or made up): %s %d /min at +%.3f s",
                         hr.unexplained[i].device, hr.unexplained[i].bpm,
                         (hr.unexplained[i].measured_at_us - t0_us_) / 1e6));
  }

  // Records the meters kept.
  std::vector<Record> stored_records;
  for (const auto& r : tx.exec("SELECT device_id, device_record_seq, value FROM vitals WHERE vital_type = 8")) {
    stored_records.push_back({r[0].as<std::string>(), r[1].as<int64_t>(), r[2].as<double>()});
  }
  const RecordVerdict rec = JudgeRecords(wearables_->records(), stored_records);
  for (const Record& r : rec.missing) Fail(absl::StrFormat("glucose record lost: %s #%d", r.device, r.record_seq));
  for (const Record& r : rec.duplicated)
    Fail(absl::StrFormat("glucose record stored twice: %s #%d", r.device, r.record_seq));
  for (const Record& r : rec.unexpected) {
    Fail(absl::StrFormat("glucose record stored that was not sent: %s #%d %.1f", r.device, r.record_seq, r.value));
  }
  const int64_t quarantined = Scalar("SELECT count(*) FROM quarantine");
  if (quarantined != 0) Fail(absl::StrCat(quarantined, " rows in quarantine (every device is bound to this bridge)"));

  // Alerts: the data-judged rules' episodes that the alerts service's own rule engine finds in
  // the final stored data, at the evaluator's kind of instants, each raised once.
  int64_t expected_alerts = 0, raised_alerts = 0;
  const std::set<int> types = alerts::VitalTypesRead(rules_->catalogue());
  const std::vector<int> type_list(types.begin(), types.end());
  for (int p = 1; p <= o_.patients; ++p) {
    const std::string patient = absl::StrFormat("pat-%04d", p);
    alerts::LoadedInputs loaded;
    {
      pqxx::connection lc(conninfo_);
      pqxx::work ltx(lc);
      if (absl::Status s = alerts::LoadVitals(ltx, patient, type_list, 0, 0, loaded); !s.ok()) {
        Fail(absl::StrCat(patient, ": cannot load vitals: ", s.ToString()));
        continue;
      }
    }
    std::vector<alerts::SampleTime> times;
    for (const auto& v : loaded.vitals) times.push_back({v.vital_type, v.measured_us});
    const std::vector<ExpectedAlert> want = ExpectedAlerts(*rules_, loaded.View(), alerts::EvaluationInstants(times, 0),
                                                           alerts::lifecycle::DefaultConfig().reopen_window_us);
    std::vector<ExpectedAlert> got;
    for (const auto& r : tx.exec_params("SELECT rule_id, (extract(epoch FROM condition_started_at) * 1000000)::bigint"
                                        " FROM alerts WHERE patient_id = $1 ORDER BY rule_id, condition_started_at",
                                        patient)) {
      const auto* spec = rules_->catalogue().Find(r[0].as<std::string>());
      if (spec == nullptr || !alerts::JudgedAtDataInstants(spec->kind)) continue;  // timer and technical_events
      got.push_back({r[0].as<std::string>(), r[1].as<int64_t>()});
    }
    expected_alerts += static_cast<int64_t>(want.size());
    raised_alerts += static_cast<int64_t>(got.size());
    if (want != got) {
      auto show = [&](const std::vector<ExpectedAlert>& v) {
        std::vector<std::string> s;
        for (const ExpectedAlert& a : v) {
          s.push_back(absl::StrFormat("%s +%.1fs", a.rule_id, (a.condition_started_us - t0_us_) / 1e6));
        }
        return "[" + absl::StrJoin(s, ", ") + "]";
      };
      Fail(absl::StrCat(patient, ": alerts ", show(got), ", the stored data implies ", show(want)));
    }
  }
  // The timer rules' alerts (technical, twin drift) follow the wall clock: reported, not judged.
  nlohmann::json timer_alerts = nlohmann::json::object();
  for (const auto& r : tx.exec("SELECT rule_id, count(*) FROM alerts GROUP BY 1 ORDER BY 1")) {
    const auto* spec = rules_->catalogue().Find(r[0].as<std::string>());
    if (spec == nullptr || !alerts::JudgedAtDataInstants(spec->kind)) {
      timer_alerts[r[0].as<std::string>()] = r[1].as<int64_t>();
    }
  }
  const int64_t raised_events = Scalar("SELECT count(*) FROM alert_events WHERE kind = 1");
  const int64_t all_alerts = Scalar("SELECT count(*) FROM alerts");
  if (raised_events != all_alerts) {
    Fail(absl::StrCat(all_alerts, " alerts but ", raised_events, " 'raised' events (one each expected)"));
  }

  // Twins: each absorbed each of its patient's heart rates once (no calibration runs within a
  // data day, so samples_absorbed counts every sequential update since the twin began).
  for (int p = 1; p <= o_.patients; ++p) {
    const std::string patient = absl::StrFormat("pat-%04d", p);
    auto r = tx.exec_params(
        "SELECT s.samples_absorbed, s.covered_seq, s.calibrated,"
        " (SELECT count(*) FROM vitals WHERE patient_id = $1 AND vital_type = 1),"
        " (SELECT coalesce(max(ingest_seq), 0) FROM vitals WHERE patient_id = $1)"
        " FROM twin_snapshots s WHERE s.patient_id = $1 ORDER BY s.version DESC LIMIT 1",
        patient);
    if (r.empty()) {
      Fail(patient + ": no twin snapshot");
      continue;
    }
    const int64_t absorbed = r[0][0].as<int64_t>(), covered = r[0][1].as<int64_t>(), rows = r[0][3].as<int64_t>(),
                  last = r[0][4].as<int64_t>();
    if (r[0][2].as<bool>()) continue;  // a calibration restarted the count: nothing exact to compare
    if (absorbed != rows)
      Fail(absl::StrCat(patient, ": the twin absorbed ", absorbed, " heart rates of ", rows, " stored"));
    if (covered < last) Fail(absl::StrCat(patient, ": the twin's snapshot covers rows to ", covered, " of ", last));
  }

  for (auto& p : procs_) {
    p->ScanLogs();
    for (const std::string& problem : p->problems()) Fail(problem);
  }
  if (wearables_->mock_errors() > 0) {
    Fail(absl::StrCat(wearables_->mock_errors(), " mock BlueZ calls failed while it was up (harness fault)"));
  }

  nlohmann::json restarts;
  for (auto& p : procs_) restarts[p->name()] = p->starts() - 1;
  summary = {{"seed", o_.seed},
             {"duration_s", o_.duration_s},
             {"faults", faults_},
             {"faults_by_kind", by_kind_},
             {"restarts", restarts},
             {"heart_rate",
              {{"emitted", hr.emitted},
               {"stored", hr.stored},
               {"not_heard_blind", hr.missed_blind},
               {"lost", hr.missed.size()},
               {"duplicated_or_unexplained", hr.unexplained.size()}}},
             {"glucose_records",
              {{"emitted", rec.emitted},
               {"stored", rec.stored},
               {"lost", rec.missing.size()},
               {"duplicated", rec.duplicated.size()},
               {"unexpected", rec.unexpected.size()}}},
             {"alerts", {{"expected", expected_alerts}, {"raised", raised_alerts}, {"timer_rules", timer_alerts}}},
             {"blind_windows", blind_.size()},
             {"failures", failures_.size()},
             {"ok", failures_.empty()}};
  return failures_.empty();
}

int Harness::Run() {
  t0_us_ = NowUs();
  Say(absl::StrCat("seed ", o_.seed, " (replay with --seed ", o_.seed, "), ", o_.duration_s, " s of faults"));
  if (absl::Status s = SetUp(); !s.ok()) {
    Say("set-up failed: " + s.ToString());
    return 1;
  }
  const int64_t faults_until = NowUs() + static_cast<int64_t>(o_.duration_s) * kSecondUs;
  std::uniform_real_distribution<double> gap_s(o_.min_gap_s, o_.max_gap_s);
  int64_t next_fault = NowUs() + static_cast<int64_t>(gap_s(rng_) * 1e6);
  while (NowUs() < faults_until) {
    Tick();
    Heal(false);
    if (NowUs() >= next_fault) {
      InjectRandomFault();
      next_fault = NowUs() + static_cast<int64_t>(gap_s(rng_) * 1e6);
    }
    std::this_thread::sleep_for(milliseconds(20));
  }
  Say("faults end; healing everything");
  Heal(true);
  if (absl::Status s = WaitQuiet(); !s.ok()) Fail(s.ToString());
  nlohmann::json summary;
  const bool ok = Judge(summary) && faults_ >= o_.min_faults;
  if (faults_ < o_.min_faults)
    Say(absl::StrCat("only ", faults_, " faults injected, at least ", o_.min_faults, " wanted"));
  for (const std::string& f : failures_) Say("FAILED: " + f);
  std::cout << summary.dump() << std::endl;
  if (ok && !o_.keep) {
    pg_.reset();
    std::filesystem::remove_all(work_);
  } else {
    Say("work directory kept: " + work_);
    if (pg_) pg_->Detach();
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace healthtwin::chaos

int main(int argc, char** argv) {
  healthtwin::chaos::Options o;
  CLI::App app{"healthtwin-chaos: a seeded chaos run over the whole pipeline"};
  auto* seed = app.add_option("--seed", o.seed, "replay this seed (default: a random one, printed)");
  app.add_option("--duration-s", o.duration_s, "how long to inject faults")->check(CLI::Range(10, 7 * 24 * 3600));
  app.add_option("--min-faults", o.min_faults, "fail unless at least this many faults were injected")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--patients", o.patients, "patients, each with a heart-rate strap and a glucose meter")
      ->check(CLI::Range(3, 50));
  app.add_flag("--keep", o.keep, "keep the work directory (logs, PKI, PostgreSQL) even on success");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);
    std::cerr << "healthtwin-chaos: " << e.what() << "\n";
    return 2;
  }
  if (seed->count() == 0) o.seed = std::random_device{}();
  signal(SIGPIPE, SIG_IGN);
  return healthtwin::chaos::Harness(o).Run();
}
