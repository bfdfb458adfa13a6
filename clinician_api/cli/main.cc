// healthtwin: the command-line client for clinicians and administrators.
//
//   healthtwin [--api HOST:PORT] [--pki DIR --as NAME | --ca F --cert F --key F] COMMAND
//   healthtwin whoami
//   healthtwin health --addr HOST:PORT --service NAME [--check SERVICE] [--wait-s S]
//   healthtwin vitals --patient ID [--type heart_rate] [--since 1h] [--bucket-s 60] [--json]
//   healthtwin alerts watch [--patient ID ...] [--since 10m] [--count N] [--timeout-s S]
//   healthtwin alerts ack ALERT_ID [--note TEXT]
//   healthtwin alerts list|show|shelve|stats ..., healthtwin patient alert-settings get|set ...
//                                      (see clinician_api/cli/alert_commands.h)
//   healthtwin admin create-patient --patient ID [--sex female|male|other] [--birth-year Y] [--height-cm H]
//                                   [--given G --family F --birth-date YYYY-MM-DD --mrn MRN [--mrn-system URI]
//                                    [--phone P] [--email E] [--address A]]   (stored encrypted)
//   healthtwin admin find-patient --mrn MRN [--mrn-system URI]   (prints the patient id)
//   healthtwin admin bind-device --device ID --kind KIND --patient ID --gateway BRIDGE [--gateway ...]
//       [--readings-since 30d]
//   healthtwin admin add-care-team --patient ID --member NAME [--tier 1-9]
//   healthtwin admin remove-care-team --patient ID --member NAME
//   healthtwin admin release-quarantine --device ID
//   healthtwin admin feed add|list|status|pause|resume|replay ...   (see clinician_api/cli/feed_commands.h)
//   healthtwin patient show --patient ID [--json]   (identifying data; care team or break-glass)
//   healthtwin admin update-patient --patient ID [--given G] [--family F] ... (see cli/identity_commands.h)
//   healthtwin break-glass --patient ID --reason-code ETREAT|BTG --reason TEXT [--for 30m]
//   healthtwin admin break-glass list|review ...   (see clinician_api/cli/break_glass_commands.h)
//   healthtwin admin study create|add-patient|add-researcher|list ...   (see cli/research_commands.h)
//   healthtwin research patients|vitals|twin|whatif --study S ...   (de-identified; see cli/research_commands.h)
//   healthtwin admin keys status|rotate|retire --db CONNINFO --keyring DIR ...
//                                      (the database directly; see clinician_api/cli/key_commands.h)
//   healthtwin admin keys reencrypt [--patient P] [--batch N]
//                                      (through the registry; see clinician_api/cli/reencrypt_command.h)
//   healthtwin admin issue-token --subject S --role R --scopes "..." [--ttl 15m] --issuer-key PEM
//       --issuer ISS --audience AUD [--bind-cert PEM]   (prints a JWT; clinician_api/cli/token_commands.h)
//   healthtwin audit verify|checkpoints export|checkpoint --db CONNINFO ...
//                                      (the database directly; see clinician_api/cli/audit_commands.h)
//   healthtwin model run|long --patient standard|FILE.json ...   (offline; see models/cli_commands.h)
//   healthtwin twin calibrate --vitals FILE.csv [--patient FILE.json] [--json]
//                                      (offline; see models/calibration/cli_commands.h)
//   healthtwin twin show --patient ID [--as-of 2026-01-31T12:00:00Z] [--json]   (through clinician_api)
//   healthtwin twin predict --patient ID [--horizon-h 24] [--json]
//                                      (through clinician_api; see clinician_api/cli/predict_command.h)
//   healthtwin sim cohort|whatif ...   (offline; see models/treatment/sim_commands.h)
//   healthtwin score news2 [--json] [--spo2 N --heart-rate N ...]   (offline; see models/scores/cli_commands.h)
//   healthtwin job submit|watch|results|cancel ..., healthtwin whatif --patient ID ...
//                                      (the simulation service; see clinician_api/cli/simulation_client.h)
//
// Defaults come from HEALTHTWIN_API, HEALTHTWIN_REGISTRY, HEALTHTWIN_PKI and HEALTHTWIN_AS.
// Every server must prove who it is: its certificate must name the service we meant (DNS SAN
// "clinician_api" for --api, "ingest" for --registry, "simulation" for --simulation, the
// --service of `health`); --api-identity and friends name other identities.
// Exit codes: 0 success, 1 the server refused or failed, 2 bad arguments or credentials.
#include <grpcpp/grpcpp.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <thread>

#include "absl/time/time.h"
#include "clinician_api/cli/alert_commands.h"
#include "clinician_api/cli/audit_commands.h"
#include "clinician_api/cli/break_glass_commands.h"
#include "clinician_api/cli/feed_commands.h"
#include "clinician_api/cli/identity_commands.h"
#include "clinician_api/cli/key_commands.h"
#include "clinician_api/cli/predict_command.h"
#include "clinician_api/cli/reencrypt_command.h"
#include "clinician_api/cli/research_commands.h"
#include "clinician_api/cli/simulation_client.h"
#include "clinician_api/cli/token_commands.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "models/calibration/cli_commands.h"
#include "models/cli_commands.h"
#include "models/scores/cli_commands.h"
#include "models/treatment/sim_commands.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"
#include "services/common/vital_type.h"

namespace {

using namespace healthtwin;
namespace clin = healthtwin::clinician::v1;
namespace reg = healthtwin::registry::v1;
namespace vit = healthtwin::vitals::v1;
namespace alr = healthtwin::alerts::v1;

std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v ? v : fallback;
}

[[noreturn]] void Die(int code, const std::string& msg) {
  std::cerr << "healthtwin: " << msg << "\n";
  std::exit(code);
}

int Fail(const grpc::Status& s) {
  if (common::IsPeerNameMismatch(s)) {
    std::cerr << "healthtwin: the server is not the service expected here: " << s.error_message()
              << " (check the address, or --service / --*-identity)\n";
    return 2;
  }
  if (common::IsTlsHandshakeFailure(s)) {
    std::cerr << "healthtwin: TLS handshake refused: the server and this certificate do not share a CA "
                 "(check --ca/--cert or --pki/--as)\n";
    return 2;
  }
  std::cerr << "healthtwin: " << common::FromGrpcStatus(s).ToString() << "\n";
  return 1;
}

// Parses "90s", "10m", "2h", "7d" into microseconds.
int64_t ParseDurationUs(const std::string& s, const std::string& flag = "--since") {
  if (s.size() < 2) Die(2, flag + ": expected a duration like 90s, 10m, 2h or 7d, got '" + s + "'");
  int64_t n = 0;
  try {
    std::size_t used = 0;
    n = std::stoll(s.substr(0, s.size() - 1), &used);
    if (used != s.size() - 1 || n < 0) throw std::invalid_argument(s);
  } catch (const std::exception&) {
    Die(2, flag + ": expected a duration like 90s, 10m, 2h or 7d, got '" + s + "'");
  }
  switch (s.back()) {
    case 's':
      return n * 1'000'000;
    case 'm':
      return n * 60'000'000;
    case 'h':
      return n * 3'600'000'000;
    case 'd':
      return n * 86'400'000'000;
  }
  Die(2, flag + ": unit must be s, m, h or d, got '" + s + "'");
}

struct Connection {
  std::string api = Env("HEALTHTWIN_API");
  std::string registry = Env("HEALTHTWIN_REGISTRY");
  std::string pki = Env("HEALTHTWIN_PKI");
  std::string as = Env("HEALTHTWIN_AS");
  // A bearer token (docs/security.md) sent on every call to clinician_api, never to another
  // service; empty: the certificate alone.
  std::string token = Env("HEALTHTWIN_TOKEN");
  common::TlsFiles tls;
  std::string api_identity = "clinician_api";
  std::string registry_identity = "ingest";  // The registry runs in the ingest process.
  std::string simulation_identity = "simulation";

  // `expected` is the identity (certificate DNS SAN) the server at `address` must prove.
  std::shared_ptr<grpc::Channel> Open(const std::string& address, const char* flag, const std::string& expected) {
    if (address.empty()) Die(2, std::string(flag) + ": the server address is required");
    if (tls.ca_cert_path.empty() && !pki.empty()) tls.ca_cert_path = pki + "/ca.pem";
    if (tls.cert_path.empty() && !pki.empty() && !as.empty()) tls.cert_path = pki + "/" + as + ".pem";
    if (tls.key_path.empty() && !pki.empty() && !as.empty()) tls.key_path = pki + "/" + as + ".key";
    if (tls.ca_cert_path.empty() || tls.cert_path.empty() || tls.key_path.empty()) {
      Die(2, "credentials: give --pki DIR and --as NAME, or --ca, --cert and --key");
    }
    if (!token.empty() && expected == api_identity) return OpenWithToken(address, expected);
    auto ch = common::MakePeerChannel(address, tls, expected);
    if (!ch.ok()) Die(2, std::string(ch.status().message()));
    return *ch;
  }

  // MakePeerChannel's mutual TLS and peer name, with the token as call credentials
  // ("authorization: Bearer <token>", sent only over TLS).
  std::shared_ptr<grpc::Channel> OpenWithToken(const std::string& address, const std::string& expected) {
    auto creds = common::MakeChannelCredentials(tls);
    if (!creds.ok()) Die(2, std::string(creds.status().message()));
    grpc::ChannelArguments args;
    args.SetSslTargetNameOverride(expected);
    return grpc::CreateCustomChannel(
        address, grpc::CompositeChannelCredentials(*creds, grpc::AccessTokenCredentials(token)), args);
  }
};

std::string FormatAlert(const alr::AlertEvent& ev) {
  const auto& a = ev.alert();
  std::string prio = alr::Priority_Name(a.priority()).substr(std::string("PRIORITY_").size());
  // A new alert reads ALERT; every later event is named by its kind (ESCALATED, ACKNOWLEDGED, ...).
  std::string kind = ev.kind() == alr::AlertEvent::KIND_RAISED
                         ? "ALERT"
                         : alr::AlertEvent::Kind_Name(ev.kind()).substr(std::string("KIND_").size());
  std::string state = alr::AlertState_Name(a.state()).substr(std::string("ALERT_STATE_").size());
  std::string line = "[" + common::FormatTimestamp(a.raised_at()) + "] " + kind + " " + prio + " " + a.patient_id() +
                     " " + a.rule_id() + ": " + a.summary() + " (" + state + ", tier " + std::to_string(a.tier()) +
                     ", id " + a.alert_id() + ")";
  if (ev.kind() != alr::AlertEvent::KIND_RAISED && !ev.record().reason().empty()) line += ": " + ev.record().reason();
  return line;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("healthtwin: clinician and admin command line", "healthtwin");
  app.require_subcommand(1);
  Connection conn;
  app.add_option("--api", conn.api, "clinician_api address (HEALTHTWIN_API)");
  app.add_option("--registry", conn.registry, "registry (ingest) address for admin commands (HEALTHTWIN_REGISTRY)");
  app.add_option("--pki", conn.pki, "directory with ca.pem and NAME.pem/NAME.key (HEALTHTWIN_PKI)");
  app.add_option("--as", conn.as, "identity within --pki, e.g. dr-alice (HEALTHTWIN_AS)");
  app.add_option("--ca", conn.tls.ca_cert_path, "CA bundle");
  app.add_option("--cert", conn.tls.cert_path, "client certificate");
  app.add_option("--key", conn.tls.key_path, "client private key");
  app.add_option("--token", conn.token,
                 "bearer token for clinician_api calls, e.g. from 'admin issue-token' (HEALTHTWIN_TOKEN)");
  app.add_option("--api-identity", conn.api_identity, "name clinician_api's certificate must carry")
      ->capture_default_str();
  app.add_option("--registry-identity", conn.registry_identity, "name the registry's certificate must carry")
      ->capture_default_str();
  app.add_option("--simulation-identity", conn.simulation_identity,
                 "name the simulation service's certificate must carry")
      ->capture_default_str();

  auto* whoami = app.add_subcommand("whoami", "show the identity the server sees");
  healthtwin::models::cli::ModelCommands model(app);             // offline: no server, no certificates
  healthtwin::models::treatment::SimCommands sim(app);           // offline: no server, no certificates
  healthtwin::models::calibration::cli::TwinCommands twin(app);  // `twin calibrate` is offline
  healthtwin::models::scores::cli::ScoreCommands score(app);     // offline: no server, no certificates
  healthtwin::cli::SimulationClientCommands jobs(app, [&conn](const std::string& address, const char* flag) {
    return conn.Open(address, flag, conn.simulation_identity);
  });
  auto* twin_show = twin.twin_command()->add_subcommand("show", "show a patient's twin (through clinician_api)");
  std::string ts_patient, ts_as_of;
  bool ts_json = false;
  twin_show->add_option("--patient", ts_patient, "patient id")->required();
  twin_show->add_option("--as-of", ts_as_of,
                        "what the twin believed at this instant, RFC 3339 (e.g. 2026-01-31T12:00:00Z)");
  twin_show->add_flag("--json", ts_json, "one JSON object");

  auto* health = app.add_subcommand("health", "check a service's grpc.health.v1 status");
  std::string h_addr, h_service, h_check;
  int h_wait_s = 0;
  health->add_option("--addr", h_addr, "service host:port")->required();
  health->add_option("--service", h_service, "the service expected at --addr (its certificate name), e.g. ingest")
      ->required();
  health->add_option("--check", h_check, "health service name to ask about, e.g. healthtwin.tls (default: the server)");
  health->add_option("--wait-s", h_wait_s, "keep asking until SERVING for up to this long")
      ->check(CLI::NonNegativeNumber);

  auto* vitals = app.add_subcommand("vitals", "show a patient's stored vitals");
  std::string v_patient, v_type, v_since = "1h";
  uint32_t v_bucket = 0, v_limit = 50;
  bool v_json = false;
  vitals->add_option("--patient", v_patient, "patient id")->required();
  vitals->add_option("--type", v_type, "heart_rate, systolic_bp, spo2, ... (default: all)");
  vitals->add_option("--since", v_since, "how far back, e.g. 10m, 2h, 7d");
  vitals->add_option("--bucket-s", v_bucket, "min/max/mean per bucket of this many seconds");
  vitals->add_option("--limit", v_limit, "at most this many rows")->check(CLI::Range(1, 10000));
  vitals->add_flag("--json", v_json, "one JSON object per line");

  auto* alerts = app.add_subcommand("alerts", "list, watch, show, acknowledge and shelve alerts; alarm burden");
  alerts->require_subcommand(1);
  auto* watch = alerts->add_subcommand("watch", "print alerts as they arrive");
  std::vector<std::string> w_patients;
  std::string w_since;
  int w_count = 0, w_timeout_s = 0;
  watch->add_option("--patient", w_patients, "only these patients (default: all of yours)");
  watch->add_option("--since", w_since, "also replay alerts raised this long ago, e.g. 10m");
  watch->add_option("--count", w_count, "exit 0 after this many events")->check(CLI::PositiveNumber);
  watch->add_option("--timeout-s", w_timeout_s, "exit 1 if not done after this many seconds")
      ->check(CLI::PositiveNumber);
  auto* ack = alerts->add_subcommand("ack", "acknowledge an alert");
  std::string a_id, a_note;
  ack->add_option("alert_id", a_id, "alert id")->required();
  ack->add_option("--note", a_note, "note for the record");
  healthtwin::cli::AlertCommands alert_commands(
      app, *alerts, {.open = [&conn] { return conn.Open(conn.api, "--api", conn.api_identity); }, .fail = Fail});

  auto* admin = app.add_subcommand("admin", "registry administration (admin certificate)");
  admin->require_subcommand(1);
  auto* create = admin->add_subcommand("create-patient", "register a patient");
  std::string c_patient, c_sex;
  uint32_t c_birth_year = 0;
  double c_height = 0;
  create->add_option("--patient", c_patient, "patient id")->required();
  create->add_option("--sex", c_sex, "female, male or other")->check(CLI::IsMember({"female", "male", "other"}));
  create->add_option("--birth-year", c_birth_year, "year of birth");
  create->add_option("--height-cm", c_height, "height in cm");
  // Identifying data, stored only encrypted by the registry (issue 13, migration 0017).
  std::string c_given, c_family, c_birth_date, c_mrn, c_mrn_system, c_phone, c_email, c_address;
  create->add_option("--given", c_given, "given name");
  create->add_option("--family", c_family, "family name");
  create->add_option("--birth-date", c_birth_date, "date of birth, YYYY-MM-DD");
  create->add_option("--mrn", c_mrn, "medical record number");
  create->add_option("--mrn-system", c_mrn_system, "the MRN's assigning authority (URI; default urn:healthtwin:mrn)");
  create->add_option("--phone", c_phone, "phone number");
  create->add_option("--email", c_email, "email address");
  create->add_option("--address", c_address, "postal address");
  auto* find = admin->add_subcommand("find-patient", "the patient with this MRN (blind index; prints its id)");
  std::string f_mrn, f_mrn_system;
  find->add_option("--mrn", f_mrn, "medical record number")->required();
  find->add_option("--mrn-system", f_mrn_system, "the MRN's assigning authority (default urn:healthtwin:mrn)");
  auto* bind = admin->add_subcommand("bind-device", "bind a device to a patient");
  std::string b_device, b_kind, b_patient;
  bind->add_option("--device", b_device, "device id")->required();
  bind->add_option("--kind", b_kind,
                   "heart_rate_strap, blood_pressure_cuff, pulse_oximeter, thermometer, "
                   "weight_scale, glucose_meter or synthetic")
      ->required();
  bind->add_option("--patient", b_patient, "patient id")->required();
  std::vector<std::string> b_gateways;
  bind->add_option("--gateway", b_gateways,
                   "bridge (certificate CN) allowed to forward this device; repeat for several")
      ->required();
  std::string b_readings_since;
  bind->add_option("--readings-since", b_readings_since,
                   "the device's readings measured this long ago (e.g. 30d) and later are the patient's: a device "
                   "that was theirs before it was bound, with stored readings (default: only readings from now on)");
  auto* release = admin->add_subcommand("release-quarantine", "move a device's quarantined samples to its patient");
  std::string r_device;
  release->add_option("--device", r_device, "device id")->required();
  auto* team = admin->add_subcommand("add-care-team", "add a clinician to a patient's care team");
  std::string t_patient, t_member;
  int t_tier = 1;
  team->add_option("--patient", t_patient, "patient id")->required();
  team->add_option("--member", t_member, "certificate common name, e.g. dr-alice")->required();
  team->add_option("--tier", t_tier,
                   "escalation tier: 1 primary nurse (default), 2 physician, 3 on call, ... (1-9); an unacknowledged "
                   "alert is escalated to the next tier")
      ->check(CLI::Range(1, 9));
  auto* untie = admin->add_subcommand("remove-care-team",
                                      "remove a member from a patient's care team (their open alert streams stop "
                                      "carrying that patient)");
  std::string u_patient, u_member;
  untie->add_option("--patient", u_patient, "patient id")->required();
  untie->add_option("--member", u_member, "certificate common name, e.g. dr-alice")->required();
  healthtwin::cli::FeedCommands feed_commands(
      *admin,
      {.open = [&conn] { return conn.Open(conn.registry, "--registry", conn.registry_identity); }, .fail = Fail});

  healthtwin::cli::KeyCommands key_commands(*admin);
  healthtwin::cli::ReencryptCommand reencrypt_command(
      key_commands.keys(),
      {.open = [&conn] { return conn.Open(conn.registry, "--registry", conn.registry_identity); }, .fail = Fail});
  healthtwin::cli::TokenCommands token_commands(*admin);
  healthtwin::cli::BreakGlassCommands break_glass_commands(
      app, *admin, {.open = [&conn] { return conn.Open(conn.api, "--api", conn.api_identity); }, .fail = Fail});
  healthtwin::cli::IdentityCommands identity_commands(
      app, *admin, {.open = [&conn] { return conn.Open(conn.api, "--api", conn.api_identity); }, .fail = Fail},
      {.open = [&conn] { return conn.Open(conn.registry, "--registry", conn.registry_identity); }, .fail = Fail});
  healthtwin::cli::ResearchCommands research_commands(
      app, *admin, {.open = [&conn] { return conn.Open(conn.api, "--api", conn.api_identity); }, .fail = Fail},
      {.open = [&conn] { return conn.Open(conn.registry, "--registry", conn.registry_identity); }, .fail = Fail});
  healthtwin::cli::AuditCommands audit_commands(app);
  healthtwin::cli::PredictCommand predict_command(
      *twin.twin_command(),
      {.open = [&conn] { return conn.Open(conn.api, "--api", conn.api_identity); }, .fail = Fail});

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "healthtwin: " << e.what() << "\n";
    return 2;
  }

  if (model.parsed()) return model.Run(std::cout, std::cerr);
  if (sim.parsed()) return sim.Run(std::cout, std::cerr);
  if (jobs.parsed()) return jobs.Run(std::cout, std::cerr);
  if (twin.parsed()) return twin.Run(std::cout, std::cerr);
  if (score.parsed()) return score.Run(std::cout, std::cerr);
  if (alert_commands.parsed()) return alert_commands.Run(std::cout, std::cerr);
  if (feed_commands.parsed()) return feed_commands.Run(std::cout, std::cerr);
  if (audit_commands.parsed()) return audit_commands.Run(std::cout, std::cerr);
  if (reencrypt_command.parsed()) return reencrypt_command.Run(std::cout, std::cerr);  // before keys: its parent
  if (key_commands.parsed()) return key_commands.Run(std::cout, std::cerr);
  if (token_commands.parsed()) {
    return token_commands.Run(std::cout, std::cerr, absl::ToUnixSeconds(absl::Now()));
  }
  if (break_glass_commands.parsed()) return break_glass_commands.Run(std::cout, std::cerr);
  if (identity_commands.parsed()) return identity_commands.Run(std::cout, std::cerr);
  if (predict_command.parsed()) return predict_command.Run(std::cout);
  if (research_commands.parsed()) return research_commands.Run(std::cout, std::cerr);

  if (twin_show->parsed()) {
    clin::GetTwinRequest req;
    req.set_patient_id(ts_patient);
    if (!ts_as_of.empty()) {
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, ts_as_of, &t, &err)) {
        Die(2, "--as-of: expected an RFC 3339 time like 2026-01-31T12:00:00Z, got '" + ts_as_of + "'");
      }
      *req.mutable_as_of() = common::FromUnixMicros(absl::ToUnixMicros(t));
    }
    auto stub = clin::ClinicianService::NewStub(conn.Open(conn.api, "--api", conn.api_identity));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    healthtwin::twin::v1::TwinSnapshot snap;
    auto s = stub->GetTwin(&ctx, req, &snap);
    if (!s.ok()) return Fail(s);
    auto when = [](const google::protobuf::Timestamp& ts) { return common::FormatTimestamp(ts); };
    const std::string reason =
        healthtwin::twin::v1::UpdateReason_Name(snap.reason()).substr(std::string("UPDATE_REASON_").size());
    if (ts_json) {
      nlohmann::json params = nlohmann::json::array();
      for (const auto& p : snap.parameters()) {
        params.push_back({{"name", p.name()},
                          {"value", p.value()},
                          {"std_dev", p.std_dev()},
                          {"lower_90", p.lower_90()},
                          {"upper_90", p.upper_90()},
                          {"fixed_at_prior", p.fixed_at_prior()}});
      }
      nlohmann::json j{{"patient_id", snap.patient_id()},
                       {"version", snap.version()},
                       {"reason", reason},
                       {"model_version", snap.model_version()},
                       {"created_at", when(snap.created_at())},
                       {"calibrated", snap.calibrated()},
                       {"samples_absorbed", snap.samples_absorbed()},
                       {"parameters", params},
                       {"covariance", snap.covariance()}};
      if (snap.has_data_window_start())
        j["data_window"] = {when(snap.data_window_start()), when(snap.data_window_end())};
      if (snap.has_state_time()) j["state_time"] = when(snap.state_time());
      if (!snap.last_calibration_error().empty()) j["last_calibration_error"] = snap.last_calibration_error();
      std::cout << j.dump() << "\n";
      return 0;
    }
    std::cout << "twin of " << snap.patient_id() << ": version " << snap.version() << " (" << reason << "), written "
              << when(snap.created_at()) << "\n";
    std::cout << "model: " << snap.model_version() << "\n";
    if (snap.has_data_window_start()) {
      std::cout << "calibrated on data " << when(snap.data_window_start()) << " .. " << when(snap.data_window_end())
                << "\n";
    } else {
      std::cout << "not calibrated yet (population prior"
                << (snap.samples_absorbed() > 0 ? " + sequential updates" : "") << ")\n";
    }
    if (snap.has_state_time()) {
      std::cout << "newest sample " << when(snap.state_time()) << ", " << snap.samples_absorbed()
                << " samples absorbed since the last calibration\n";
    }
    if (!snap.last_calibration_error().empty()) {
      std::cout << "last calibration attempt failed: " << snap.last_calibration_error() << "\n";
    }
    std::cout << "parameter                   value    90 % interval\n";
    for (const auto& p : snap.parameters()) {
      char line[200];
      std::snprintf(line, sizeof line, "%-26s %+7.3f  [%+7.3f, %+7.3f]%s", p.name().c_str(), p.value(), p.lower_90(),
                    p.upper_90(), p.fixed_at_prior() ? "  (prior-dominated)" : "");
      std::cout << line << "\n";
    }
    return 0;
  }

  if (whoami->parsed()) {
    auto stub = clin::ClinicianService::NewStub(conn.Open(conn.api, "--api", conn.api_identity));
    grpc::ClientContext ctx;
    clin::WhoAmIResponse resp;
    auto s = stub->WhoAmI(&ctx, {}, &resp);
    if (!s.ok()) return Fail(s);
    std::cout << resp.subject() << " (" << resp.role() << ")\n";
    return 0;
  }

  if (health->parsed()) {
    auto stub = grpc::health::v1::Health::NewStub(conn.Open(h_addr, "--addr", h_service));
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(h_wait_s);
    while (true) {
      grpc::ClientContext ctx;
      const auto left = std::max(until - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration(0));
      // Each attempt gets 1-2 s, so --wait-s overshoots by at most a second.
      ctx.set_deadline(std::chrono::system_clock::now() + std::clamp<std::chrono::steady_clock::duration>(
                                                              left, std::chrono::seconds(1), std::chrono::seconds(2)));
      grpc::health::v1::HealthCheckRequest req;
      req.set_service(h_check);
      grpc::health::v1::HealthCheckResponse resp;
      auto s = stub->Check(&ctx, req, &resp);
      const bool serving = s.ok() && resp.status() == grpc::health::v1::HealthCheckResponse::SERVING;
      if (common::IsTlsHandshakeFailure(s) || common::IsPeerNameMismatch(s)) return Fail(s);
      if (serving || std::chrono::steady_clock::now() >= until) {
        std::cout << h_addr << " "
                  << (s.ok() ? grpc::health::v1::HealthCheckResponse::ServingStatus_Name(resp.status())
                             : "UNREACHABLE: " + s.error_message())
                  << "\n";
        return serving ? 0 : 1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  if (vitals->parsed()) {
    auto stub = clin::ClinicianService::NewStub(conn.Open(conn.api, "--api", conn.api_identity));
    vit::QueryVitalsRequest req;
    req.set_patient_id(v_patient);
    if (!v_type.empty()) {
      auto t = common::VitalTypeFromName(v_type);
      if (!t) Die(2, "--type: unknown vital type '" + v_type + "'");
      req.add_types(static_cast<vit::VitalType>(*t));
    }
    const int64_t now = common::NowUnixMicros();
    *req.mutable_start() = common::FromUnixMicros(now - ParseDurationUs(v_since));
    *req.mutable_end() = common::FromUnixMicros(now + 60'000'000);
    req.set_bucket_s(v_bucket);
    req.set_page_size(v_limit);
    grpc::ClientContext ctx;
    vit::QueryVitalsResponse resp;
    auto s = stub->GetVitals(&ctx, req, &resp);
    if (!s.ok()) return Fail(s);
    auto type_name = [](int t) { return std::string(common::VitalTypeName(static_cast<common::VitalType>(t))); };
    for (const auto& v : resp.samples()) {
      const auto at = common::FormatTimestamp(v.measured_at());
      if (v_json) {
        std::cout << nlohmann::json{{"measured_at", at},
                                    {"type", type_name(v.type())},
                                    {"value", v.value()},
                                    {"ucum_unit", v.ucum_unit()},
                                    {"device_id", v.device_id()}}
                         .dump()
                  << "\n";
      } else {
        std::cout << at << "  " << type_name(v.type()) << "  " << v.value() << " " << v.ucum_unit() << "  ("
                  << v.device_id() << ")\n";
      }
    }
    for (const auto& b : resp.buckets()) {
      const auto at = common::FormatTimestamp(b.bucket_start());
      if (v_json) {
        std::cout << nlohmann::json{{"bucket_start", at},
                                    {"type", type_name(b.type())},
                                    {"min", b.min()},
                                    {"max", b.max()},
                                    {"mean", b.mean()},
                                    {"count", b.count()},
                                    {"ucum_unit", b.ucum_unit()}}
                         .dump()
                  << "\n";
      } else {
        std::cout << at << "  " << type_name(b.type()) << "  min " << b.min() << "  mean " << b.mean() << "  max "
                  << b.max() << " " << b.ucum_unit() << "  (n=" << b.count() << ")\n";
      }
    }
    if (resp.samples_size() == 0 && resp.buckets_size() == 0 && !v_json) std::cout << "no vitals in that range\n";
    return 0;
  }

  if (watch->parsed()) {
    auto stub = clin::ClinicianService::NewStub(conn.Open(conn.api, "--api", conn.api_identity));
    alr::SubscribeRequest req;
    for (const auto& p : w_patients) req.add_patient_ids(p);
    if (!w_since.empty())
      *req.mutable_since() = common::FromUnixMicros(common::NowUnixMicros() - ParseDurationUs(w_since));
    grpc::ClientContext ctx;
    if (w_timeout_s > 0) ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(w_timeout_s));
    auto reader = stub->SubscribeAlerts(&ctx, req);
    std::cerr << "healthtwin: watching alerts (Ctrl-C to stop)\n";
    alr::AlertEvent ev;
    int seen = 0;
    while (reader->Read(&ev)) {
      std::cout << FormatAlert(ev) << std::endl;
      if (w_count > 0 && ++seen >= w_count) {
        ctx.TryCancel();
        return 0;
      }
    }
    auto s = reader->Finish();
    if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
      std::cerr << "healthtwin: no more alerts within " << w_timeout_s << " s\n";
      return 1;
    }
    return s.ok() ? 0 : Fail(s);
  }

  if (ack->parsed()) {
    auto stub = clin::ClinicianService::NewStub(conn.Open(conn.api, "--api", conn.api_identity));
    clin::AcknowledgeAlertRequest req;
    req.set_alert_id(a_id);
    req.set_note(a_note);
    grpc::ClientContext ctx;
    alr::Alert resp;
    auto s = stub->AcknowledgeAlert(&ctx, req, &resp);
    if (!s.ok()) return Fail(s);
    alr::AlertEvent ev;
    ev.set_kind(alr::AlertEvent::KIND_ACKNOWLEDGED);
    *ev.mutable_alert() = resp;
    std::cout << FormatAlert(ev) << "\n";
    return 0;
  }

  auto stub = reg::RegistryService::NewStub(conn.Open(conn.registry, "--registry", conn.registry_identity));
  grpc::ClientContext ctx;
  grpc::Status s;
  if (create->parsed()) {
    reg::CreatePatientRequest req;
    auto* p = req.mutable_patient();
    p->set_patient_id(c_patient);
    if (c_sex == "female") p->set_sex(reg::SEX_FEMALE);
    if (c_sex == "male") p->set_sex(reg::SEX_MALE);
    if (c_sex == "other") p->set_sex(reg::SEX_OTHER);
    p->set_birth_year(c_birth_year);
    p->set_height_cm(c_height);
    if (!(c_given + c_family + c_birth_date + c_mrn + c_mrn_system + c_phone + c_email + c_address).empty()) {
      auto* id = req.mutable_identity();
      id->set_given(c_given);
      id->set_family(c_family);
      id->set_birth_date(c_birth_date);
      id->set_mrn(c_mrn);
      id->set_mrn_system(c_mrn_system);
      id->set_phone(c_phone);
      id->set_email(c_email);
      id->set_address(c_address);
    }
    reg::Patient resp;
    s = stub->CreatePatient(&ctx, req, &resp);
    if (s.ok()) std::cout << "created patient " << resp.patient_id() << "\n";
  } else if (find->parsed()) {
    reg::FindPatientByMrnRequest req;
    req.set_mrn(f_mrn);
    req.set_mrn_system(f_mrn_system);
    reg::Patient resp;
    s = stub->FindPatientByMrn(&ctx, req, &resp);
    if (s.ok()) std::cout << resp.patient_id() << "\n";
  } else if (bind->parsed()) {
    reg::DeviceKind kind;
    std::string upper = "DEVICE_KIND_";
    for (char c : b_kind) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!reg::DeviceKind_Parse(upper, &kind) || kind == reg::DEVICE_KIND_UNSPECIFIED) {
      Die(2, "--kind: unknown device kind '" + b_kind + "'");
    }
    reg::BindDeviceRequest req;
    req.mutable_device()->set_device_id(b_device);
    req.mutable_device()->set_kind(kind);
    req.set_patient_id(b_patient);
    for (const auto& g : b_gateways) req.add_gateway_ids(g);
    if (!b_readings_since.empty()) {
      *req.mutable_readings_since() =
          common::FromUnixMicros(common::NowUnixMicros() - ParseDurationUs(b_readings_since, "--readings-since"));
    }
    reg::Device resp;
    s = stub->BindDevice(&ctx, req, &resp);
    if (s.ok()) {
      std::cout << "bound device " << resp.device_id() << " to " << resp.patient_id() << " via";
      for (const auto& g : resp.gateway_ids()) std::cout << " " << g;
      std::cout << "\n";
    }
  } else if (release->parsed()) {
    reg::ReleaseQuarantineRequest req;
    req.set_device_id(r_device);
    reg::ReleaseQuarantineResponse resp;
    s = stub->ReleaseQuarantine(&ctx, req, &resp);
    if (s.ok()) {
      std::cout << "released " << resp.released_count() << " samples of " << r_device << " (" << resp.duplicate_count()
                << " were already stored, " << resp.held_count()
                << " still held: another gateway or measured before the binding)\n";
    }
  } else if (team->parsed()) {
    reg::AddCareTeamMemberRequest req;
    req.set_patient_id(t_patient);
    req.set_member(t_member);
    req.set_tier(static_cast<uint32_t>(t_tier));
    reg::AddCareTeamMemberResponse resp;
    s = stub->AddCareTeamMember(&ctx, req, &resp);
    if (s.ok())
      std::cout << "added " << t_member << " to the care team of " << t_patient << " at tier " << t_tier << "\n";
  } else if (untie->parsed()) {
    reg::RemoveCareTeamMemberRequest req;
    req.set_patient_id(u_patient);
    req.set_member(u_member);
    reg::RemoveCareTeamMemberResponse resp;
    s = stub->RemoveCareTeamMember(&ctx, req, &resp);
    if (s.ok()) std::cout << "removed " << u_member << " from the care team of " << u_patient << "\n";
  }
  return s.ok() ? 0 : Fail(s);
}
