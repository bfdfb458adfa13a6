// How fast the feed machinery itself goes, without a real receiver: a private PostgreSQL
// (tests/harness), one feed, a burst of alert events and vitals, then the time to enqueue them
// all into the outbox and to deliver them all through a transport that acknowledges at once.
// Not a test; ends with one JSON line. The HL7/FHIR end-to-end benchmark of issue 12 item 6
// needs the real encoder and peer.
//
//   feeds_outbox_bench [--alerts N] [--patients P] [--samples S]
#include <chrono>
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/pg.h"
#include "services/feeds/feed_worker.h"
#include "services/feeds/hl7_feed.h"
#include "services/feeds/test_fakes.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/pg_cluster.h"

namespace {

using namespace healthtwin;
using Clock = std::chrono::steady_clock;

class AckAll : public feeds::Transport {
 public:
  feeds::SendResult Send(const std::string&, const std::string& id) override {
    return {feeds::SendResult::Outcome::kDelivered, "", "ACK " + id};
  }
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

int main(int argc, char** argv) {
  int alerts = 2000, patients = 20, samples = 20000;
  bool hl7 = false;
  CLI::App app("feeds_outbox_bench");
  app.add_option("--alerts", alerts, "alert events in the burst")->check(CLI::Range(1, 1000000));
  app.add_option("--patients", patients, "patients they are spread over")->check(CLI::Range(1, 10000));
  app.add_option("--samples", samples, "vitals samples in the burst")->check(CLI::Range(0, 10000000));
  app.add_flag("--hl7", hl7, "encode real ORU^R40 / ORU^R01 (default: the test fake)");
  CLI11_PARSE(app, argc, argv);

  auto cluster = testing::PgCluster::Start();
  if (!cluster.ok()) return std::fprintf(stderr, "%s\n", cluster.status().ToString().c_str()), 1;
  auto su = testing::CreateMigratedDatabase(**cluster, "bench");
  if (!su.ok()) return std::fprintf(stderr, "%s\n", su.status().ToString().c_str()), 1;
  const std::string feeds_conninfo = testing::ServiceConnInfo(*su, "feeds");
  testing::ExecSql(*su,
                   "INSERT INTO feeds (name, kind, target, tls, send_alerts, send_vitals, created_by, updated_by)"
                   " VALUES ('bench', 'hl7v2-mllp', '127.0.0.1:2575', false, true, true, 'bench', 'bench')");
  testing::ExecSql(
      *su, absl::StrCat("INSERT INTO patients (patient_id) SELECT 'p' || g FROM generate_series(1, ", patients, ") g"));

  common::PgPool pool(feeds_conninfo, 2);
  feeds::fakes::FakeEncoder fake;
  feeds::Hl7Encoder real;
  const feeds::MessageEncoder& encoder = hl7 ? static_cast<const feeds::MessageEncoder&>(real) : fake;
  feeds::FeedWorker worker(
      pool, feeds_conninfo, [&](const feeds::Feed&) -> const feeds::MessageEncoder* { return &encoder; },
      [](const feeds::Feed&) -> absl::StatusOr<std::unique_ptr<feeds::Transport>> {
        return std::make_unique<AckAll>();
      },
      [] { return 0.0; });
  if (auto r = worker.RunOnce(); !r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;

  testing::ExecSql(*su, absl::StrCat("INSERT INTO alerts (alert_id, patient_id, rule_id, priority, state, summary,"
                                     " condition_started_at, peak_value, ucum_unit, duration_s)"
                                     " SELECT md5('a' || g)::uuid, 'p' || (1 + g % ",
                                     patients,
                                     "), 'r' || g, 3, 1, 'bench', now(), 130, '/min', 60"
                                     " FROM generate_series(1, ",
                                     alerts, ") g"));
  testing::ExecSql(*su, absl::StrCat("INSERT INTO alert_events (alert_id, kind) SELECT md5('a' || g)::uuid, 1"
                                     " FROM generate_series(1, ",
                                     alerts, ") g ORDER BY g"));
  testing::ExecSql(*su, absl::StrCat("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit,"
                                     " measured_at, device_record_seq, bridge_id) SELECT 'p' || (1 + g % ",
                                     patients, "), 'd' || (1 + g % ", patients,
                                     "), 1, 60, '/min', now() - (g || ' ms')::interval, g, 'b1'"
                                     " FROM generate_series(1, ",
                                     samples, ") g"));
  // Enqueue alone (the feed paused: nothing is sent), then delivery alone.
  const auto Round = [&]() -> bool {
    auto r = worker.RunOnce();
    if (!r.ok()) std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
    return r.ok();
  };
  testing::ExecSql(*su, "UPDATE feeds SET state = 'paused'");
  const auto enqueue_start = Clock::now();
  // A round enqueues until the sources are drained or its enqueue budget is spent.
  int64_t enqueued = -1;
  while (enqueued != testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox")) {
    enqueued = testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox");
    if (!Round()) return 1;
  }
  const double enqueue_s = Seconds(Clock::now() - enqueue_start);
  const int64_t total = testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox");
  testing::ExecSql(*su, "UPDATE feeds SET state = 'enabled', updated_at = now()");
  const auto deliver_start = Clock::now();
  while (testing::QueryInt64(*su, "SELECT count(*) FROM feed_outbox WHERE state = 'pending'") > 0) {
    if (!Round()) return 1;
  }
  const double deliver_s = Seconds(Clock::now() - deliver_start);
  nlohmann::json out = {{"encoder", hl7 ? "hl7" : "fake"},
                        {"alerts", alerts},
                        {"samples", samples},
                        {"patients", patients},
                        {"outbox_messages", total},
                        {"enqueue_s", enqueue_s},
                        {"enqueue_samples_per_s", samples / enqueue_s},
                        {"deliver_s", deliver_s},
                        {"delivered_messages_per_s", static_cast<double>(total) / deliver_s}};
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
