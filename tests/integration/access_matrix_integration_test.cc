// Who may call what, and what the audit log says about it: every ClinicianService RPC and every
// RegistryService RPC, through the real services over mutual TLS (see test_env.h), by every
// kind of caller, each call followed by a check of its audit row (issue 19: "every RPC at least
// once through the real service, with an allowed and a denied caller and the audit row
// checked").
//
// Each decision is also a row of the matrix table the binary prints at its end
// (access_matrix_table.h), which docs/security.md shows; access_matrix_edges_test.cc adds the
// callers refused before a role is looked at (handshake and bearer-token refusals).
//
// Callers (deploy/pki/make-dev-pki.sh): dr-alice (clinician) and nurse-nora (nurse) are on the
// care team of pat-a; dr-bob (clinician) cares for pat-b only; nurse-ned (nurse) cares for
// nobody; researcher-rita (researcher), cli-admin (admin) and bridge-001 (bridge) are not
// clinical roles. pat-e has an empty care team.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "healthtwin/twin/v1/twin.grpc.pb.h"
#include "services/common/time_util.h"
#include "tests/integration/access_matrix_table.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

namespace alerts_v1 = healthtwin::alerts::v1;
namespace clinician_v1 = healthtwin::clinician::v1;
namespace registry_v1 = healthtwin::registry::v1;
using Code = grpc::StatusCode;

// The audit row a call must leave: its action, the patient it names ("" for none) and the
// outcome. An empty action means the call leaves no row (WhoAmI allowed: no patient data).
struct Audit {
  std::string action;
  std::string patient;
  std::string outcome;
};

struct Expectation {
  std::string caller;
  Code code;
  Audit audit;
};

// A call as a given caller, and the service that answers it (for the matrix table).
struct Call {
  std::string service;
  std::function<grpc::Status(const std::string&)> run;
};

// The matrix row of one checked decision. `label` is the RPC, then what sets the case apart
// ("GetVitals of pat-e under an expired grant").
MatrixRow Row(const std::string& service, const std::string& label, const Expectation& e, Code got) {
  const size_t space = label.find(' ');
  const std::string rpc = label.substr(0, space);
  const std::string context = space == std::string::npos ? "" : label.substr(space + 1);
  const std::string audit = e.audit.action.empty()
                                ? "none (no patient data)"
                                : absl::StrCat(e.audit.action, " · ", e.audit.patient.empty() ? "-" : e.audit.patient,
                                               " · ", e.audit.outcome);
  return {service, rpc, context.empty() ? e.caller : absl::StrCat(e.caller, " (", context, ")"),
          absl::StatusCodeToString(static_cast<absl::StatusCode>(got)), audit};
}

class AccessMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(TestDatabaseName("matrix"));
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    Sql("INSERT INTO patients (patient_id) VALUES ('pat-a'), ('pat-b'), ('pat-e')");
    Sql("INSERT INTO care_team (patient_id, member) VALUES ('pat-a', 'dr-alice'), ('pat-a', 'nurse-nora'),"
        " ('pat-b', 'dr-bob')");
    Sql("INSERT INTO devices (device_id, patient_id, kind) VALUES ('AA:BB:CC:00:00:0A', 'pat-a', 1)");
    alert_ = QueryText(db(),
                       "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at,"
                       " raised_at, peak_value, ucum_unit, duration_s) VALUES ('pat-a', 'hr_high', 2, 1, 'test',"
                       " now() - interval '2 minutes', now() - interval '1 minute', 130, '/min', 60)"
                       " RETURNING alert_id::text");
    Sql("INSERT INTO alert_events (alert_id, kind, created_at) SELECT alert_id, 1, raised_at FROM alerts");
  }

  const std::string& db() const { return slice_->conninfo(); }
  void Sql(const std::string& sql) { (void)QueryInt(db(), sql); }

  // Rows clinician_api or the registry wrote for `caller` itself (not relayed ones).
  int64_t AuditRows(const std::string& caller, const Audit& a) {
    return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE actor = '" + caller + "' AND action = '" + a.action +
                              "' AND coalesce(patient_id, '') = '" + a.patient + "' AND outcome = '" + a.outcome + "'");
  }
  int64_t AllAuditRowsOf(const std::string& caller) {
    return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE actor = '" + caller + "'");
  }

  // Runs `call` as each expectation's caller and checks the status code and the one audit row
  // the call added (the row expected, and nothing else written for that caller).
  void Check(const std::string& rpc, const Call& call, const std::vector<Expectation>& expectations) {
    for (const Expectation& e : expectations) {
      SCOPED_TRACE(rpc + " as " + e.caller);
      const int64_t before = AllAuditRowsOf(e.caller);
      const int64_t matching_before = e.audit.action.empty() ? 0 : AuditRows(e.caller, e.audit);
      const grpc::Status s = call.run(e.caller);
      EXPECT_EQ(s.error_code(), e.code) << s.error_message();
      RecordMatrixRow(Row(call.service, rpc, e, s.error_code()));
      if (e.audit.action.empty()) {
        EXPECT_EQ(AllAuditRowsOf(e.caller), before) << "no audit row expected";
        continue;
      }
      EXPECT_EQ(AuditRows(e.caller, e.audit), matching_before + 1)
          << "audit row " << e.audit.action << " " << e.audit.patient << " " << e.audit.outcome;
      EXPECT_EQ(AllAuditRowsOf(e.caller), before + 1);
    }
  }

  template <typename Stub, typename Req, typename Resp>
  static grpc::Status Unary(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                            const Req& req) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    Resp resp;
    return (stub.*method)(&ctx, req, &resp);
  }

  template <typename Req, typename Resp>
  Call ClinicianCall(grpc::Status (clinician_v1::ClinicianService::Stub::*method)(grpc::ClientContext*, const Req&,
                                                                                  Resp*),
                     Req req) {
    return {"ClinicianService", [this, method, req](const std::string& caller) {
              auto stub = clinician_v1::ClinicianService::NewStub(
                  Slice::Channel(slice_->clinician_address(), caller, "clinician_api"));
              return Unary(*stub, method, req);
            }};
  }

  template <typename Req, typename Resp>
  Call RegistryCall(grpc::Status (registry_v1::RegistryService::Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
                    Req req) {
    return {"RegistryService", [this, method, req](const std::string& caller) {
              auto stub =
                  registry_v1::RegistryService::NewStub(Slice::Channel(slice_->data_address(), caller, "ingest"));
              return Unary(*stub, method, req);
            }};
  }

  // The common shape of a patient-scoped clinician RPC: the care team may (with `allowed`,
  // which is OK unless the upstream has nothing to return), a clinician or nurse outside it may
  // not, nor may anyone of another role (a researcher, the admin, a bridge, a service); every
  // one of them leaves one row naming the patient.
  std::vector<Expectation> PatientScoped(const std::string& action, Code allowed = Code::OK) {
    return {
        {"dr-alice", allowed, {action, "pat-a", "allowed"}},
        {"nurse-nora", allowed, {action, "pat-a", "allowed"}},
        {"dr-bob", Code::PERMISSION_DENIED, {action, "pat-a", "denied"}},
        {"nurse-ned", Code::PERMISSION_DENIED, {action, "pat-a", "denied"}},
        {"researcher-rita", Code::PERMISSION_DENIED, {action, "pat-a", "denied"}},
        {"cli-admin", Code::PERMISSION_DENIED, {action, "pat-a", "denied"}},
        {"bridge-001", Code::PERMISSION_DENIED, {action, "pat-a", "denied"}},
        {"alerts", Code::PERMISSION_DENIED, {action, "pat-a", "denied"}},
    };
  }

  // The registry's shape: every caller but the admin refused, each refusal recorded ...
  static std::vector<Expectation> Others(const std::string& action, const std::string& patient,
                                         const std::vector<std::string>& callers = {
                                             "dr-alice", "nurse-nora", "researcher-rita", "bridge-001", "alerts"}) {
    std::vector<Expectation> v;
    for (const std::string& caller : callers)
      v.push_back({caller, Code::PERMISSION_DENIED, {action, patient, "denied"}});
    return v;
  }
  // ... and then the admin's call (`code`: OK unless validation follows the role check).
  static std::vector<Expectation> AdminAfterOthers(const std::string& action, const std::string& patient,
                                                   Code code = Code::OK) {
    std::vector<Expectation> v = Others(action, patient);
    v.push_back({"cli-admin", code, {action, patient, "allowed"}});
    return v;
  }

  std::unique_ptr<Slice> slice_;
  std::string alert_;
};

// ----------------------------------------------------------------------------- clinician_api

TEST_F(AccessMatrixTest, WhoAmIAnswersEveryPersonAndRefusesOtherRolesOnTheRecord) {
  Check("WhoAmI", ClinicianCall(&clinician_v1::ClinicianService::Stub::WhoAmI, clinician_v1::WhoAmIRequest{}),
        {
            {"dr-alice", Code::OK, {}},
            {"nurse-nora", Code::OK, {}},
            {"nurse-ned", Code::OK, {}},
            {"researcher-rita", Code::OK, {}},
            {"cli-admin", Code::OK, {}},
            {"bridge-001", Code::PERMISSION_DENIED, {"identity.whoami", "", "denied"}},
        });
  auto stub = clinician_v1::ClinicianService::NewStub(
      Slice::Channel(slice_->clinician_address(), "nurse-nora", "clinician_api"));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
  clinician_v1::WhoAmIResponse who;
  ASSERT_TRUE(stub->WhoAmI(&ctx, {}, &who).ok());
  EXPECT_EQ(who.subject(), "nurse-nora");
  EXPECT_EQ(who.role(), "nurse");
}

TEST_F(AccessMatrixTest, ListMyPatientsIsTheCallersCareTeamOnly) {
  Check("ListMyPatients",
        ClinicianCall(&clinician_v1::ClinicianService::Stub::ListMyPatients, clinician_v1::ListMyPatientsRequest{}),
        {
            {"dr-alice", Code::OK, {"patient.list", "", "allowed"}},
            {"nurse-nora", Code::OK, {"patient.list", "", "allowed"}},
            {"nurse-ned", Code::OK, {"patient.list", "", "allowed"}},
            {"researcher-rita", Code::PERMISSION_DENIED, {"patient.list", "", "denied"}},
            {"cli-admin", Code::PERMISSION_DENIED, {"patient.list", "", "denied"}},
        });
  for (const auto& [caller, want] : std::vector<std::pair<std::string, std::vector<std::string>>>{
           {"nurse-nora", {"pat-a"}}, {"dr-bob", {"pat-b"}}, {"nurse-ned", {}}}) {
    auto stub =
        clinician_v1::ClinicianService::NewStub(Slice::Channel(slice_->clinician_address(), caller, "clinician_api"));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    clinician_v1::ListMyPatientsResponse resp;
    ASSERT_TRUE(stub->ListMyPatients(&ctx, {}, &resp).ok());
    std::vector<std::string> got;
    for (const auto& p : resp.patients()) got.push_back(p.patient_id());
    EXPECT_EQ(got, want) << caller;
  }
}

TEST_F(AccessMatrixTest, GetVitals) {
  vitals::v1::QueryVitalsRequest req;
  req.set_patient_id("pat-a");
  *req.mutable_start() = common::FromUnixMicros(common::NowUnixMicros() - 3'600'000'000LL);
  *req.mutable_end() = common::FromUnixMicros(common::NowUnixMicros());
  Check("GetVitals", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetVitals, req),
        PatientScoped("vitals.read"));
}

TEST_F(AccessMatrixTest, GetTwinWithoutASnapshotIsNotFoundForTheCareTeamAndDeniedToOthers) {
  clinician_v1::GetTwinRequest req;
  req.set_patient_id("pat-a");
  Check("GetTwin", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetTwin, req),
        PatientScoped("twin.read", Code::NOT_FOUND));
  twin::v1::PredictRequest predict;
  predict.set_patient_id("pat-a");
  Check("Predict", ClinicianCall(&clinician_v1::ClinicianService::Stub::Predict, predict),
        PatientScoped("twin.predict", Code::NOT_FOUND));
}

TEST_F(AccessMatrixTest, AlertsOfAPatient) {
  alerts_v1::ListAlertsRequest list;
  list.set_patient_id("pat-a");
  Check("ListAlerts", ClinicianCall(&clinician_v1::ClinicianService::Stub::ListAlerts, list),
        PatientScoped("alerts.list"));
  alerts_v1::GetAlertRequest get;
  get.set_alert_id(alert_);
  Check("GetAlert", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetAlert, get), PatientScoped("alert.get"));
  alerts_v1::GetPatientAlertSettingsRequest settings;
  settings.set_patient_id("pat-a");
  Check("GetPatientAlertSettings",
        ClinicianCall(&clinician_v1::ClinicianService::Stub::GetPatientAlertSettings, settings),
        PatientScoped("alert_settings.read"));
  alerts_v1::GetAlarmBurdenRequest burden;
  burden.add_patient_ids("pat-a");
  *burden.mutable_start() = common::FromUnixMicros(common::NowUnixMicros() - 86'400'000'000LL);
  *burden.mutable_end() = common::FromUnixMicros(common::NowUnixMicros());
  Check("GetAlarmBurden", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetAlarmBurden, burden),
        PatientScoped("alerts.burden"));
}

TEST_F(AccessMatrixTest, ChangingAnAlertOrItsSettings) {
  // Denied callers first: each refusal must leave the alert and the settings as they were.
  clinician_v1::ShelveAlertRequest shelve;
  shelve.set_alert_id(alert_);
  shelve.set_reason("procedure in progress");
  shelve.mutable_duration()->set_seconds(600);
  auto allowed_last = [](std::vector<Expectation> v) {
    std::rotate(v.begin(), v.begin() + 2, v.end());
    return v;
  };
  Check("ShelveAlert", ClinicianCall(&clinician_v1::ClinicianService::Stub::ShelveAlert, shelve),
        allowed_last(PatientScoped("alert.shelve")));
  clinician_v1::AcknowledgeAlertRequest ack;
  ack.set_alert_id(alert_);
  Check("AcknowledgeAlert", ClinicianCall(&clinician_v1::ClinicianService::Stub::AcknowledgeAlert, ack),
        allowed_last(PatientScoped("alert.acknowledge")));
  EXPECT_EQ(QueryInt(db(), "SELECT count(DISTINCT actor) FROM alert_events WHERE kind = 4"), 2)
      << "only dr-alice and nurse-nora acknowledged";
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM alert_events WHERE kind = 4 AND actor NOT IN ('dr-alice', "
                     "'nurse-nora')"),
            0);

  clinician_v1::SetPatientAlertSettingsRequest set;
  set.mutable_settings()->set_patient_id("pat-a");
  (*set.mutable_settings()->mutable_threshold_overrides())["hr_high"] = 110;
  std::vector<Expectation> writers = allowed_last(PatientScoped("alert_settings.write"));
  writers.pop_back();  // one allowed write (the second would be a new version: fine, but one suffices)
  Check("SetPatientAlertSettings", ClinicianCall(&clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, set),
        writers);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM patient_alert_settings_history WHERE patient_id = 'pat-a'"), 1);
}

TEST_F(AccessMatrixTest, AnEmptyCareTeamReadsNothing) {
  vitals::v1::QueryVitalsRequest req;
  req.set_patient_id("pat-e");
  *req.mutable_start() = common::FromUnixMicros(common::NowUnixMicros() - 3'600'000'000LL);
  *req.mutable_end() = common::FromUnixMicros(common::NowUnixMicros());
  Check("GetVitals of pat-e", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetVitals, req),
        {
            {"dr-alice", Code::PERMISSION_DENIED, {"vitals.read", "pat-e", "denied"}},
            {"nurse-ned", Code::PERMISSION_DENIED, {"vitals.read", "pat-e", "denied"}},
        });
}

// Break-glass (issue 13, item 4): dr-bob holds an active grant to pat-a and an expired one (its
// end already recorded) to pat-e, as migration 0019 stores them.
TEST_F(AccessMatrixTest, BreakGlassActiveAndExpired) {
  Sql("INSERT INTO break_glass_grants (patient_id, grantee, reason_code, reason_text, expires_at) VALUES"
      " ('pat-a', 'dr-bob', 'ETREAT', 'matrix', now() + interval '1 hour')");
  Sql("INSERT INTO break_glass_grants (patient_id, grantee, reason_code, reason_text, started_at, expires_at,"
      " end_audited_at) VALUES ('pat-e', 'dr-bob', 'BTG', 'matrix', now() - interval '2 hours',"
      " now() - interval '1 hour', now() - interval '1 hour')");
  vitals::v1::QueryVitalsRequest req;
  req.set_patient_id("pat-a");
  *req.mutable_start() = common::FromUnixMicros(common::NowUnixMicros() - 3'600'000'000LL);
  *req.mutable_end() = common::FromUnixMicros(common::NowUnixMicros());
  Check("GetVitals of pat-a under an active grant",
        ClinicianCall(&clinician_v1::ClinicianService::Stub::GetVitals, req),
        {
            {"dr-bob", Code::OK, {"vitals.read", "pat-a", "allowed"}},
            {"dr-alice", Code::OK, {"vitals.read", "pat-a", "allowed"}},
            {"nurse-ned", Code::PERMISSION_DENIED, {"vitals.read", "pat-a", "denied"}},
        });
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'dr-bob' AND action = 'vitals.read'"
                     " AND purpose_of_use = 'ETREAT' AND entity_what LIKE 'break_glass_grant/%'"),
            1)
      << "the access under the grant is flagged";
  req.set_patient_id("pat-e");
  Check("GetVitals of pat-e under an expired grant",
        ClinicianCall(&clinician_v1::ClinicianService::Stub::GetVitals, req),
        {{"dr-bob", Code::PERMISSION_DENIED, {"vitals.read", "pat-e", "denied"}}});
  registry_v1::GetPatientIdentityRequest identity;
  identity.set_patient_id("pat-a");
  // pat-a has no identity stored: the allowed callers get NOT_FOUND from the registry.
  std::vector<Expectation> show = PatientScoped("patient.identity.read", Code::NOT_FOUND);
  show[2] = {"dr-bob", Code::NOT_FOUND, {"patient.identity.read", "pat-a", "allowed"}};  // under the grant
  Check("GetPatientIdentity", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetPatientIdentity, identity), show);

  clinician_v1::BreakGlassRequest open;
  open.set_patient_id("pat-a");
  open.set_reason_code("ETREAT");
  open.set_reason_text("matrix");
  Check("BreakGlass", ClinicianCall(&clinician_v1::ClinicianService::Stub::BreakGlass, open),
        {
            {"nurse-ned", Code::PERMISSION_DENIED, {"break_glass.request", "pat-a", "denied"}},
            {"researcher-rita", Code::PERMISSION_DENIED, {"break_glass.request", "pat-a", "denied"}},
            {"cli-admin", Code::PERMISSION_DENIED, {"break_glass.request", "pat-a", "denied"}},
            {"dr-alice", Code::FAILED_PRECONDITION, {"break_glass.request", "pat-a", "denied"}},
            {"dr-bob", Code::OK, {"110127", "pat-a", "allowed"}},
        });
  Check("ListBreakGlassGrants",
        ClinicianCall(&clinician_v1::ClinicianService::Stub::ListBreakGlassGrants,
                      clinician_v1::ListBreakGlassGrantsRequest{}),
        {
            {"dr-alice", Code::PERMISSION_DENIED, {"break_glass.list", "", "denied"}},
            {"cli-admin", Code::OK, {"break_glass.list", "", "allowed"}},
        });
  clinician_v1::ReviewBreakGlassGrantRequest review;
  review.set_grant_id(QueryInt(db(), "SELECT min(grant_id) FROM break_glass_grants"));
  review.set_review(clinician_v1::BREAK_GLASS_REVIEW_JUSTIFIED);
  Check("ReviewBreakGlassGrant", ClinicianCall(&clinician_v1::ClinicianService::Stub::ReviewBreakGlassGrant, review),
        {
            {"dr-bob", Code::PERMISSION_DENIED, {"break_glass.review", "", "denied"}},
            {"cli-admin", Code::OK, {"break_glass.review", "pat-a", "allowed"}},
        });
}

// A streaming call: refused at once, or allowed and then cancelled by the caller. An allowed
// subscription replays the open alert, which proves the stream is live.
TEST_F(AccessMatrixTest, SubscribeAlerts) {
  auto subscribe = [this](const std::string& caller, const std::vector<std::string>& patients) {
    auto stub =
        clinician_v1::ClinicianService::NewStub(Slice::Channel(slice_->clinician_address(), caller, "clinician_api"));
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    alerts_v1::SubscribeRequest req;
    for (const auto& p : patients) req.add_patient_ids(p);
    *req.mutable_since() = common::FromUnixMicros(common::NowUnixMicros() - 600'000'000LL);
    auto reader = stub->SubscribeAlerts(&ctx, req);
    alerts_v1::AlertEvent event;
    if (reader->Read(&event)) {
      EXPECT_EQ(event.alert().alert_id(), alert_);
      ctx.TryCancel();
      while (reader->Read(&event)) {
      }
      reader->Finish().IgnoreError();
      return grpc::Status::OK;  // a live stream that delivered the caller's alert
    }
    return reader->Finish();
  };
  Check("SubscribeAlerts to pat-a", {"ClinicianService", [&](const std::string& c) { return subscribe(c, {"pat-a"}); }},
        PatientScoped("alerts.subscribe"));
  // "All mine" is recorded against each patient on the care team (an empty care team may
  // subscribe too, and is followed: AnOpenSubscriptionFollowsCareTeamChanges in the slice test).
  Check("SubscribeAlerts to all mine", {"ClinicianService", [&](const std::string& c) { return subscribe(c, {}); }},
        {
            {"dr-alice", Code::OK, {"alerts.subscribe", "pat-a", "allowed"}},
            {"nurse-nora", Code::OK, {"alerts.subscribe", "pat-a", "allowed"}},
            {"researcher-rita", Code::PERMISSION_DENIED, {"alerts.subscribe", "", "denied"}},
        });
}

// GetTwinHistory is not on clinician_api: the twin service serves it to clinician_api only
// (ADR 0003). Everyone else is refused, and every call is recorded against the patient.
TEST_F(AccessMatrixTest, TwinHistoryIsForClinicianApiOnly) {
  twin::v1::GetTwinHistoryRequest req;
  req.set_patient_id("pat-a");
  Check("GetTwinHistory",
        {"TwinService",
         [&](const std::string& caller) {
           auto stub = twin::v1::TwinService::NewStub(Slice::Channel(slice_->data_address(), caller, "ingest"));
           return Unary(*stub, &twin::v1::TwinService::Stub::GetTwinHistory, req);
         }},
        {
            {"clinician_api", Code::OK, {"twin.history", "pat-a", "allowed"}},
            {"dr-alice", Code::PERMISSION_DENIED, {"twin.history", "pat-a", "denied"}},
            {"cli-admin", Code::PERMISSION_DENIED, {"twin.history", "pat-a", "denied"}},
            {"alerts", Code::PERMISSION_DENIED, {"twin.history", "pat-a", "denied"}},
        });
}

// ----------------------------------------------------------------------------- registry

// The registry is the administrator's: every read and write by anyone else is refused and
// recorded; the admin's calls are recorded too.
TEST_F(AccessMatrixTest, RegistryIsForTheAdministratorOnly) {
  registry_v1::GetPatientRequest get_patient;
  get_patient.set_patient_id("pat-a");
  Check("GetPatient", RegistryCall(&registry_v1::RegistryService::Stub::GetPatient, get_patient),
        AdminAfterOthers("registry.get_patient", "pat-a"));
  Check("ListPatients",
        RegistryCall(&registry_v1::RegistryService::Stub::ListPatients, registry_v1::ListPatientsRequest{}),
        AdminAfterOthers("registry.list_patients", ""));
  registry_v1::GetDeviceRequest get_device;
  get_device.set_device_id("AA:BB:CC:00:00:0A");
  Check("GetDevice", RegistryCall(&registry_v1::RegistryService::Stub::GetDevice, get_device),
        AdminAfterOthers("registry.get_device", "pat-a"));
  registry_v1::ListDevicesRequest list_devices;
  list_devices.set_patient_id("pat-a");
  Check("ListDevices", RegistryCall(&registry_v1::RegistryService::Stub::ListDevices, list_devices),
        AdminAfterOthers("registry.list_devices", "pat-a"));
  registry_v1::UnbindDeviceRequest unbind;
  unbind.set_device_id("AA:BB:CC:00:00:0A");
  Check("UnbindDevice", RegistryCall(&registry_v1::RegistryService::Stub::UnbindDevice, unbind),
        AdminAfterOthers("registry.unbind_device", "pat-a"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM devices WHERE device_id = 'AA:BB:CC:00:00:0A' AND patient_id IS NULL"),
            1)
      << "the admin's unbind, and only it, took effect";
  // pat-a has no identity: the admin's update of one field fails validation after the role check.
  registry_v1::UpdatePatientIdentityRequest update;
  update.set_patient_id("pat-a");
  update.mutable_identity()->set_phone("+1 555 0100");
  update.add_fields("phone");
  Check("UpdatePatientIdentity", RegistryCall(&registry_v1::RegistryService::Stub::UpdatePatientIdentity, update),
        AdminAfterOthers("registry.identity.update", "pat-a", Code::INVALID_ARGUMENT));
  // Re-encryption under fresh data keys: pat-a has no identity, so the admin's run moves nobody
  // and is recorded by its summary.
  registry_v1::ReencryptDataKeysRequest reencrypt;
  reencrypt.set_patient_id("pat-a");
  Check("ReencryptDataKeys", RegistryCall(&registry_v1::RegistryService::Stub::ReencryptDataKeys, reencrypt),
        AdminAfterOthers("registry.data_keys.update", "pat-a"));
}

// The rest of the registry: administration (the admin's only; feeds are also covered by
// feeds_admin_integration_test) and CheckForwarding (the bridge's only). Every refusal is
// recorded; the bridge's allowed CheckForwarding is not (it is asked once per cache period).
TEST_F(AccessMatrixTest, RegistryAdministrationAndForwarding) {
  registry_v1::CreatePatientRequest create;
  create.mutable_patient()->set_patient_id("pat-n");
  Check("CreatePatient", RegistryCall(&registry_v1::RegistryService::Stub::CreatePatient, create),
        AdminAfterOthers("registry.create_patient", "pat-n"));
  registry_v1::FindPatientByMrnRequest find;
  find.set_mrn("MRN-0001");
  Check("FindPatientByMrn", RegistryCall(&registry_v1::RegistryService::Stub::FindPatientByMrn, find),
        Others("registry.find_patient_by_mrn", ""));
  registry_v1::BindDeviceRequest bind;
  bind.mutable_device()->set_device_id("AA:BB:CC:00:00:0B");
  bind.mutable_device()->set_kind(registry_v1::DEVICE_KIND_HEART_RATE_STRAP);
  bind.set_patient_id("pat-b");
  bind.add_gateway_ids("bridge-001");
  Check("BindDevice", RegistryCall(&registry_v1::RegistryService::Stub::BindDevice, bind),
        AdminAfterOthers("registry.bind_device", "pat-b"));
  registry_v1::AddCareTeamMemberRequest add;
  add.set_patient_id("pat-b");
  add.set_member("nurse-ned");
  Check("AddCareTeamMember", RegistryCall(&registry_v1::RegistryService::Stub::AddCareTeamMember, add),
        AdminAfterOthers("registry.add_care_team_member", "pat-b"));
  registry_v1::RemoveCareTeamMemberRequest remove;
  remove.set_patient_id("pat-b");
  remove.set_member("nurse-ned");
  Check("RemoveCareTeamMember", RegistryCall(&registry_v1::RegistryService::Stub::RemoveCareTeamMember, remove),
        AdminAfterOthers("registry.remove_care_team_member", "pat-b"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM care_team WHERE member = 'nurse-ned'"), 0);
  registry_v1::ReleaseQuarantineRequest release;
  release.set_device_id("AA:BB:CC:00:00:0A");
  Check("ReleaseQuarantine", RegistryCall(&registry_v1::RegistryService::Stub::ReleaseQuarantine, release),
        AdminAfterOthers("registry.release_quarantine", ""));
  registry_v1::CheckForwardingRequest forwarding;
  forwarding.set_device_id("AA:BB:CC:00:00:0A");
  std::vector<Expectation> forwarders =
      Others("registry.check_forwarding", "", {"dr-alice", "researcher-rita", "cli-admin", "alerts"});
  forwarders.push_back({"bridge-001", Code::OK, {}});
  Check("CheckForwarding", RegistryCall(&registry_v1::RegistryService::Stub::CheckForwarding, forwarding), forwarders);
  Check("ListFeeds", RegistryCall(&registry_v1::RegistryService::Stub::ListFeeds, registry_v1::ListFeedsRequest{}),
        AdminAfterOthers("registry.list_feeds", ""));
  registry_v1::GetFeedStatusRequest status;
  Check("GetFeedStatus", RegistryCall(&registry_v1::RegistryService::Stub::GetFeedStatus, status),
        Others("registry.get_feed_status", ""));
  registry_v1::AddFeedRequest add_feed;
  add_feed.mutable_feed()->set_name("matrix");
  Check("AddFeed", RegistryCall(&registry_v1::RegistryService::Stub::AddFeed, add_feed),
        Others("registry.add_feed", ""));
  registry_v1::PauseFeedRequest pause;
  pause.set_name("matrix");
  Check("PauseFeed", RegistryCall(&registry_v1::RegistryService::Stub::PauseFeed, pause),
        Others("registry.pause_feed", ""));
  registry_v1::ResumeFeedRequest resume;
  resume.set_name("matrix");
  Check("ResumeFeed", RegistryCall(&registry_v1::RegistryService::Stub::ResumeFeed, resume),
        Others("registry.resume_feed", ""));
  registry_v1::ReplayFeedRequest replay;
  replay.set_name("matrix");
  Check("ReplayFeed", RegistryCall(&registry_v1::RegistryService::Stub::ReplayFeed, replay),
        Others("registry.replay_feed", ""));
}

// Decrypted identities leave the registry only for clinician_api, which has checked the person.
TEST_F(AccessMatrixTest, RegistryIdentityReadIsForClinicianApiOnly) {
  registry_v1::GetPatientIdentityRequest req;
  req.set_patient_id("pat-a");
  Check("GetPatientIdentity", RegistryCall(&registry_v1::RegistryService::Stub::GetPatientIdentity, req),
        {
            {"dr-alice", Code::PERMISSION_DENIED, {"registry.identity.read", "pat-a", "denied"}},
            {"cli-admin", Code::PERMISSION_DENIED, {"registry.identity.read", "pat-a", "denied"}},
            {"alerts", Code::PERMISSION_DENIED, {"registry.identity.read", "pat-a", "denied"}},
            {"clinician_api", Code::NOT_FOUND, {"registry.identity.read", "pat-a", "allowed"}},
        });
}

// Research (issue 13, item 5): only a researcher on the study reads its de-identified
// subjects; every other role is refused and audited without a patient (the refusal comes before
// the study is read). pat-a consented to study st-1, on which researcher-rita works.
TEST_F(AccessMatrixTest, ResearchIsForTheStudysResearchersOnly) {
  Sql("INSERT INTO research_studies (study_id, title, created_by) VALUES ('st-1', 'matrix', 'cli-admin')");
  Sql("INSERT INTO research_study_researchers (study_id, researcher, added_by) VALUES ('st-1', 'researcher-rita',"
      " 'cli-admin')");
  Sql("INSERT INTO research_study_patients (study_id, patient_id, recorded_by) VALUES ('st-1', 'pat-a', 'cli-admin')");
  clinician_v1::ListStudyPatientsRequest list;
  list.set_study_id("st-1");
  const std::vector<Expectation> others = {
      {"dr-alice", Code::PERMISSION_DENIED, {"", "", "denied"}},
      {"cli-admin", Code::PERMISSION_DENIED, {"", "", "denied"}},
      {"bridge-001", Code::PERMISSION_DENIED, {"", "", "denied"}},
  };
  const auto with_action = [&](const std::string& action, Expectation researcher) {
    std::vector<Expectation> out = {std::move(researcher)};
    for (Expectation e : others) {
      e.audit.action = action;
      out.push_back(e);
    }
    return out;
  };
  Check("ListStudyPatients", ClinicianCall(&clinician_v1::ClinicianService::Stub::ListStudyPatients, list),
        with_action("research.subjects.list",
                    {"researcher-rita", Code::OK, {"research.subjects.list", "pat-a", "allowed"}}));

  // The subject's pseudonym, as the researcher sees it.
  auto rita = clinician_v1::ClinicianService::NewStub(
      Slice::Channel(slice_->clinician_address(), "researcher-rita", "clinician_api"));
  clinician_v1::ListStudyPatientsResponse subjects;
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    ASSERT_TRUE(rita->ListStudyPatients(&ctx, list, &subjects).ok());
  }
  ASSERT_EQ(subjects.subjects_size(), 1);
  const clinician_v1::StudySubject& subject = subjects.subjects(0);

  clinician_v1::GetDeidentifiedVitalsRequest vitals;
  vitals.set_study_id("st-1");
  vitals.set_subject(subject.subject());
  *vitals.mutable_start() =
      common::FromUnixMicros(common::ToUnixMicros(subject.consented_at(), "c").value() - 3'600'000'000LL);
  *vitals.mutable_end() =
      common::FromUnixMicros(common::ToUnixMicros(subject.consented_at(), "c").value() + 3'600'000'000LL);
  Check(
      "GetDeidentifiedVitals", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetDeidentifiedVitals, vitals),
      with_action("research.vitals.read", {"researcher-rita", Code::OK, {"research.vitals.read", "pat-a", "allowed"}}));

  clinician_v1::GetDeidentifiedTwinRequest twin;
  twin.set_study_id("st-1");
  twin.set_subject(subject.subject());
  Check("GetDeidentifiedTwin", ClinicianCall(&clinician_v1::ClinicianService::Stub::GetDeidentifiedTwin, twin),
        with_action("research.twin.read",
                    {"researcher-rita", Code::NOT_FOUND, {"research.twin.read", "pat-a", "allowed"}}));

  // A small what-if on the subject's twin (the population prior: pat-a has no twin), relayed to
  // the simulation service: the researcher's stream ends with a result.
  clinician_v1::RunDeidentifiedWhatIfRequest whatif;
  whatif.set_study_id("st-1");
  whatif.set_subject(subject.subject());
  whatif.mutable_whatif()->set_days(3);
  whatif.mutable_whatif()->set_ensemble_size(2);
  whatif.mutable_whatif()->add_options()->set_name("no change");
  const Call run_whatif = {"ClinicianService", [this, whatif](const std::string& caller) {
                             auto stub = clinician_v1::ClinicianService::NewStub(
                                 Slice::Channel(slice_->clinician_address(), caller, "clinician_api"));
                             grpc::ClientContext ctx;
                             ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
                             auto reader = stub->RunDeidentifiedWhatIf(&ctx, whatif);
                             clinician_v1::DeidentifiedWhatIfEvent ev;
                             bool result = false;
                             while (reader->Read(&ev)) result = result || ev.event().has_result();
                             grpc::Status s = reader->Finish();
                             EXPECT_TRUE(!s.ok() || result) << caller << ": an OK stream without a result";
                             return s;
                           }};
  Check("RunDeidentifiedWhatIf", run_whatif,
        with_action("research.whatif", {"researcher-rita", Code::OK, {"research.whatif", "pat-a", "allowed"}}));
}

// The study registry (issue 13, item 5) is the administrator's, like the rest of the registry:
// every other role is refused and recorded, and the admin's calls are recorded too.
TEST_F(AccessMatrixTest, StudyAdministrationIsForTheAdministratorOnly) {
  registry_v1::CreateStudyRequest create;
  create.set_study_id("st-m");
  create.set_title("matrix");
  Check("CreateStudy", RegistryCall(&registry_v1::RegistryService::Stub::CreateStudy, create),
        AdminAfterOthers("registry.create_study", ""));
  registry_v1::AddStudyPatientRequest add_patient;
  add_patient.set_study_id("st-m");
  add_patient.set_patient_id("pat-a");
  Check("AddStudyPatient", RegistryCall(&registry_v1::RegistryService::Stub::AddStudyPatient, add_patient),
        AdminAfterOthers("registry.add_study_patient", "pat-a"));
  registry_v1::AddStudyResearcherRequest add_researcher;
  add_researcher.set_study_id("st-m");
  add_researcher.set_researcher("researcher-rita");
  Check("AddStudyResearcher", RegistryCall(&registry_v1::RegistryService::Stub::AddStudyResearcher, add_researcher),
        AdminAfterOthers("registry.add_study_researcher", ""));
  Check("ListStudies",
        RegistryCall(&registry_v1::RegistryService::Stub::ListStudies, registry_v1::ListStudiesRequest{}),
        AdminAfterOthers("registry.list_studies", ""));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM research_study_patients WHERE study_id = 'st-m'"), 1)
      << "the admin's add, and only it, took effect";
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM research_study_researchers WHERE study_id = 'st-m'"), 1);
}

}  // namespace
}  // namespace healthtwin::testing
