// `healthtwin audit export --format fhir` on a real PostgreSQL server: records of two patients
// (allowed, denied, relayed, break-glass, and one naming no patient) written as a service
// writes them, then the real binary's Bundle, parsed and checked against the rows.
#include <chrono>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/access.h"
#include "services/common/break_glass_grants.h"
#include "services/common/pg.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::common::audit {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

struct CliRun {
  int code = -1;
  std::string out, err;
};

CliRun Export(const std::vector<std::string>& args) {
  auto child = testing::Subprocess::Spawn(HT_CLI, args);
  if (!child.ok()) return {.code = -1, .out = "", .err = child.status().ToString()};
  auto exit = (*child)->Wait(std::chrono::seconds(20));
  return {.code = exit.ok() && exit->exited ? exit->code : -1, .out = (*child)->Stdout(), .err = (*child)->Stderr()};
}

Caller Person(const std::string& name, std::string peer, std::string token_id = "") {
  Caller caller;
  caller.identity = {.common_name = name, .role = Role::kClinician, .role_name = "clinician"};
  caller.peer_address = std::move(peer);
  caller.token_id = std::move(token_id);
  return caller;
}

class AuditFhirExportTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    db_ = *conninfo;
    PgPool pool(testing::ServiceConnInfo(db_, "clinician_api"), 2);
    Access access(pool);
    // seq 1..5, then a pause so that --since can split the records by time, then seq 6..8.
    ASSERT_TRUE(
        access.Audit(Person("dr-alice", "ipv4:127.0.0.1:50001", "jti-1"), "vitals.query", "pat-a", "allowed", "").ok());
    ASSERT_TRUE(access.Audit(Person("dr-alice", "ipv4:127.0.0.1:50001"), "vitals.query", "pat-b", "allowed", "").ok());
    ASSERT_TRUE(
        access
            .Audit(Person("dr-mallory", "ipv4:127.0.0.1:50002"), "vitals.query", "pat-a", "denied", "not on care team")
            .ok());
    ASSERT_TRUE(access.Audit(Person("dr-alice", "ipv4:127.0.0.1:50001"), "patients.list", "", "allowed", "").ok());
    Caller relay;
    relay.identity = {.common_name = "clinician_api", .role = Role::kService, .role_name = "service"};
    relay.peer_address = "ipv6:[::1]:40000";
    relay.on_behalf_of = "dr-alice";
    ASSERT_TRUE(access.Audit(relay, "twin.predict", "pat-a", "allowed", "").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    pqxx::connection conn(testing::ServiceConnInfo(db_, "clinician_api"));
    pqxx::work tx(conn);
    const Caller bob = Person("dr-bob", "ipv4:127.0.0.1:50003");
    Access::AuditInTransaction(
        tx, bob, kEmergencyOverrideStarted, "pat-a", "allowed",
        "Emergency Override Started: break-glass grant 1, reason ETREAT, for 1h",
        {.event_type = kSecurityAlertEventType, .purpose_of_use = "ETREAT", .entity_what = "break_glass_grant/1"});
    Access::AuditInTransaction(tx, bob, "vitals.query", "pat-b", "denied", "not on care team");
    Access::AuditInTransaction(tx, bob, "vitals.query", "pat-a", "allowed", "break-glass grant 1",
                               {.purpose_of_use = "ETREAT", .entity_what = "break_glass_grant/1"});
    tx.commit();
    ASSERT_EQ(testing::QueryInt64(db_, "SELECT max(seq) FROM audit_log"), 8);
  }

  // One text column of the first row of `sql`, run as the superuser.
  std::string QueryText(const std::string& sql) {
    pqxx::connection conn(db_);
    pqxx::nontransaction tx(conn);
    return tx.exec(sql)[0][0].as<std::string>();
  }

  // The record time of `seq` as RFC 3339 with microseconds, as an auditor would pass it.
  std::string TimeOf(int seq) {
    return QueryText(
        "SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') FROM audit_log "
        "WHERE seq = " +
        std::to_string(seq));
  }

  // The Bundle `args` export, after checking that the command succeeded.
  json Bundle(std::vector<std::string> args) {
    args.insert(args.begin(), {"audit", "export", "--db", db_, "--format", "fhir"});
    const CliRun run = Export(args);
    EXPECT_EQ(run.code, 0) << run.err;
    json bundle = json::parse(run.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(bundle.is_discarded()) << run.out;
    return bundle;
  }

  static std::vector<std::string> Ids(const json& bundle) {
    std::vector<std::string> ids;
    for (const json& entry : bundle.value("entry", json::array())) ids.push_back(entry["resource"]["id"]);
    return ids;
  }

  std::string db_;
};

TEST_F(AuditFhirExportTest, ExportsEveryRecordOfThePatientInOrderWithEachFieldMapped) {
  const json bundle = Bundle({"--patient", "pat-a"});
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "collection");
  ASSERT_THAT(Ids(bundle), ElementsAre("audit-log-1", "audit-log-3", "audit-log-5", "audit-log-6", "audit-log-8"));
  for (const json& entry : bundle["entry"]) {
    const json& e = entry["resource"];
    EXPECT_EQ(e["resourceType"], "AuditEvent");
    EXPECT_EQ(e["entity"][0]["what"]["reference"], "Patient/pat-a");
    const std::string seq = e["extension"][0]["extension"][0]["valueString"];
    EXPECT_EQ(e["id"], "audit-log-" + seq);
    EXPECT_EQ(e["extension"][0]["extension"][1]["valueBase64Binary"],
              QueryText("SELECT encode(hash, 'base64') FROM audit_log WHERE seq = " + seq));
    EXPECT_EQ(e["recorded"], QueryText("SELECT to_char(date_trunc('milliseconds', at) AT TIME ZONE 'UTC', "
                                       "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM audit_log WHERE seq = " +
                                       seq));
    EXPECT_EQ(e["source"]["observer"]["display"], "healthtwin");
  }
  const json& allowed = bundle["entry"][0]["resource"];
  EXPECT_EQ(allowed["type"]["code"], "110110");
  EXPECT_EQ(allowed["subtype"][0]["code"], "vitals.query");
  EXPECT_EQ(allowed["action"], "R");
  EXPECT_EQ(allowed["outcome"], "0");
  EXPECT_EQ(allowed["purposeOfEvent"][0]["coding"][0]["code"], "TREAT");
  EXPECT_EQ(allowed["agent"][0]["who"]["identifier"]["value"], "dr-alice");
  EXPECT_EQ(allowed["agent"][0]["role"][0]["text"], "clinician");
  EXPECT_EQ(allowed["agent"][0]["requestor"], true);
  EXPECT_EQ(allowed["agent"][0]["network"], (json{{"address", "127.0.0.1"}, {"type", "2"}}));
  EXPECT_EQ(allowed["agent"][0]["extension"][0]["valueString"], "jti-1");

  const json& denied = bundle["entry"][1]["resource"];
  EXPECT_EQ(denied["agent"][0]["who"]["identifier"]["value"], "dr-mallory");
  EXPECT_EQ(denied["outcome"], "4");
  EXPECT_EQ(denied["outcomeDesc"], "not on care team");

  const json& relayed = bundle["entry"][2]["resource"];
  ASSERT_EQ(relayed["agent"].size(), 2u);
  EXPECT_EQ(relayed["agent"][0]["who"]["identifier"]["value"], "clinician_api");
  EXPECT_EQ(relayed["agent"][0]["requestor"], false);
  EXPECT_EQ(relayed["agent"][0]["network"]["address"], "::1");
  EXPECT_EQ(relayed["agent"][1]["who"]["identifier"]["value"], "dr-alice");
  EXPECT_EQ(relayed["agent"][1]["requestor"], true);
  EXPECT_EQ(relayed["purposeOfEvent"][0]["coding"][0]["code"], "HOPERAT");

  const json& glass = bundle["entry"][3]["resource"];
  EXPECT_EQ(glass["type"]["code"], "110113");
  EXPECT_EQ(glass["type"]["system"], "http://dicom.nema.org/resources/ontology/DCM");
  EXPECT_EQ(glass["subtype"][0]["code"], "110127");
  EXPECT_EQ(glass["subtype"][0]["display"], "Emergency Override Started");
  EXPECT_EQ(glass["action"], "E");
  EXPECT_EQ(glass["purposeOfEvent"][0]["coding"][0]["code"], "ETREAT");
  EXPECT_EQ(glass["entity"][1]["what"]["identifier"]["value"], "break_glass_grant/1");
  EXPECT_THAT(glass["outcomeDesc"].get<std::string>(), HasSubstr("Emergency Override Started"));

  const json& under_grant = bundle["entry"][4]["resource"];
  EXPECT_EQ(under_grant["outcomeDesc"], "break-glass grant 1");
  EXPECT_EQ(under_grant["purposeOfEvent"][0]["coding"][0]["code"], "ETREAT");

  EXPECT_THAT(Ids(Bundle({"--patient", "pat-b"})), ElementsAre("audit-log-2", "audit-log-7"));
  EXPECT_FALSE(Bundle({"--patient", "pat-nobody"}).contains("entry"));
}

TEST_F(AuditFhirExportTest, SinceAndUntilSplitTheRecordsByTime) {
  const std::string sixth = TimeOf(6);
  EXPECT_THAT(Ids(Bundle({"--patient", "pat-a", "--since", sixth})), ElementsAre("audit-log-6", "audit-log-8"));
  EXPECT_THAT(Ids(Bundle({"--patient", "pat-a", "--until", sixth})),
              ElementsAre("audit-log-1", "audit-log-3", "audit-log-5"));
  EXPECT_EQ(Ids(Bundle({"--patient", "pat-a", "--since", "1h"})).size(), 5u);
  EXPECT_FALSE(Bundle({"--patient", "pat-a", "--since", "2099-01-01T00:00:00Z"}).contains("entry"));
}

TEST_F(AuditFhirExportTest, BadArgumentsExitTwoAndAnUnreachableDatabaseOne) {
  CliRun run = Export({"audit", "export", "--db", db_, "--patient", "pat-a", "--format", "csv"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("--format"));
  EXPECT_THAT(run.err, HasSubstr("csv"));
  EXPECT_EQ(run.out, "");
  run = Export({"audit", "export", "--db", db_, "--patient", "pat-a"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("--format"));
  run = Export({"audit", "export", "--db", db_, "--patient", "pat-a", "--format", "fhir", "--since", "soon"});
  EXPECT_EQ(run.code, 2);
  EXPECT_THAT(run.err, HasSubstr("--since"));
  run = Export(
      {"audit", "export", "--db", "host=/nonexistent-dir dbname=none", "--patient", "pat-a", "--format", "fhir"});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("--db: cannot connect"));
  EXPECT_EQ(run.out, "");
}

}  // namespace
}  // namespace healthtwin::common::audit
