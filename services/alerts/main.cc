// healthtwin-alerts: evaluates alert rules over newly stored vitals and delivers alerts to
// subscribers.
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/alerts/alert_service.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/evaluator.h"
#include "services/alerts/lifecycle/escalator.h"
#include "services/common/config.h"
#include "services/common/grpc_util.h"
#include "services/common/logging.h"
#include "services/common/run_service.h"
#include "services/common/service_host.h"

using namespace healthtwin;

int main(int argc, char** argv) {
  common::BlockShutdownSignals();
  // The rule catalogue: the evaluator's rules, and it validates per-patient settings
  // (SetPatientAlertSettings). A catalogue named explicitly must load; the default is optional,
  // so that a deployment without it still serves the alerts already raised (no new alerts are
  // evaluated, logged as an error, and setting settings is FAILED_PRECONDITION).
  constexpr char kDefaultRules[] = "deploy/config/alert_rules.toml";
  std::string rules_path = kDefaultRules;
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "alerts", {}, [&](CLI::App& app) {
    app.add_option("--alert-rules", rules_path,
                   "the rule catalogue (TOML) per-patient alert settings are checked against")
        ->capture_default_str();
  });
  std::optional<alerts::rules::RuleEngine> rules;
  {
    std::ifstream in(rules_path);
    std::stringstream text;
    text << in.rdbuf();
    auto engine = in ? alerts::rules::RuleEngine::FromToml(text.str(), rules_path)
                     : absl::StatusOr<alerts::rules::RuleEngine>(absl::NotFoundError(rules_path + ": cannot be read"));
    if (engine.ok()) {
      // The evaluator's instants must not step over an episode (evaluation_plan.h).
      if (auto spacing = alerts::CheckInstantSpacing(engine->catalogue()); !spacing.ok()) {
        engine = absl::InvalidArgumentError(absl::StrCat(rules_path, ": ", spacing.message()));
      }
    }
    if (engine.ok()) {
      rules.emplace(*std::move(engine));
    } else if (rules_path != kDefaultRules) {
      std::cerr << "healthtwin-alerts: --alert-rules: " << engine.status().message() << "\n";
      return 2;
    } else {
      common::LogError("alerts.no_rule_catalogue",
                       {{"error", std::string(engine.status().message())}, {"effect", "no alerts are evaluated"}});
    }
  }

  common::PgPool pool(cfg.db_conninfo, 8, {}, cfg.db_limits);
  common::Executor executor(4);
  alerts::AlertHub hub(pool, cfg.db_conninfo);
  // The suppression table comes from the catalogue's `suppresses`.
  const alerts::lifecycle::Config lifecycle =
      rules ? alerts::LifecycleConfigFor(*rules) : alerts::lifecycle::DefaultConfig();
  alerts::lifecycle::PgLifecycleStore store(pool, lifecycle, alerts::SystemClock());
  std::optional<alerts::Evaluator> evaluator;
  if (rules) evaluator.emplace(pool, cfg.db_conninfo, *rules, lifecycle, alerts::SystemClock());
  alerts::lifecycle::Escalator escalator(store);
  alerts::AlertServiceImpl service(
      pool, executor, hub, common::PolicyOrExit("alerts", alerts::AlertServiceImpl::DefaultPolicy(), cfg.access), store,
      rules ? &*rules : nullptr);
  return common::RunService(
      cfg, {&service},
      {.on_first_healthy =
           [&] {
             // Consumers start once the schema is in place; later outages they ride out themselves.
             hub.Start();
             if (evaluator) evaluator->Start();
             escalator.Start();
           },
       .on_drain =
           [&] {
             if (evaluator) evaluator->RequestStop();
             escalator.RequestStop();
             hub.RequestStop();
             hub.FinishAll(grpc::Status(grpc::StatusCode::UNAVAILABLE, "alerts service shutting down"));
           }});
}
