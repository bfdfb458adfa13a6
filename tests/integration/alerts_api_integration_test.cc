// The clinician alerts API end to end (issue 11 item 4): ListAlerts, GetAlert, ShelveAlert,
// Get/SetPatientAlertSettings and GetAlarmBurden through the real clinician_api and alerts
// services over mutual TLS, with the real PostgreSQL (see test_env.h). Patients, care teams
// and alerts are arranged by SQL as the superuser; everything checked goes through the API.

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "healthtwin/alerts/v1/alerts.grpc.pb.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "services/common/time_util.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

using ::testing::HasSubstr;

namespace alerts_v1 = healthtwin::alerts::v1;
namespace clinician_v1 = healthtwin::clinician::v1;

constexpr int64_t kSecondUs = 1'000'000;

class AlertsApiTest : public ::testing::Test {
 protected:
  // dr-alice cares for pat-a and pat-b; dr-bob for pat-c only.
  static constexpr char kA[] = "pat-a";
  static constexpr char kB[] = "pat-b";
  static constexpr char kC[] = "pat-c";

  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(DatabaseName());
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    Sql("INSERT INTO patients (patient_id) VALUES ('pat-a'), ('pat-b'), ('pat-c')");
    Sql("INSERT INTO care_team (patient_id, member) VALUES ('pat-a', 'dr-alice'), ('pat-b', 'dr-alice'),"
        " ('pat-c', 'dr-bob')");
  }

  static std::string DatabaseName() { return TestDatabaseName("alertsapi"); }

  const std::string& db() const { return slice_->conninfo(); }
  // Runs `sql` as the superuser, outside any transaction (fixtures only).
  void Sql(const std::string& sql) { (void)QueryInt(db(), sql); }

  // An alert raised `ago_s` seconds ago (with its `raised` event); returns its id.
  std::string InsertAlert(const std::string& patient, int64_t ago_s, const std::string& rule = "hr_high",
                          int priority = 2, int state = 1) {
    const std::string id =
        QueryText(db(),
                  "INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, raised_at,"
                  " peak_value, ucum_unit, duration_s) VALUES ('" +
                      patient + "', '" + rule + "', " + std::to_string(priority) + ", " + std::to_string(state) +
                      ", 'test', now() - interval '" + std::to_string(ago_s + 60) + " seconds', now() - interval '" +
                      std::to_string(ago_s) + " seconds', 130, '/min', 60) RETURNING alert_id::text");
    Sql("INSERT INTO alert_events (alert_id, kind, created_at) SELECT alert_id, 1, raised_at FROM alerts"
        " WHERE alert_id = '" +
        id + "'");
    return id;
  }

  std::unique_ptr<clinician_v1::ClinicianService::Stub> Clinician(std::string_view identity) {
    return clinician_v1::ClinicianService::NewStub(
        Slice::Channel(slice_->clinician_address(), identity, "clinician_api"));
  }

  // Calls `method` on clinician_api as `identity`.
  template <typename Req, typename Resp>
  grpc::Status Call(std::string_view identity,
                    grpc::Status (clinician_v1::ClinicianService::Stub::*method)(grpc::ClientContext*, const Req&,
                                                                                 Resp*),
                    const Req& req, Resp* resp) {
    auto stub = Clinician(identity);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    return (stub.get()->*method)(&ctx, req, resp);
  }

  int64_t AuditRows(const std::string& actor, const std::string& action, const std::string& outcome) {
    return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE actor = '" + actor + "' AND action = '" + action +
                              "' AND outcome = '" + outcome + "'");
  }

  // Records the alerts service wrote for clinician_api relaying for `person`.
  int64_t RelayedAuditRows(const std::string& person, const std::string& action, const std::string& outcome) {
    return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE actor = 'clinician_api' AND on_behalf_of = '" + person +
                              "' AND action = '" + action + "' AND outcome = '" + outcome + "'");
  }

  grpc::Status Acknowledge(std::string_view identity, const std::string& alert_id) {
    clinician_v1::AcknowledgeAlertRequest req;
    req.set_alert_id(alert_id);
    alerts_v1::Alert resp;
    return Call(identity, &clinician_v1::ClinicianService::Stub::AcknowledgeAlert, req, &resp);
  }

  std::unique_ptr<Slice> slice_;
};

// ----------------------------------------------------------------------------- ListAlerts

TEST_F(AlertsApiTest, ListAlertsPagesWithoutDuplicateOrGapWhileAlertsAreInserted) {
  std::vector<std::string> expected;  // newest first
  for (int i = 0; i < 23; ++i) expected.push_back(InsertAlert(i % 2 == 0 ? kA : kB, 1000 - i * 10));
  std::reverse(expected.begin(), expected.end());
  // Two alerts in the same microsecond: the keyset must order them by id.
  Sql("UPDATE alerts SET raised_at = (SELECT raised_at FROM alerts WHERE alert_id = '" + expected[5] +
      "') WHERE alert_id = '" + expected[6] + "'");
  std::sort(expected.begin() + 5, expected.begin() + 7, std::greater<>());
  InsertAlert(kC, 5);  // bob's patient: never listed for alice

  alerts_v1::ListAlertsRequest req;
  req.set_page_size(5);
  std::vector<std::string> seen;
  int pages = 0;
  do {
    alerts_v1::ListAlertsResponse resp;
    grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::ListAlerts, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    ASSERT_LE(resp.alerts_size(), 5);
    for (const auto& a : resp.alerts()) seen.push_back(a.alert_id());
    req.set_page_token(resp.next_page_token());
    // Alerts raised while paging (newer than the first page) and an older one's neighbour.
    InsertAlert(kA, 0);
    InsertAlert(kB, 0);
    ASSERT_LT(++pages, 10);
  } while (!req.page_token().empty());

  EXPECT_EQ(pages, 5);
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(AuditRows("dr-alice", "alerts.list", "allowed"), pages);
  EXPECT_EQ(RelayedAuditRows("dr-alice", "alerts.list", "allowed"), 2 * pages);  // one per patient
}

TEST_F(AlertsApiTest, ListAlertsFiltersByPatientStatePriorityRuleAndSince) {
  const std::string want = InsertAlert(kA, 100, "spo2_low", 3, 1);
  InsertAlert(kA, 100, "hr_high", 3, 1);      // other rule
  InsertAlert(kA, 100, "spo2_low", 2, 1);     // other priority
  InsertAlert(kA, 100, "spo2_low", 3, 4);     // other state
  InsertAlert(kA, 10'000, "spo2_low", 3, 1);  // before since
  InsertAlert(kB, 100, "spo2_low", 3, 1);     // other patient

  alerts_v1::ListAlertsRequest req;
  req.set_patient_id(kA);
  req.set_state(alerts_v1::ALERT_STATE_OPEN);
  req.set_priority(alerts_v1::PRIORITY_HIGH);
  req.set_rule_id("spo2_low");
  *req.mutable_since() = common::FromUnixMicros(common::NowUnixMicros() - 1000 * kSecondUs);
  alerts_v1::ListAlertsResponse resp;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::ListAlerts, req, &resp);

  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(resp.alerts_size(), 1);
  EXPECT_EQ(resp.alerts(0).alert_id(), want);
  EXPECT_EQ(resp.next_page_token(), "");
}

TEST_F(AlertsApiTest, ListAlertsOfAPatientOutsideTheCareTeamIsDeniedAndAudited) {
  InsertAlert(kC, 100);
  alerts_v1::ListAlertsRequest req;
  req.set_patient_id(kC);
  alerts_v1::ListAlertsResponse resp;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::ListAlerts, req, &resp);

  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED) << s.error_message();
  EXPECT_EQ(resp.alerts_size(), 0);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'dr-alice' AND action = 'alerts.list'"
                     " AND outcome = 'denied' AND patient_id = 'pat-c'"),
            1);
}

TEST_F(AlertsApiTest, ListAlertsRejectsAPageTokenItDidNotMake) {
  alerts_v1::ListAlertsRequest req;
  req.set_page_token("bm90IGEgdG9rZW4");
  alerts_v1::ListAlertsResponse resp;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::ListAlerts, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("page_token"));
}

TEST_F(AlertsApiTest, ListAlertsRefusesAResearcherAndAuditsIt) {
  alerts_v1::ListAlertsRequest req;
  alerts_v1::ListAlertsResponse resp;
  grpc::Status s = Call("researcher-rita", &clinician_v1::ClinicianService::Stub::ListAlerts, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(AuditRows("researcher-rita", "alerts.list", "denied"), 1);
}

// ----------------------------------------------------------------------------- GetAlert

TEST_F(AlertsApiTest, GetAlertReturnsTheAlertWithItsEventLog) {
  const std::string id = InsertAlert(kA, 100);
  ASSERT_TRUE(Acknowledge("dr-alice", id).ok());
  alerts_v1::GetAlertRequest req;
  req.set_alert_id(id);
  alerts_v1::Alert alert;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlert, req, &alert);

  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(alert.alert_id(), id);
  ASSERT_EQ(alert.events_size(), 2);
  EXPECT_EQ(alert.events(0).kind(), alerts_v1::AlertEvent::KIND_RAISED);
  EXPECT_EQ(alert.events(1).kind(), alerts_v1::AlertEvent::KIND_ACKNOWLEDGED);
  EXPECT_EQ(alert.events(1).actor(), "dr-alice");
  EXPECT_EQ(AuditRows("dr-alice", "alert.get", "allowed"), 1);
  EXPECT_EQ(RelayedAuditRows("dr-alice", "alert.get", "allowed"), 1);
}

TEST_F(AlertsApiTest, GetAlertOfAnUnknownAlertIsNotFoundAndAudited) {
  alerts_v1::GetAlertRequest req;
  req.set_alert_id("00000000-0000-4000-8000-000000000001");
  alerts_v1::Alert alert;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlert, req, &alert);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND) << s.error_message();
  EXPECT_EQ(AuditRows("dr-alice", "alert.get", "not_found"), 1);
}

TEST_F(AlertsApiTest, GetAlertOutsideTheCareTeamIsDeniedAndAudited) {
  const std::string id = InsertAlert(kC, 100);
  alerts_v1::GetAlertRequest req;
  req.set_alert_id(id);
  alerts_v1::Alert alert;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlert, req, &alert);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(alert.alert_id(), "");
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM audit_log WHERE actor = 'dr-alice' AND action = 'alert.get'"
                     " AND outcome = 'denied' AND patient_id = 'pat-c'"),
            1);
}

TEST_F(AlertsApiTest, GetAlertWithAMalformedIdNamesAlertId) {
  alerts_v1::GetAlertRequest req;
  req.set_alert_id("not-a-uuid");
  alerts_v1::Alert alert;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlert, req, &alert);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("alert_id"));
}

// ----------------------------------------------------------------------------- ShelveAlert

clinician_v1::ShelveAlertRequest Shelve(const std::string& id, int64_t seconds, const std::string& reason) {
  clinician_v1::ShelveAlertRequest req;
  req.set_alert_id(id);
  req.mutable_duration()->set_seconds(seconds);
  req.set_reason(reason);
  return req;
}

TEST_F(AlertsApiTest, ShelveAlertShelvesForTheCallerWithTheReason) {
  const std::string id = InsertAlert(kA, 100);
  alerts_v1::Alert alert;
  grpc::Status s =
      Call("dr-alice", &clinician_v1::ClinicianService::Stub::ShelveAlert, Shelve(id, 900, "in theatre"), &alert);

  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(alert.shelves_size(), 1);
  EXPECT_EQ(alert.shelves(0).recipient(), "dr-alice");
  EXPECT_EQ(alert.shelves(0).reason(), "in theatre");
  EXPECT_NEAR(alert.shelves(0).shelved_until().seconds() - alert.shelves(0).shelved_at().seconds(), 900, 1);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alert_events WHERE kind = 5 AND actor = 'dr-alice'"), 1);
  EXPECT_EQ(AuditRows("dr-alice", "alert.shelve", "allowed"), 1);
  EXPECT_EQ(RelayedAuditRows("dr-alice", "alert.shelve", "allowed"), 1);
}

TEST_F(AlertsApiTest, ShelveAlertLongerThanTheMaximumNamesDuration) {
  const std::string id = InsertAlert(kA, 100);
  alerts_v1::Alert alert;
  grpc::Status s =
      Call("dr-alice", &clinician_v1::ClinicianService::Stub::ShelveAlert, Shelve(id, 61 * 60, "night"), &alert);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("duration"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alert_shelves"), 0);
}

TEST_F(AlertsApiTest, ShelveAlertWithoutAReasonNamesReason) {
  const std::string id = InsertAlert(kA, 100);
  alerts_v1::Alert alert;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::ShelveAlert, Shelve(id, 600, ""), &alert);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("reason"));
}

TEST_F(AlertsApiTest, ShelveAlertOutsideTheCareTeamIsDeniedAndAudited) {
  const std::string id = InsertAlert(kA, 100);
  alerts_v1::Alert alert;
  grpc::Status s =
      Call("dr-bob", &clinician_v1::ClinicianService::Stub::ShelveAlert, Shelve(id, 600, "not mine"), &alert);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(AuditRows("dr-bob", "alert.shelve", "denied"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM alert_shelves"), 0);
}

TEST_F(AlertsApiTest, ShelveAlertOfAnUnknownAlertIsNotFound) {
  alerts_v1::Alert alert;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::ShelveAlert,
                        Shelve("00000000-0000-4000-8000-000000000002", 600, "x"), &alert);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(AuditRows("dr-alice", "alert.shelve", "not_found"), 1);
}

// ----------------------------------------------------------------------------- settings

alerts_v1::GetPatientAlertSettingsRequest SettingsOf(const std::string& patient) {
  alerts_v1::GetPatientAlertSettingsRequest req;
  req.set_patient_id(patient);
  return req;
}

clinician_v1::SetPatientAlertSettingsRequest NewSettings(const std::string& patient, double hr_high,
                                                         int64_t expected_version = 0) {
  clinician_v1::SetPatientAlertSettingsRequest req;
  req.mutable_settings()->set_patient_id(patient);
  (*req.mutable_settings()->mutable_threshold_overrides())["hr_high"] = hr_high;
  req.mutable_settings()->set_spo2_scale2(true);
  req.mutable_settings()->set_supplemental_oxygen(true);
  req.set_expected_version(expected_version);
  return req;
}

TEST_F(AlertsApiTest, PatientAlertSettingsAreTheDefaultsUntilSet) {
  alerts_v1::PatientAlertSettings got;
  grpc::Status s =
      Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetPatientAlertSettings, SettingsOf(kA), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.patient_id(), kA);
  EXPECT_EQ(got.version(), 0);
  EXPECT_TRUE(got.threshold_overrides().empty());
  EXPECT_FALSE(got.spo2_scale2());
  EXPECT_EQ(AuditRows("dr-alice", "alert_settings.read", "allowed"), 1);
  EXPECT_EQ(RelayedAuditRows("dr-alice", "alert_settings.read", "allowed"), 1);
}

TEST_F(AlertsApiTest, SetPatientAlertSettingsStoresAVersionAndItsHistory) {
  alerts_v1::PatientAlertSettings stored;
  grpc::Status s =
      Call("dr-alice", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, NewSettings(kA, 110), &stored);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(stored.version(), 1);
  EXPECT_EQ(stored.updated_by(), "dr-alice");
  s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, NewSettings(kA, 115, 1),
           &stored);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(stored.version(), 2);

  alerts_v1::PatientAlertSettings got;
  s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetPatientAlertSettings, SettingsOf(kA), &got);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(got.version(), 2);
  EXPECT_EQ(got.threshold_overrides().at("hr_high"), 115);
  EXPECT_TRUE(got.spo2_scale2());
  EXPECT_TRUE(got.supplemental_oxygen());
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM patient_alert_settings_history WHERE patient_id = 'pat-a'"), 2);
  EXPECT_EQ(QueryDouble(db(),
                        "SELECT (settings->'threshold_overrides'->>'hr_high')::float8"
                        " FROM patient_alert_settings_history WHERE patient_id = 'pat-a' AND version = 1"),
            110);
  EXPECT_EQ(AuditRows("dr-alice", "alert_settings.write", "allowed"), 2);
  EXPECT_EQ(RelayedAuditRows("dr-alice", "alert_settings.write", "allowed"), 2);
}

TEST_F(AlertsApiTest, SetPatientAlertSettingsOutsideThePlausibleRangeNamesTheField) {
  alerts_v1::PatientAlertSettings stored;
  grpc::Status s =
      Call("dr-alice", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, NewSettings(kA, 400), &stored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("threshold_overrides.hr_high"));
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM patient_alert_settings"), 0);
}

TEST_F(AlertsApiTest, SetPatientAlertSettingsOfAnUnknownRuleNamesIt) {
  auto req = NewSettings(kA, 110);
  (*req.mutable_settings()->mutable_threshold_overrides())["no_such_rule"] = 1;
  alerts_v1::PatientAlertSettings stored;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, req, &stored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("threshold_overrides.no_such_rule"));
}

TEST_F(AlertsApiTest, SetPatientAlertSettingsOverAStaleVersionIsAborted) {
  alerts_v1::PatientAlertSettings stored;
  ASSERT_TRUE(
      Call("dr-alice", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, NewSettings(kA, 110), &stored)
          .ok());
  ASSERT_TRUE(
      Call("dr-alice", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, NewSettings(kA, 112, 1), &stored)
          .ok());
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings,
                        NewSettings(kA, 120, 1), &stored);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(s.error_message(), HasSubstr("expected_version"));
  EXPECT_EQ(
      QueryDouble(db(), "SELECT (settings->'threshold_overrides'->>'hr_high')::float8 FROM patient_alert_settings"),
      112);
}

TEST_F(AlertsApiTest, PatientAlertSettingsOutsideTheCareTeamAreDeniedAndAudited) {
  alerts_v1::PatientAlertSettings got;
  grpc::Status s = Call("dr-bob", &clinician_v1::ClinicianService::Stub::GetPatientAlertSettings, SettingsOf(kA), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  s = Call("dr-bob", &clinician_v1::ClinicianService::Stub::SetPatientAlertSettings, NewSettings(kA, 110), &got);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(AuditRows("dr-bob", "alert_settings.read", "denied"), 1);
  EXPECT_EQ(AuditRows("dr-bob", "alert_settings.write", "denied"), 1);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM patient_alert_settings"), 0);
}

// ----------------------------------------------------------------------------- alarm burden

TEST_F(AlertsApiTest, AlarmBurdenCountsAcknowledgementsEscalationsAndTheMedianTimeToAcknowledge) {
  const std::string a1 = InsertAlert(kA, 600, "hr_high");
  const std::string a2 = InsertAlert(kA, 300, "hr_high");
  const std::string a3 = InsertAlert(kA, 200, "spo2_low");
  InsertAlert(kB, 100, "spo2_low");
  InsertAlert(kC, 100, "spo2_low");  // bob's: not counted for alice
  ASSERT_TRUE(Acknowledge("dr-alice", a1).ok());
  ASSERT_TRUE(Acknowledge("dr-alice", a2).ok());
  Sql("INSERT INTO alert_events (alert_id, kind, tier) VALUES ('" + a3 + "', 3, 2)");

  alerts_v1::GetAlarmBurdenRequest req;
  *req.mutable_start() = common::FromUnixMicros(common::NowUnixMicros() - 86'400 * kSecondUs);
  alerts_v1::GetAlarmBurdenResponse team;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlarmBurden, req, &team);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_EQ(team.rows_size(), 1);
  const auto& t = team.rows(0);
  EXPECT_EQ(t.alerts(), 4);
  EXPECT_NEAR(t.patient_days(), 2.0, 1e-3);  // two patients, one day
  EXPECT_NEAR(t.alerts_per_patient_day(), 2.0, 1e-3);
  EXPECT_DOUBLE_EQ(t.share_acknowledged(), 0.5);
  EXPECT_DOUBLE_EQ(t.share_escalated(), 0.25);
  // Acknowledged 600 s and 300 s after raising (plus the test's own seconds): median ~450 s.
  EXPECT_NEAR(t.median_time_to_acknowledge_s(), 450, 10);

  req.set_group_by(alerts_v1::GetAlarmBurdenRequest::GROUP_BY_PATIENT);
  alerts_v1::GetAlarmBurdenResponse by_patient;
  ASSERT_TRUE(Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlarmBurden, req, &by_patient).ok());
  ASSERT_EQ(by_patient.rows_size(), 2);
  EXPECT_EQ(by_patient.rows(0).key(), kA);
  EXPECT_EQ(by_patient.rows(0).alerts(), 3);
  EXPECT_NEAR(by_patient.rows(0).alerts_per_patient_day(), 3.0, 1e-3);
  EXPECT_EQ(by_patient.rows(1).key(), kB);
  EXPECT_EQ(by_patient.rows(1).alerts(), 1);
  EXPECT_EQ(by_patient.rows(1).median_time_to_acknowledge_s(), -1);

  req.set_group_by(alerts_v1::GetAlarmBurdenRequest::GROUP_BY_RULE);
  alerts_v1::GetAlarmBurdenResponse by_rule;
  ASSERT_TRUE(Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlarmBurden, req, &by_rule).ok());
  ASSERT_EQ(by_rule.rows_size(), 2);
  EXPECT_EQ(by_rule.rows(0).key(), "hr_high");
  EXPECT_DOUBLE_EQ(by_rule.rows(0).share_acknowledged(), 1.0);
  EXPECT_EQ(by_rule.rows(1).key(), "spo2_low");
  EXPECT_DOUBLE_EQ(by_rule.rows(1).share_escalated(), 0.5);
}

TEST_F(AlertsApiTest, AlarmBurdenOfAPatientOutsideTheCareTeamIsDeniedAndAudited) {
  alerts_v1::GetAlarmBurdenRequest req;
  req.add_patient_ids(kC);
  alerts_v1::GetAlarmBurdenResponse resp;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlarmBurden, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(AuditRows("dr-alice", "alerts.burden", "denied"), 1);
}

TEST_F(AlertsApiTest, AlarmBurdenWithStartAfterEndNamesStart) {
  alerts_v1::GetAlarmBurdenRequest req;
  *req.mutable_start() = common::FromUnixMicros(common::NowUnixMicros());
  *req.mutable_end() = common::FromUnixMicros(common::NowUnixMicros() - 3600 * kSecondUs);
  alerts_v1::GetAlarmBurdenResponse resp;
  grpc::Status s = Call("dr-alice", &clinician_v1::ClinicianService::Stub::GetAlarmBurden, req, &resp);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(s.error_message(), HasSubstr("start"));
}

// ----------------------------------------------------------------------------- the CLI

// Runs the real `healthtwin` binary against this slice's clinician_api as `identity`.
CliResult RunCli(const Slice& slice, const std::string& identity, std::vector<std::string> args) {
  args.insert(args.begin(), {"--api", slice.clinician_address()});
  return RunHealthtwin(HT_HEALTHTWIN_BIN, identity, args);
}

TEST_F(AlertsApiTest, CliListsShowsAndShelvesAnAlert) {
  const std::string id = InsertAlert(kA, 100, "spo2_low", 3);
  CliResult list = RunCli(*slice_, "dr-alice", {"alerts", "list", "--json"});
  ASSERT_EQ(list.code, 0) << list.err;
  const auto listed = nlohmann::json::parse(list.out);
  ASSERT_EQ(listed["alerts"].size(), 1u) << list.out;
  EXPECT_EQ(listed["alerts"][0]["alert_id"], id);
  EXPECT_EQ(listed["alerts"][0]["priority"], "PRIORITY_HIGH");
  EXPECT_EQ(listed["next_page_token"], "");

  CliResult shelve = RunCli(*slice_, "dr-alice", {"alerts", "shelve", id, "--for", "15m", "--reason", "on rounds"});
  ASSERT_EQ(shelve.code, 0) << shelve.err;
  EXPECT_THAT(shelve.out, HasSubstr("shelved until"));

  CliResult show = RunCli(*slice_, "dr-alice", {"alerts", "show", id});
  ASSERT_EQ(show.code, 0) << show.err;
  EXPECT_THAT(show.out, HasSubstr("shelved by dr-alice until"));
  EXPECT_THAT(show.out, HasSubstr("raised by system"));
  EXPECT_THAT(show.out, HasSubstr("shelved by dr-alice: on rounds"));

  CliResult too_long = RunCli(*slice_, "dr-alice", {"alerts", "shelve", id, "--for", "2h", "--reason", "x"});
  EXPECT_EQ(too_long.code, 1);
  EXPECT_THAT(too_long.err, HasSubstr("duration"));
}

TEST_F(AlertsApiTest, CliSetsAndGetsAlertSettingsAndNamesABadThreshold) {
  CliResult set = RunCli(
      *slice_, "dr-alice",
      {"patient", "alert-settings", "set", "--patient", kA, "--threshold", "hr_high=110", "--scale2", "on", "--json"});
  ASSERT_EQ(set.code, 0) << set.err;
  EXPECT_EQ(nlohmann::json::parse(set.out)["version"], 1);
  CliResult oxygen =
      RunCli(*slice_, "dr-alice", {"patient", "alert-settings", "set", "--patient", kA, "--oxygen", "supplemental"});
  ASSERT_EQ(oxygen.code, 0) << oxygen.err;
  CliResult get = RunCli(*slice_, "dr-alice", {"patient", "alert-settings", "get", "--patient", kA, "--json"});
  ASSERT_EQ(get.code, 0) << get.err;
  const auto got = nlohmann::json::parse(get.out);
  EXPECT_EQ(got["version"], 2);
  EXPECT_EQ(got["threshold_overrides"]["hr_high"], 110);  // kept by the read-modify-write
  EXPECT_EQ(got["spo2_scale2"], true);
  EXPECT_EQ(got["supplemental_oxygen"], true);
  EXPECT_EQ(got["updated_by"], "dr-alice");

  CliResult bad =
      RunCli(*slice_, "dr-alice", {"patient", "alert-settings", "set", "--patient", kA, "--threshold", "hr_high=400"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_THAT(bad.err, HasSubstr("threshold_overrides.hr_high"));
  CliResult denied = RunCli(*slice_, "dr-bob", {"patient", "alert-settings", "get", "--patient", kA});
  EXPECT_EQ(denied.code, 1);
  EXPECT_THAT(denied.err, HasSubstr("PERMISSION_DENIED"));
}

TEST_F(AlertsApiTest, CliStatsByPatientAndAcknowledgement) {
  const std::string id = InsertAlert(kA, 100);
  CliResult ack = RunCli(*slice_, "dr-alice", {"alerts", "ack", id});
  ASSERT_EQ(ack.code, 0) << ack.err;
  CliResult stats = RunCli(*slice_, "dr-alice", {"alerts", "stats", "--by", "patient", "--since", "1d", "--json"});
  ASSERT_EQ(stats.code, 0) << stats.err;
  const auto j = nlohmann::json::parse(stats.out);
  ASSERT_EQ(j["rows"].size(), 2u) << stats.out;
  EXPECT_EQ(j["rows"][0]["key"], kA);
  EXPECT_EQ(j["rows"][0]["alerts"], 1);
  EXPECT_EQ(j["rows"][0]["share_acknowledged"], 1.0);
  EXPECT_EQ(j["rows"][1]["key"], kB);
  EXPECT_EQ(j["rows"][1]["alerts"], 0);
  CliResult text = RunCli(*slice_, "dr-alice", {"alerts", "stats"});
  ASSERT_EQ(text.code, 0) << text.err;
  EXPECT_THAT(text.out, HasSubstr("(all)"));
}

}  // namespace
}  // namespace healthtwin::testing
