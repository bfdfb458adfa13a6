// healthtwin-twin: keeps each patient's cardiovascular twin current from the vitals table and
// serves it (snapshots, history, predictions, recalibration, updates). See README.md for the
// persistence policy and how replicas share patients (--shard-index / --shard-count).
#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "services/common/audit_checkpointing.h"
#include "services/common/config.h"
#include "services/common/grpc_util.h"
#include "services/common/logging.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"
#include "services/twin/twin_keeper.h"
#include "services/twin/twin_service.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  int shard_index = 0, shard_count = 1;
  int persist_every_s = 600;
  int idle_evict_s = 3600;
  int window_days = 30, recalibrate_days = 7;
  int max_recalibration_window_days = twin::kDefaultMaxRecalibrationWindowDays;
  std::string keyring_dir;
  common::AuditCheckpointFlags checkpoints;
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "twin", {}, [&](CLI::App& app) {
    app.add_option("--shard-index", shard_index, "this replica's shard, 0 .. shard-count - 1");
    app.add_option("--shard-count", shard_count, "number of twin replicas sharing the patients")
        ->check(CLI::Range(1, 4096));
    app.add_option("--persist-every-s", persist_every_s,
                   "a twin updated by samples only is written to twin_snapshots at most this often")
        ->check(CLI::Range(1, 86400));
    app.add_option("--twin-idle-evict-s", idle_evict_s,
                   "a twin that absorbed nothing for this long is persisted and dropped from memory until its "
                   "patient's data (or a Predict/Recalibrate) needs it again; 0 keeps every twin in memory")
        ->check(CLI::Range(0, 365 * 86400));
    app.add_option("--calibration-window-days", window_days, "days of data in a scheduled batch calibration")
        ->check(CLI::Range(2, 365));
    app.add_option("--recalibrate-every-days", recalibrate_days, "days of data between scheduled calibrations")
        ->check(CLI::Range(1, 365));
    app.add_option("--max-recalibration-window-days", max_recalibration_window_days,
                   "longest data window a Recalibrate call may ask for (default 90)")
        ->check(CLI::Range(1, 365));
    checkpoints.AddTo(app, &keyring_dir);
  });
  if (window_days > max_recalibration_window_days) {
    std::fprintf(stderr, "healthtwin-twin: --calibration-window-days %d exceeds --max-recalibration-window-days %d\n",
                 window_days, max_recalibration_window_days);
    return 2;
  }
  auto shard = twin::ShardSpec::Create(shard_index, shard_count);
  if (!shard.ok()) {
    std::fprintf(stderr, "healthtwin-twin: %s\n", std::string(shard.status().message()).c_str());
    return 2;
  }
  twin::KeeperOptions options;
  options.shard = *shard;
  options.persist_every = std::chrono::seconds(persist_every_s);
  options.idle_evict = std::chrono::seconds(idle_evict_s);
  options.calibration_window_days = window_days;
  options.recalibrate_every_days = recalibrate_days;
  options.max_recalibration_window_days = max_recalibration_window_days;

  common::PgPool pool(cfg.db_conninfo, 4, {}, cfg.db_limits);
  common::Executor executor(4);
  twin::TwinKeeper keeper(pool, cfg.db_conninfo, std::make_shared<twin::ModelCache>(), options);
  twin::TwinServiceImpl service(pool, executor, keeper,
                                common::PolicyOrExit("twin", twin::TwinServiceImpl::DefaultPolicy(), cfg.access));
  auto checkpoint_timer = common::EnableAuditCheckpoints(
      common::LoadAuditCheckpointKeyOrExit("twin", keyring_dir), checkpoints, {&service.access()});
  return common::RunService(
      cfg, {&service},
      {.on_first_healthy =
           [&] {
             // Logged here, not before RunService: a process that cannot
             // start must print nothing but its one error line.
             common::LogInfo("twin.shard",
                             {{"index", shard->index}, {"count", shard->count}, {"consumer", shard->ConsumerName()}});
             keeper.Start();
           },
       .on_drain =
           [&] {
             // Within the drain timeout, leaving a second for the server to stop.
             const auto deadline =
                 std::chrono::steady_clock::now() + std::chrono::seconds(cfg.drain_timeout_s) - std::chrono::seconds(1);
             service.Shutdown();
             if (!keeper.StopBy(deadline)) {
               // A round still running (building observation models can take tens of seconds on
               // a loaded machine) would hold the exit past the timeout. Its transaction has not
               // committed, and every persisted twin and the cursor are consistent in
               // PostgreSQL, so leaving now is a crash the keeper is built to survive: the next
               // start re-reads from the cursor.
               common::LogWarn("twin.drain_timeout", {{"note", "a round was still running; exiting without a flush"}});
               if (!cfg.port_file.empty()) std::remove(cfg.port_file.c_str());  // as a finished drain does
               std::_Exit(0);
             }
             if (auto s = keeper.Flush(); !s.ok()) {
               common::LogWarn("twin.flush_failed", {{"error", s.message()}});
             }
           }});
}
