// healthtwin-alerts: evaluates alert rules over newly stored vitals and delivers alerts to
// subscribers.
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "services/alerts/alert_service.h"
#include "services/alerts/evaluation_plan.h"
#include "services/alerts/evaluator.h"
#include "services/alerts/lifecycle/config.h"
#include "services/alerts/lifecycle/escalator.h"
#include "services/alerts/rules/shipped_catalogue.h"
#include "services/common/audit_checkpointing.h"
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
  // Escalation delays (lifecycle/config.h gives the defaults and their reasons); a hospital's
  // alarm policy may change them (The Joint Commission NPSG.06.01.01), and the demo shortens
  // HIGH's so that an escalation is seen within its minutes.
  std::optional<int64_t> escalate_s[3];
  alerts::EvaluatorOptions evaluator_options;
  std::string keyring_dir;
  common::AuditCheckpointFlags checkpoints;
  auto cfg = common::ParseServiceConfigOrExit(argc, argv, "alerts", {}, [&](CLI::App& app) {
    app.add_option("--alert-rules", rules_path,
                   "a rule catalogue (TOML) to use instead of the built-in deploy/config/alert_rules.toml");
    const char* names[] = {"high", "medium", "low"};
    const alerts::lifecycle::Config d;
    const int64_t defaults[] = {d.escalate_high_us / 1'000'000, d.escalate_medium_us / 1'000'000,
                                d.escalate_low_us / 1'000'000};
    for (int i = 0; i < 3; ++i) {
      app.add_option(absl::StrCat("--escalate-", names[i], "-s"), escalate_s[i],
                     absl::StrCat("seconds an unacknowledged ", absl::AsciiStrToUpper(names[i]),
                                  " alert waits before the next care-team tier is called (default ", defaults[i], ")"))
          ->check(CLI::Range(int64_t{1}, int64_t{86400}));
    }
    app.add_option("--window-rows", evaluator_options.max_window_rows,
                   absl::StrCat("vitals rows the evaluator keeps in memory across rounds, all patients together (about "
                                "100 bytes each; least recently used patients are dropped and reloaded; default ",
                                evaluator_options.max_window_rows, ")"));
    checkpoints.AddTo(app, &keyring_dir);
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
  alerts::lifecycle::Config lifecycle = alerts::LifecycleConfigFor(*rules);
  int64_t* delays_us[] = {&lifecycle.escalate_high_us, &lifecycle.escalate_medium_us, &lifecycle.escalate_low_us};
  for (int i = 0; i < 3; ++i) {
    if (escalate_s[i]) *delays_us[i] = *escalate_s[i] * 1'000'000;
  }
  alerts::lifecycle::PgLifecycleStore store(pool, lifecycle, alerts::SystemClock());
  alerts::Evaluator evaluator(pool, cfg.db_conninfo, *rules, lifecycle, alerts::SystemClock(), evaluator_options);
  alerts::lifecycle::Escalator escalator(store);
  alerts::AlertServiceImpl service(
      pool, executor, hub, common::PolicyOrExit("alerts", alerts::AlertServiceImpl::DefaultPolicy(), cfg.access), store,
      &*rules);
  auto checkpoint_timer = common::EnableAuditCheckpoints(
      common::LoadAuditCheckpointKeyOrExit("alerts", keyring_dir), checkpoints, {&service.access()});
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
