// Break-glass emergency access (issue 13, item 4) and the care team's view of identifying data
// (item 1), through the real clinician_api and registry over mutual TLS with a private
// PostgreSQL (test_env.h), and through the real `healthtwin` binary.
//
// Callers (deploy/pki/make-dev-pki.sh): dr-alice (clinician) is on pat-a's care team; dr-bob
// (clinician) cares for pat-b only; nurse-ned (nurse) cares for nobody; cli-admin is an admin.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <chrono>
#include <future>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clinician_api/break_glass.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/common/logging.h"
#include "services/common/time_util.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

namespace clin = healthtwin::clinician::v1;
namespace reg = healthtwin::registry::v1;
using Code = grpc::StatusCode;

class BreakGlassTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(TestDatabaseName("bglass"));
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    Sql("INSERT INTO patients (patient_id) VALUES ('pat-a'), ('pat-b')");
    Sql("INSERT INTO care_team (patient_id, member) VALUES ('pat-a', 'dr-alice'), ('pat-b', 'dr-bob')");
  }

  const std::string& db() const { return slice_->conninfo(); }
  void Sql(const std::string& sql) { (void)QueryInt(db(), sql); }
  // Moves every grant's window an hour into the past, so it has expired by the clock the
  // service reads; a 1 s grant and a sleep raced the first read on a loaded machine.
  void ExpireGrants() {
    Sql("UPDATE break_glass_grants SET started_at = started_at - interval '1 hour',"
        " expires_at = expires_at - interval '1 hour'");
  }
  int64_t Count(const std::string& where) { return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE " + where); }

  std::unique_ptr<clin::ClinicianService::Stub> Api(const std::string& who) {
    return clin::ClinicianService::NewStub(Slice::Channel(slice_->clinician_address(), who, "clinician_api"));
  }

  grpc::Status BreakGlass(const std::string& who, const std::string& patient, const std::string& code,
                          const std::string& text, clin::BreakGlassGrant* grant = nullptr, int duration_s = 0) {
    clin::BreakGlassRequest req;
    req.set_patient_id(patient);
    req.set_reason_code(code);
    req.set_reason_text(text);
    if (duration_s > 0) req.mutable_duration()->set_seconds(duration_s);
    clin::BreakGlassGrant ignored;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    return Api(who)->BreakGlass(&ctx, req, grant != nullptr ? grant : &ignored);
  }

  grpc::Status ReadVitals(const std::string& who, const std::string& patient) {
    vitals::v1::QueryVitalsRequest req;
    req.set_patient_id(patient);
    *req.mutable_start() = common::FromUnixMicros(common::NowUnixMicros() - 3'600'000'000);
    *req.mutable_end() = common::FromUnixMicros(common::NowUnixMicros());
    vitals::v1::QueryVitalsResponse resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    return Api(who)->GetVitals(&ctx, req, &resp);
  }

  grpc::Status ShowIdentity(const std::string& who, const std::string& patient, reg::PatientIdentity* out) {
    reg::GetPatientIdentityRequest req;
    req.set_patient_id(patient);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    return Api(who)->GetPatientIdentity(&ctx, req, out);
  }

  CliResult Cli(const std::string& who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--api", slice_->clinician_address(), "--registry", slice_->data_address()});
    return RunHealthtwin(HT_HEALTHTWIN_BIN, who, args);
  }

  std::unique_ptr<Slice> slice_;
};

TEST_F(BreakGlassTest, GrantLetsAClinicianOutsideTheCareTeamReadAndFlagsEveryAccess) {
  ASSERT_EQ(ReadVitals("dr-bob", "pat-a").error_code(), Code::PERMISSION_DENIED);

  clin::BreakGlassGrant grant;
  auto s = BreakGlass("dr-bob", "pat-a", "ETREAT", "collapsed in the ward, primary team unreachable", &grant);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(grant.grant_id(), 0);
  EXPECT_EQ(grant.grantee(), "dr-bob");
  EXPECT_TRUE(grant.active());
  // 60 minutes by default.
  EXPECT_EQ(grant.expires_at().seconds() - grant.started_at().seconds(), 3600);

  const std::string id = std::to_string(grant.grant_id());
  // The start is a DICOM Security Alert / Emergency Override Started, action E, in the chain.
  EXPECT_EQ(Count("actor = 'dr-bob' AND event_type = '110113' AND action = '110127' AND action_code = 'E'"
                  " AND patient_id = 'pat-a' AND purpose_of_use = 'ETREAT' AND entity_what = 'break_glass_grant/" +
                  id + "'"),
            1);

  auto read = ReadVitals("dr-bob", "pat-a");
  EXPECT_TRUE(read.ok()) << read.error_message();
  EXPECT_EQ(Count("actor = 'dr-bob' AND action = 'vitals.read' AND patient_id = 'pat-a' AND outcome = 'allowed'"
                  " AND purpose_of_use = 'ETREAT' AND entity_what = 'break_glass_grant/" +
                  id + "' AND detail = 'break-glass grant " + id + "'"),
            1);
  // The care team's own reads are not flagged.
  ASSERT_TRUE(ReadVitals("dr-alice", "pat-a").ok());
  EXPECT_EQ(Count("actor = 'dr-alice' AND action = 'vitals.read' AND purpose_of_use = 'TREAT'"
                  " AND entity_what = ''"),
            1);
  // The grant is for pat-a only.
  EXPECT_EQ(ReadVitals("dr-bob", "pat-b").error_code(), Code::OK);  // his own patient
  Sql("INSERT INTO patients (patient_id) VALUES ('pat-c')");
  EXPECT_EQ(ReadVitals("dr-bob", "pat-c").error_code(), Code::PERMISSION_DENIED);
}

TEST_F(BreakGlassTest, RequestWithoutAValidReasonIsInvalidArgumentAndAudited) {
  struct Case {
    std::string code, text, field;
    int duration_s;
  };
  const std::vector<Case> cases = {
      {"ETREAT", "", "reason_text", 0},
      {"ETREAT", "   ", "reason_text", 0},
      {"", "emergency", "reason_code", 0},
      {"TREAT", "emergency", "reason_code", 0},       // a purpose of use, but not an emergency one
      {"ETREAT", "emergency", "duration", 121 * 60},  // over the 120 min maximum
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.code + " / '" + c.text + "' / " + std::to_string(c.duration_s));
    const int64_t before = Count("actor = 'dr-bob' AND action = 'break_glass.request' AND outcome = 'denied'");
    auto s = BreakGlass("dr-bob", "pat-a", c.code, c.text, nullptr, c.duration_s);
    EXPECT_EQ(s.error_code(), Code::INVALID_ARGUMENT);
    EXPECT_EQ(s.error_message().rfind(c.field + ":", 0), 0u) << s.error_message();
    EXPECT_EQ(Count("actor = 'dr-bob' AND action = 'break_glass.request' AND outcome = 'denied'"), before + 1);
  }
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM break_glass_grants"), 0);
  EXPECT_EQ(ReadVitals("dr-bob", "pat-a").error_code(), Code::PERMISSION_DENIED);
}

TEST_F(BreakGlassTest, OnlyClinicians_NotTheCareTeam_NotNurses_KnownPatients) {
  EXPECT_EQ(BreakGlass("nurse-ned", "pat-a", "ETREAT", "emergency").error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(Count("actor = 'nurse-ned' AND action = 'break_glass.request' AND outcome = 'denied'"), 1);
  EXPECT_EQ(BreakGlass("cli-admin", "pat-a", "ETREAT", "emergency").error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(BreakGlass("dr-alice", "pat-a", "ETREAT", "emergency").error_code(), Code::FAILED_PRECONDITION);
  EXPECT_EQ(BreakGlass("dr-bob", "pat-nobody", "BTG", "emergency").error_code(), Code::NOT_FOUND);
  EXPECT_EQ(Count("actor = 'dr-bob' AND action = 'break_glass.request' AND outcome = 'denied'"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM break_glass_grants"), 0);
}

TEST_F(BreakGlassTest, ExpiredGrantRefusesAndItsEndIsRecordedOnce) {
  clin::BreakGlassGrant grant;
  ASSERT_TRUE(BreakGlass("dr-bob", "pat-a", "BTG", "short emergency", &grant, /*duration_s=*/60).ok());
  ASSERT_TRUE(ReadVitals("dr-bob", "pat-a").ok());
  ExpireGrants();

  auto s = ReadVitals("dr-bob", "pat-a");
  EXPECT_EQ(s.error_code(), Code::PERMISSION_DENIED);
  EXPECT_NE(s.error_message().find("expired"), std::string::npos) << s.error_message();
  const std::string id = std::to_string(grant.grant_id());
  EXPECT_EQ(Count("actor = 'dr-bob' AND action = 'vitals.read' AND outcome = 'denied' AND detail = 'break-glass "
                  "grant " +
                  id + " expired'"),
            1);
  // Emergency Override Stopped, once, however often the expired grant is met.
  EXPECT_EQ(ReadVitals("dr-bob", "pat-a").error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(Count("event_type = '110113' AND action = '110138' AND actor = 'dr-bob' AND patient_id = 'pat-a'"
                  " AND purpose_of_use = 'BTG'"),
            1);
  // A new emergency needs a new grant.
  ASSERT_TRUE(BreakGlass("dr-bob", "pat-a", "ETREAT", "second emergency").ok());
  EXPECT_TRUE(ReadVitals("dr-bob", "pat-a").ok());
}

// The deployment's maximum (--break-glass-max-minutes) caps the 60 min default too: the domain
// object with a 2 min maximum, as main.cc builds it from the flag, on the slice's database.
TEST_F(BreakGlassTest, TheConfiguredMaximumCapsTheDefaultAndExpires) {
  common::PgPool pool(db(), 2);
  common::Access access(pool);
  clinician::BreakGlass short_max(pool, access, {.max_duration = absl::Minutes(2)});
  common::Caller bob;
  bob.identity.common_name = "dr-bob";
  bob.identity.role = common::Role::kClinician;
  auto grant = short_max.Open(bob, "pat-a", "ETREAT", "capped", std::nullopt);
  ASSERT_TRUE(grant.ok()) << grant.status();
  EXPECT_EQ(grant->expires_at_unix_us - grant->started_at_unix_us, 120'000'000);
  EXPECT_EQ(short_max.Open(bob, "pat-a", "ETREAT", "too long", absl::Minutes(3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ReadVitals("dr-bob", "pat-a").ok());
  ExpireGrants();
  EXPECT_EQ(ReadVitals("dr-bob", "pat-a").error_code(), Code::PERMISSION_DENIED);
}

TEST_F(BreakGlassTest, AdminsAreNotifiedAndReviewThroughTheCli) {
  std::ostringstream log;
  ASSERT_TRUE(common::InitLogging("break_glass_test", "info", common::LogFormat::kJson,
                                  std::make_shared<spdlog::sinks::ostream_sink_mt>(log, /*force_flush=*/true))
                  .ok());
  auto r = Cli("dr-bob", {"break-glass", "--patient", "pat-a", "--reason-code", "ETREAT", "--reason",
                          "arrest in corridor", "--for", "30m"});
  (void)common::InitLogging("break_glass_test", "warn", common::LogFormat::kText);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("ACTIVE"), std::string::npos) << r.out;
  const std::string id = std::to_string(QueryInt(db(), "SELECT max(grant_id) FROM break_glass_grants"));
  EXPECT_EQ(QueryInt(db(), "SELECT extract(epoch FROM expires_at - started_at)::bigint FROM break_glass_grants"), 1800);
  // The warn line an admin's log alerting sees: the grant, not the patient or the reason.
  EXPECT_NE(log.str().find("security.break_glass_started"), std::string::npos) << log.str();
  EXPECT_NE(log.str().find("\"grant_id\":" + id), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("pat-a"), std::string::npos) << log.str();
  EXPECT_EQ(log.str().find("arrest in corridor"), std::string::npos) << log.str();

  // The admins' open list shows it until reviewed.
  r = Cli("cli-admin", {"admin", "break-glass", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("grant " + id + "  ACTIVE  unreviewed  dr-bob -> pat-a  ETREAT"), std::string::npos) << r.out;
  EXPECT_EQ(Count("actor = 'cli-admin' AND action = 'break_glass.list' AND outcome = 'allowed'"), 1);
  // Not for clinicians.
  r = Cli("dr-bob", {"admin", "break-glass", "list", "--all"});
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_EQ(Count("actor = 'dr-bob' AND action = 'break_glass.list' AND outcome = 'denied'"), 1);
  r = Cli("cli-admin", {"admin", "break-glass", "review", "--grant", id});
  EXPECT_EQ(r.code, 2) << "neither --justified nor --unjustified";

  r = Cli("cli-admin", {"admin", "break-glass", "review", "--grant", id, "--unjustified", "--note", "no emergency"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("unjustified"), std::string::npos) << r.out;
  EXPECT_EQ(QueryText(db(), "SELECT review || ' ' || reviewed_by || ' ' || review_note FROM break_glass_grants"),
            "unjustified cli-admin no emergency");
  EXPECT_EQ(Count("actor = 'cli-admin' AND action = 'break_glass.review' AND patient_id = 'pat-a'"
                  " AND outcome = 'allowed'"),
            1);
  // Once only.
  r = Cli("cli-admin", {"admin", "break-glass", "review", "--grant", id, "--justified"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("reviewed already"), std::string::npos) << r.err;
  r = Cli("cli-admin", {"admin", "break-glass", "review", "--grant", "999999", "--justified"});
  EXPECT_EQ(r.code, 1);

  r = Cli("cli-admin", {"admin", "break-glass", "list", "--open"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("no grants awaiting review"), std::string::npos) << r.out;
  r = Cli("cli-admin", {"admin", "break-glass", "list", "--all", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("\"review\":\"BREAK_GLASS_REVIEW_UNJUSTIFIED\""), std::string::npos) << r.out;
}

// Admins see emergency access live (WatchSecurityEvents, `healthtwin admin break-glass watch`):
// an admin's stream and the CLI each show dr-bob's grant as it starts, then its
// end once recorded; each event delivered is audited naming the patient. A clinician is refused
// and audited; a bad --count exits 2.
TEST_F(BreakGlassTest, AdminsWatchingSeeEachGrantLiveAndCliniciansAreRefused) {
  auto admin = Api("cli-admin");
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = admin->WatchSecurityEvents(&ctx, clin::WatchSecurityEventsRequest{});
  std::future<CliResult> cli = std::async(std::launch::async, [this] {
    return Cli("cli-admin", {"admin", "break-glass", "watch", "--count", "2"});
  });
  // Each watch is recorded once it listens.
  const auto listening = [&] {
    return Count("actor = 'cli-admin' AND action = 'break_glass.watch' AND patient_id IS NULL") == 2;
  };
  for (int i = 0; i < 200 && !listening(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(listening());

  clin::BreakGlassGrant grant;
  ASSERT_TRUE(BreakGlass("dr-bob", "pat-a", "BTG", "collapsed in lobby", &grant, /*duration_s=*/60).ok());
  clin::SecurityEvent event;
  ASSERT_TRUE(stream->Read(&event));  // within the stream's 30 s deadline; speed is not a test's to judge
  EXPECT_EQ(event.kind(), clin::SecurityEvent::KIND_BREAK_GLASS_STARTED);
  EXPECT_EQ(event.grant().grant_id(), grant.grant_id());
  EXPECT_EQ(event.grant().grantee(), "dr-bob");
  EXPECT_EQ(event.grant().patient_id(), "pat-a");
  EXPECT_EQ(event.grant().reason_code(), "BTG");
  EXPECT_EQ(event.grant().expires_at().seconds() - event.grant().started_at().seconds(), 60);

  // The grant expires; the next access under it records the end, which is the next event.
  ExpireGrants();
  EXPECT_EQ(ReadVitals("dr-bob", "pat-a").error_code(), Code::PERMISSION_DENIED);
  ASSERT_TRUE(stream->Read(&event));
  EXPECT_EQ(event.kind(), clin::SecurityEvent::KIND_BREAK_GLASS_ENDED);
  EXPECT_EQ(event.grant().grant_id(), grant.grant_id());
  EXPECT_FALSE(event.grant().active());
  ctx.TryCancel();
  (void)stream->Finish();

  ASSERT_EQ(cli.wait_for(std::chrono::seconds(20)), std::future_status::ready) << "the CLI saw fewer than 2 events";
  const CliResult r = cli.get();
  EXPECT_EQ(r.code, 0) << r.err;
  const std::string id = std::to_string(grant.grant_id());
  EXPECT_NE(r.out.find("break-glass started  grant " + id + "  ACTIVE  unreviewed  dr-bob -> pat-a  BTG"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("break-glass ended    grant " + id + "  ended"), std::string::npos) << r.out;
  // Two events to each of two watchers.
  EXPECT_EQ(Count("actor = 'cli-admin' AND action = 'break_glass.watch' AND patient_id = 'pat-a'"
                  " AND outcome = 'allowed' AND entity_what = 'break_glass_grant/" +
                  id + "'"),
            4);

  grpc::ClientContext refused_ctx;
  refused_ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  auto refused = Api("dr-alice")->WatchSecurityEvents(&refused_ctx, clin::WatchSecurityEventsRequest{});
  EXPECT_FALSE(refused->Read(&event));
  EXPECT_EQ(refused->Finish().error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(Count("actor = 'dr-alice' AND action = 'break_glass.watch' AND outcome = 'denied'"), 1);
  EXPECT_EQ(Cli("cli-admin", {"admin", "break-glass", "watch", "--count", "0"}).code, 2);
}

TEST_F(BreakGlassTest, PatientShowIsForTheCareTeamAndBreakGlassHolders) {
  {
    reg::CreatePatientRequest req;
    req.mutable_patient()->set_patient_id("pat-id");
    auto* id = req.mutable_identity();
    id->set_given("Ada");
    id->set_family("Lovelace");
    id->set_birth_date("1952-03-11");
    id->set_mrn("MRN-4711");
    id->set_phone("+44 20 7946 0000");
    id->set_email("ada@example.org");
    id->set_address("12 St James's Square, London");
    reg::Patient resp;
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    auto s = reg::RegistryService::NewStub(Slice::Channel(slice_->data_address(), "cli-admin", "ingest"))
                 ->CreatePatient(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    Sql("INSERT INTO care_team (patient_id, member) VALUES ('pat-id', 'dr-alice')");
  }
  std::ostringstream log;
  ASSERT_TRUE(common::InitLogging("break_glass_test", "debug", common::LogFormat::kJson,
                                  std::make_shared<spdlog::sinks::ostream_sink_mt>(log, /*force_flush=*/true))
                  .ok());

  reg::PatientIdentity shown;
  auto s = ShowIdentity("dr-alice", "pat-id", &shown);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(shown.given(), "Ada");
  EXPECT_EQ(shown.family(), "Lovelace");
  EXPECT_EQ(shown.birth_date(), "1952-03-11");
  EXPECT_EQ(shown.mrn(), "MRN-4711");
  EXPECT_EQ(shown.email(), "ada@example.org");
  EXPECT_EQ(Count("actor = 'dr-alice' AND action = 'patient.identity.read' AND patient_id = 'pat-id'"
                  " AND outcome = 'allowed' AND action_code = 'R'"),
            1);
  // The registry records the relay, naming the person.
  EXPECT_EQ(Count("actor = 'clinician_api' AND on_behalf_of = 'dr-alice' AND action = 'registry.identity.read'"
                  " AND patient_id = 'pat-id' AND outcome = 'allowed'"),
            1);

  // Outside the care team: refused and audited, no relay.
  reg::PatientIdentity refused;
  EXPECT_EQ(ShowIdentity("dr-bob", "pat-id", &refused).error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(refused.given(), "");
  EXPECT_EQ(Count("actor = 'dr-bob' AND action = 'patient.identity.read' AND outcome = 'denied'"), 1);
  EXPECT_EQ(ShowIdentity("cli-admin", "pat-id", &refused).error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(Count("actor = 'clinician_api' AND on_behalf_of = 'dr-bob'"), 0);
  // Nobody but clinician_api may ask the registry directly.
  {
    reg::GetPatientIdentityRequest req;
    req.set_patient_id("pat-id");
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    EXPECT_EQ(reg::RegistryService::NewStub(Slice::Channel(slice_->data_address(), "cli-admin", "ingest"))
                  ->GetPatientIdentity(&ctx, req, &refused)
                  .error_code(),
              Code::PERMISSION_DENIED);
  }

  // With a break-glass grant: allowed and flagged.
  ASSERT_TRUE(BreakGlass("dr-bob", "pat-id", "ETREAT", "unconscious, identity needed for blood bank").ok());
  ASSERT_TRUE(ShowIdentity("dr-bob", "pat-id", &shown).ok());
  EXPECT_EQ(shown.family(), "Lovelace");
  EXPECT_EQ(Count("actor = 'dr-bob' AND action = 'patient.identity.read' AND outcome = 'allowed'"
                  " AND purpose_of_use = 'ETREAT'"),
            1);

  // The CLI: show as the care team; update as an admin changes only the fields given.
  auto r = Cli("dr-alice", {"patient", "show", "--patient", "pat-id"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("Ada Lovelace"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("MRN-4711"), std::string::npos) << r.out;
  r = Cli("dr-bob", {"patient", "show", "--patient", "pat-b"});
  EXPECT_EQ(r.code, 1) << "pat-b has no identity stored: NOT_FOUND";
  r = Cli("cli-admin",
          {"admin", "update-patient", "--patient", "pat-id", "--phone", "+44 20 7946 0999", "--email", ""});
  ASSERT_EQ(r.code, 0) << r.err;
  r = Cli("cli-admin", {"admin", "update-patient", "--patient", "pat-id", "--birth-date", "11/03/1952"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("birth_date"), std::string::npos) << r.err;
  r = Cli("cli-admin", {"admin", "update-patient", "--patient", "pat-id"});
  EXPECT_EQ(r.code, 2);
  r = Cli("dr-alice", {"admin", "update-patient", "--patient", "pat-id", "--given", "Eve"});
  EXPECT_EQ(r.code, 1) << "admins only";
  ASSERT_TRUE(ShowIdentity("dr-alice", "pat-id", &shown).ok());
  EXPECT_EQ(shown.phone(), "+44 20 7946 0999");
  EXPECT_EQ(shown.email(), "");
  EXPECT_EQ(shown.given(), "Ada");
  EXPECT_EQ(shown.mrn(), "MRN-4711");
  EXPECT_EQ(Count("actor = 'cli-admin' AND action = 'registry.identity.update' AND patient_id = 'pat-id'"
                  " AND outcome = 'allowed'"),
            2);  // the update and the bad date (refused after the role check); the CLI refused the empty one
  // Stored encrypted: no plaintext in the row.
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM patients WHERE patient_id = 'pat-id' AND phone_enc IS NOT NULL"
                     " AND position(convert_to('7946 0999', 'UTF8') IN phone_enc) = 0"),
            1);

  (void)common::InitLogging("break_glass_test", "warn", common::LogFormat::kText);
  for (const char* identifier : {"Ada", "Lovelace", "1952-03-11", "MRN-4711", "7946", "example.org", "James"}) {
    EXPECT_EQ(log.str().find(identifier), std::string::npos) << identifier << " in the log:\n" << log.str();
  }
}

}  // namespace
}  // namespace healthtwin::testing
