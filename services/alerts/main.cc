// healthtwin-alerts: evaluates alert rules over newly stored vitals and delivers alerts to
// subscribers.
#include "services/alerts/alert_service.h"
#include "services/alerts/evaluator.h"
#include "services/alerts/lifecycle/escalator.h"
#include "services/common/config.h"
#include "services/common/grpc_util.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "alerts", {});

  common::PgPool pool(cfg.db_conninfo, 8, {}, cfg.db_limits);
  common::Executor executor(4);
  alerts::AlertHub hub(pool, cfg.db_conninfo);
  const alerts::lifecycle::Config lifecycle = alerts::lifecycle::DefaultConfig();
  alerts::lifecycle::PgLifecycleStore store(pool, lifecycle, alerts::SystemClock());
  alerts::Evaluator evaluator(pool, cfg.db_conninfo, alerts::HrRuleConfig{}, lifecycle, alerts::SystemClock());
  alerts::lifecycle::Escalator escalator(store);
  alerts::AlertServiceImpl service(
      pool, executor, hub, common::PolicyOrExit("alerts", alerts::AlertServiceImpl::DefaultPolicy(), cfg.access),
      store);
  return common::RunService(
      cfg, {&service},
      {.on_first_healthy =
           [&] {
             // Consumers start once the schema is in place; later outages they ride out themselves.
             hub.Start();
             evaluator.Start();
             escalator.Start();
           },
       .on_drain =
           [&] {
             evaluator.RequestStop();
             escalator.RequestStop();
             hub.RequestStop();
             hub.FinishAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "alerts service shutting down"));
           }});
}
