// healthtwin-alerts: evaluates alert rules over newly stored vitals and delivers alerts to
// subscribers.
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/alerts/alert_service.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/evaluator.h"
#include "services/alerts/lifecycle/escalator.h"
#include "services/alerts/rules/shipped_catalogue.h"
#include "services/common/config.h"
#include "services/common/grpc_util.h"
#include "services/common/logging.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  // The rule catalogue: the evaluator's rules, and it validates per-patient settings
  // (SetPatientAlertSettings). The shipped one is compiled in; --alert-rules replaces it with a
  // file, which must load.
  std::string rules_path;
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "alerts", {}, [&](CLI::App& app) {
    app.add_option("--alert-rules", rules_path,
                   "a rule catalogue (TOML) to use instead of the built-in deploy/config/alert_rules.toml");
  });
  std::string rules_text(alerts::rules::ShippedCatalogueToml());
  if (!rules_path.empty()) {
    std::ifstream in(rules_path);
    if (!in) {
      std::cerr << "healthtwin-alerts: --alert-rules: " << rules_path << ": cannot be read\n";
      return 2;
    }
    std::stringstream text;
    text << in.rdbuf();
    rules_text = text.str();
  }
  const std::string rules_name = rules_path.empty() ? "built-in alert_rules.toml" : rules_path;
  auto rules = alerts::rules::RuleEngine::FromToml(rules_text, rules_name);
  if (rules.ok()) {
    // The evaluator's instants must not step over an episode (evaluation_plan.h).
    if (auto spacing = alerts::CheckInstantSpacing(rules->catalogue()); !spacing.ok()) {
      rules = absl::InvalidArgumentError(absl::StrCat(rules_name, ": ", spacing.message()));
    }
  }
  if (!rules.ok()) {
    std::cerr << "healthtwin-alerts: --alert-rules: " << rules.status().message() << "\n";
    return 2;
  }

  common::PgPool pool(cfg.db_conninfo, 8, {}, cfg.db_limits);
  common::Executor executor(4);
  alerts::AlertHub hub(pool, cfg.db_conninfo);
  // The suppression table comes from the catalogue's `suppresses`.
  const alerts::lifecycle::Config lifecycle = alerts::LifecycleConfigFor(*rules);
  alerts::lifecycle::PgLifecycleStore store(pool, lifecycle, alerts::SystemClock());
  alerts::Evaluator evaluator(pool, cfg.db_conninfo, *rules, lifecycle, alerts::SystemClock());
  alerts::lifecycle::Escalator escalator(store);
  alerts::AlertServiceImpl service(
      pool, executor, hub, common::PolicyOrExit("alerts", alerts::AlertServiceImpl::DefaultPolicy(), cfg.access), store,
      &*rules);
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
