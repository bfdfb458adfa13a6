// Least privilege in PostgreSQL (migration 0006, docs/database-roles.md), checked on a real
// server: the grant matrix below is the documented decision for every table, sequence and
// function of the schema, and the roles can do exactly what it says.
#include "services/common/db/roles.h"

#include <algorithm>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/db/migrator.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/migrated_database.h"

namespace healthtwin::common {
namespace {

// object -> service -> its privileges (comma-separated, as in GRANT). A service not named has
// none. Every table, sequence and function in the schema must have a row, even an empty one:
// a new table is a decision to make, not something that works by accident or not at all.
using Matrix = std::map<std::string, std::map<std::string, std::string>>;

std::map<std::string, std::string> Everyone(const std::string& privileges) {
  std::map<std::string, std::string> out;
  for (const std::string& service : DatabaseServices()) out[service] = privileges;
  return out;
}

const Matrix& TableMatrix() {
  static const auto* const kMatrix = new Matrix{
      {"app_info", {}},
      {"schema_migrations", Everyone("SELECT")},
      // ingest (the registry) also updates the encrypted identity columns (0017, column grants).
      {"patients", {{"ingest", "SELECT,INSERT"}, {"twin", "SELECT"}, {"simulation", "SELECT"}}},
      // Wrapped data keys (0017): only the registry, which writes identities and rotates KEKs;
      // it deletes a DEK superseded by re-encryption (0023).
      {"patient_data_keys", {{"ingest", "SELECT,INSERT,UPDATE,DELETE"}}},
      {"devices", {{"ingest", "SELECT,INSERT,UPDATE"}, {"alerts", "SELECT"}}},
      // ingest also reads the key columns (patient_id, member) its DELETE's WHERE needs (0012).
      {"care_team",
       {{"ingest", "INSERT,DELETE"},
        {"alerts", "SELECT"},
        {"simulation", "SELECT"},
        {"clinician_api", "SELECT"},
        {"feeds", "SELECT"}}},
      {"vitals",
       {{"ingest", "SELECT,INSERT"},
        {"alerts", "SELECT"},
        {"twin", "SELECT"},
        {"simulation", "SELECT"},
        {"feeds", "SELECT"}}},
      {"quarantine", {{"ingest", "SELECT,INSERT,UPDATE"}, {"alerts", "SELECT"}}},
      {"device_gateways", {{"ingest", "SELECT,INSERT,DELETE"}, {"alerts", "SELECT"}}},
      {"technical_events", {{"ingest", "INSERT"}, {"alerts", "SELECT,UPDATE"}, {"feeds", "INSERT"}}},
      {"consumer_cursors", {{"alerts", "SELECT,INSERT,UPDATE"}, {"twin", "SELECT,INSERT,UPDATE"}}},
      {"alerts", {{"alerts", "SELECT,INSERT,UPDATE"}, {"clinician_api", "SELECT"}, {"feeds", "SELECT"}}},
      {"alert_acknowledgements", {{"alerts", "SELECT,INSERT"}, {"feeds", "SELECT"}}},
      {"alert_events", {{"alerts", "SELECT,INSERT"}, {"feeds", "SELECT"}}},
      {"alert_shelves", {{"alerts", "SELECT,INSERT,UPDATE"}, {"feeds", "SELECT"}}},
      {"audit_log", Everyone("SELECT,INSERT")},
      // The chain (0016): checkpoints are written by whichever service's audit makes one due;
      // the head is moved only by the chain trigger, which runs as the migrator.
      {"audit_checkpoints", Everyone("SELECT,INSERT")},
      {"audit_chain_head", {}},
      {"twin_snapshots", {{"twin", "SELECT,INSERT"}, {"simulation", "SELECT"}}},
      {"twin_events", {{"twin", "SELECT,INSERT"}, {"alerts", "SELECT"}}},
      {"patient_alert_settings", {{"alerts", "SELECT,INSERT,UPDATE"}}},
      {"patient_alert_settings_history", {{"alerts", "SELECT,INSERT"}}},
      {"twin_calibrations", {{"twin", "SELECT,INSERT"}}},
      {"simulation_jobs", {{"simulation", "SELECT,INSERT,UPDATE"}}},
      {"simulation_whatif_runs", {{"simulation", "INSERT"}}},
      {"device_status_history", {{"ingest", "SELECT,INSERT"}, {"alerts", "SELECT"}}},
      {"device_status_latest", {{"ingest", "SELECT,INSERT,UPDATE"}, {"alerts", "SELECT"}}},
      {"gateway_heartbeats", {{"ingest", "SELECT,INSERT,UPDATE"}, {"alerts", "SELECT"}}},
      // Feeds (0013): the registry (ingest) manages them; ingest may also UPDATE the outbox
      // columns a replay resets (column grants, so not in this table-level row).
      {"feeds", {{"ingest", "SELECT,INSERT,UPDATE"}, {"feeds", "SELECT"}}},
      {"feed_outbox", {{"ingest", "SELECT"}, {"alerts", "SELECT"}, {"feeds", "SELECT,INSERT,UPDATE"}}},
      {"feed_cursors", {{"feeds", "SELECT,INSERT,UPDATE"}}},
      {"feed_replays", {{"ingest", "SELECT,INSERT"}}},
      // The admins' technical alerts of feeds (0015): raised and resolved by alerts, shown in feed
      // status by the registry (ingest).
      {"feed_alerts", {{"ingest", "SELECT"}, {"alerts", "SELECT,INSERT,UPDATE"}}},
      // Break-glass grants (0019): clinician_api and simulation also UPDATE columns (column
      // grants: the end and review columns, so not in this table-level row).
      {"break_glass_grants", {{"simulation", "SELECT"}, {"clinician_api", "SELECT,INSERT"}}},
      // 0021: the registry (in ingest) runs studies; clinician_api checks researchers on them.
      {"research_studies", {{"ingest", "SELECT,INSERT"}, {"clinician_api", "SELECT"}}},
      {"research_study_researchers", {{"ingest", "SELECT,INSERT"}, {"clinician_api", "SELECT"}}},
      {"research_study_patients", {{"ingest", "SELECT,INSERT"}, {"clinician_api", "SELECT"}}},
  };
  return *kMatrix;
}

const Matrix& SequenceMatrix() {
  static const auto* const kMatrix = new Matrix{
      {"vitals_ingest_seq", {{"ingest", "USAGE"}}},
      {"quarantine_id_seq", {{"ingest", "USAGE"}}},
      {"technical_events_id_seq", {{"ingest", "USAGE"}, {"feeds", "USAGE"}}},
      {"alert_events_event_seq_seq", {{"alerts", "USAGE"}}},
      {"audit_log_id_seq", Everyone("USAGE")},
      {"twin_events_event_id_seq", {{"twin", "USAGE"}}},
      {"twin_calibrations_id_seq", {{"twin", "USAGE"}}},
      {"device_status_history_id_seq", {{"ingest", "USAGE"}}},
      {"feeds_feed_id_seq", {{"ingest", "USAGE"}}},
      {"feed_outbox_id_seq", {{"feeds", "USAGE"}}},
      {"feed_replays_id_seq", {{"ingest", "USAGE"}}},
      {"feed_alerts_id_seq", {{"alerts", "USAGE"}}},
      {"break_glass_grants_grant_id_seq", {{"clinician_api", "USAGE"}}},
  };
  return *kMatrix;
}

const Matrix& FunctionMatrix() {
  static const auto* const kMatrix = new Matrix{
      {"healthtwin_ensure_vitals_partitions(integer)", {{"ingest", "EXECUTE"}}},
      {"healthtwin_apply_vitals_retention(integer)", {{"ingest", "EXECUTE"}}},
      {"healthtwin_apply_device_status_retention(integer)", {{"ingest", "EXECUTE"}}},
      // The audit chain's trigger functions and what they call (0016): nobody calls them.
      {"healthtwin_audit_action_code(text)", {}},
      {"healthtwin_audit_outcome_code(text)", {}},
      {"healthtwin_audit_purpose(text)", {}},
      {"healthtwin_audit_hash(audit_log)", {}},
      {"healthtwin_audit_chain()", {}},
      {"healthtwin_audit_refuse_change()", {}},
  };
  return *kMatrix;
}

std::set<std::string> Privileges(const Matrix& matrix, const std::string& object, const std::string& service) {
  auto row = matrix.find(object);
  if (row == matrix.end()) return {};
  auto cell = row->second.find(service);
  if (cell == row->second.end()) return {};
  std::vector<std::string> list = absl::StrSplit(cell->second, ',');
  return {list.begin(), list.end()};
}

constexpr char kPermissionDenied[] = "permission denied (42501)";

class RolesTest : public testing::ClusterPerSuiteTest {
 protected:
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr);
    auto conninfo = testing::CreateMigratedDatabase(*cluster_, TestDatabaseName());
    ASSERT_TRUE(conninfo.ok()) << conninfo.status();
    superuser_ = *conninfo;
  }

  // Runs `sql` as `service`'s role: "" when it succeeds, kPermissionDenied when PostgreSQL says
  // 42501 (libpqxx 6 leaves sqlstate() empty for exec(), but throws the matching class), else
  // the message.
  std::string RunAs(const std::string& service, const std::string& sql) const {
    try {
      pqxx::connection conn(testing::ServiceConnInfo(superuser_, service));
      pqxx::work tx(conn);
      tx.exec(sql);
      tx.commit();
      return "";
    } catch (const pqxx::insufficient_privilege&) {
      return kPermissionDenied;
    } catch (const std::exception& e) {
      return e.what();
    }
  }

  std::vector<std::string> Column(const std::string& sql) const {
    pqxx::connection conn(superuser_);
    pqxx::nontransaction tx(conn);
    std::vector<std::string> out;
    for (const pqxx::row& row : tx.exec(sql)) out.push_back(row[0].as<std::string>());
    return out;
  }

  bool Ask(const std::string& sql) const {
    pqxx::connection conn(superuser_);
    pqxx::nontransaction tx(conn);
    return tx.exec1(sql)[0].as<bool>();
  }

  // Checks every object `list_sql` finds against `matrix`, for each privilege in `kinds`,
  // with `has_fn` (has_table_privilege, ...).
  void ExpectMatrix(const Matrix& matrix, const std::string& list_sql, const std::string& has_fn,
                    const std::vector<std::string>& kinds) const {
    const std::vector<std::string> objects = Column(list_sql);
    for (const std::string& object : objects) {
      EXPECT_TRUE(matrix.contains(object))
          << object << " has no grant decision: add it to the matrix in roles_test.cc, grant it in a migration and "
          << "document it in docs/database-roles.md";
    }
    for (const auto& [object, unused] : matrix) {
      EXPECT_NE(std::find(objects.begin(), objects.end(), object), objects.end())
          << object << " is in the matrix but not in the schema";
    }
    pqxx::connection conn(superuser_);
    pqxx::nontransaction tx(conn);
    for (const std::string& object : objects) {
      for (const std::string& service : DatabaseServices()) {
        const std::set<std::string> expected = Privileges(matrix, object, service);
        for (const std::string& kind : kinds) {
          const bool has = tx.exec_params1("SELECT " + has_fn + "($1::name, $2::text, $3::text)", ServiceRole(service),
                                           object, kind)[0]
                               .as<bool>();
          EXPECT_EQ(has, expected.contains(kind)) << service << " " << kind << " on " << object;
        }
      }
    }
  }

  std::string superuser_;
};

TEST_F(RolesTest, EveryTableSequenceAndFunctionMatchesTheGrantMatrix) {
  // Partitions of vitals are reached through vitals, whose privileges are the ones checked.
  ExpectMatrix(TableMatrix(),
               "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
               " AND relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT relispartition ORDER BY 1",
               "has_table_privilege", {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"});
  ExpectMatrix(SequenceMatrix(),
               "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'S' ORDER BY 1",
               "has_sequence_privilege", {"USAGE", "SELECT", "UPDATE"});
  ExpectMatrix(FunctionMatrix(),
               "SELECT oid::regprocedure::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
               "has_function_privilege", {"EXECUTE"});
}

TEST_F(RolesTest, TheMigratorOwnsEverythingAndNoServiceCanCreateAnything) {
  EXPECT_THAT(Column("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                     " AND relowner <> 'healthtwin_migrator'::regrole"),
              ::testing::IsEmpty());
  EXPECT_THAT(Column("SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace"
                     " AND (proowner <> 'healthtwin_migrator'::regrole OR NOT prosecdef"
                     "      OR NOT 'search_path=public, pg_temp' = ANY (proconfig))"),
              ::testing::IsEmpty());
  EXPECT_TRUE(
      Ask("SELECT datdba = 'healthtwin_migrator'::regrole FROM pg_database WHERE datname = current_database()"));
  for (const std::string& service : DatabaseServices()) {
    const std::string role = "'" + ServiceRole(service) + "'";
    EXPECT_TRUE(
        Ask("SELECT NOT (rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls)"
            " FROM pg_roles WHERE rolname = " +
            role))
        << service;
    EXPECT_FALSE(Ask("SELECT has_schema_privilege(" + role + ", 'public', 'CREATE')")) << service;
    EXPECT_FALSE(Ask("SELECT has_database_privilege(" + role + ", current_database(), 'CREATE')")) << service;
    EXPECT_TRUE(Ask("SELECT has_database_privilege(" + role + ", current_database(), 'CONNECT')")) << service;
    // Only ingest stages batches in a temporary table (pg_sample_store.cc).
    EXPECT_EQ(Ask("SELECT has_database_privilege(" + role + ", current_database(), 'TEMPORARY')"), service == "ingest")
        << service;
  }
}

TEST_F(RolesTest, IngestCannotCreateTablesButCanStageInATemporaryOne) {
  EXPECT_EQ(RunAs("ingest", "CREATE TABLE intruder (id int)"), kPermissionDenied);
  EXPECT_EQ(RunAs("ingest",
                  "CREATE TABLE vitals_209901 PARTITION OF vitals FOR VALUES FROM ('2099-01-01') TO "
                  "('2099-02-01')"),
            kPermissionDenied);
  EXPECT_EQ(RunAs("ingest", "CREATE TEMP TABLE staging (id int)"), "");
  EXPECT_EQ(RunAs("alerts", "CREATE TEMP TABLE staging (id int)"), kPermissionDenied);
}

TEST_F(RolesTest, NoServiceCanAlterOrDropTheSchema) {
  // "must be owner of table" is 42501 too.
  for (const std::string& service : DatabaseServices()) {
    EXPECT_EQ(RunAs(service, "ALTER TABLE vitals ADD COLUMN intruder int"), kPermissionDenied) << service;
    EXPECT_EQ(RunAs(service, "DROP TABLE audit_log"), kPermissionDenied) << service;
  }
}

TEST_F(RolesTest, AuditLogIsAppendOnlyForEveryService) {
  for (const std::string& service : DatabaseServices()) {
    EXPECT_EQ(RunAs(service, "INSERT INTO audit_log (actor, role, action, outcome) VALUES ('t', 't', 't', 'allowed')"),
              "")
        << service;
    EXPECT_EQ(RunAs(service, "SELECT count(*) FROM audit_log"), "") << service;
    EXPECT_EQ(RunAs(service, "UPDATE audit_log SET outcome = 'denied'"), kPermissionDenied) << service;
    EXPECT_EQ(RunAs(service, "DELETE FROM audit_log"), kPermissionDenied) << service;
    EXPECT_EQ(RunAs(service, "TRUNCATE audit_log"), kPermissionDenied) << service;
    EXPECT_EQ(RunAs(service, "UPDATE audit_checkpoints SET key_id = 'x'"), kPermissionDenied) << service;
    EXPECT_EQ(RunAs(service, "DELETE FROM audit_checkpoints"), kPermissionDenied) << service;
    EXPECT_EQ(RunAs(service, "TRUNCATE audit_checkpoints"), kPermissionDenied) << service;
    EXPECT_EQ(RunAs(service, "UPDATE audit_chain_head SET seq = 0"), kPermissionDenied) << service;
  }
  EXPECT_EQ(Column("SELECT count(*) FROM audit_log")[0], std::to_string(DatabaseServices().size()));
}

TEST_F(RolesTest, ServicesCannotTouchTablesOutsideTheirWork) {
  EXPECT_EQ(RunAs("twin", "INSERT INTO care_team (patient_id, member) VALUES ('p', 'mallory')"), kPermissionDenied);
  EXPECT_EQ(RunAs("twin", "SELECT * FROM care_team"), kPermissionDenied);
  EXPECT_EQ(RunAs("clinician_api", "SELECT * FROM vitals"), kPermissionDenied);
  EXPECT_EQ(RunAs("clinician_api", "INSERT INTO care_team (patient_id, member) VALUES ('p', 'mallory')"),
            kPermissionDenied);
  EXPECT_EQ(RunAs("alerts",
                  "INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
                  " bridge_id) VALUES ('p', 'd', 1, 80, '/min', now(), 'b')"),
            kPermissionDenied);
  EXPECT_EQ(RunAs("simulation", "UPDATE devices SET patient_id = NULL"), kPermissionDenied);
  EXPECT_EQ(RunAs("ingest", "DELETE FROM vitals"), kPermissionDenied);
}

// Break-glass grants (0019) are evidence for the review: clinician_api records a grant's end and
// its review, and can neither lengthen, reassign nor delete one; simulation only records ends.
TEST_F(RolesTest, BreakGlassGrantsCanBeEndedAndReviewedButNotRewritten) {
  EXPECT_EQ(RunAs("clinician_api",
                  "UPDATE break_glass_grants SET end_audited_at = now(), review = 'justified', reviewed_by = 'a',"
                  " reviewed_at = now(), review_note = 'n' WHERE grant_id = 0"),
            "");
  EXPECT_EQ(RunAs("clinician_api", "UPDATE break_glass_grants SET expires_at = now() + interval '1 day'"),
            kPermissionDenied);
  EXPECT_EQ(RunAs("clinician_api", "UPDATE break_glass_grants SET grantee = 'mallory'"), kPermissionDenied);
  EXPECT_EQ(RunAs("clinician_api", "DELETE FROM break_glass_grants"), kPermissionDenied);
  EXPECT_EQ(RunAs("clinician_api", "SELECT patient_id FROM patients"), "");
  EXPECT_EQ(RunAs("clinician_api", "SELECT given_enc FROM patients"), kPermissionDenied);
  EXPECT_EQ(RunAs("simulation", "UPDATE break_glass_grants SET end_audited_at = now() WHERE grant_id = 0"), "");
  EXPECT_EQ(RunAs("simulation", "UPDATE break_glass_grants SET review = 'justified'"), kPermissionDenied);
  EXPECT_EQ(RunAs("simulation",
                  "INSERT INTO break_glass_grants (patient_id, grantee, reason_code, reason_text, expires_at)"
                  " VALUES ('p', 'dr-x', 'ETREAT', 'x', now() + interval '1 hour')"),
            kPermissionDenied);
  EXPECT_EQ(RunAs("twin", "SELECT * FROM break_glass_grants"), kPermissionDenied);
}

TEST_F(RolesTest, OnlyTheRegistryChangesFeedsAndItCanOnlyRequeueTheOutbox) {
  EXPECT_EQ(RunAs("feeds", "UPDATE feeds SET state = 'paused'"), kPermissionDenied);
  EXPECT_EQ(RunAs("feeds", "SELECT * FROM patients"), kPermissionDenied);
  EXPECT_EQ(RunAs("clinician_api", "SELECT * FROM feeds"), kPermissionDenied);
  // Replay puts rows back to pending (0013); the payload and identity are the feed service's.
  EXPECT_EQ(RunAs("ingest",
                  "UPDATE feed_outbox SET state = 'pending', attempts = 0 WHERE feed_id = 1"
                  " AND source_at >= now()"),
            "");
  EXPECT_EQ(RunAs("ingest", "UPDATE feed_outbox SET payload = 'x'"), kPermissionDenied);
  EXPECT_EQ(RunAs("ingest", "UPDATE feed_outbox SET message_id = 'x'"), kPermissionDenied);
  EXPECT_EQ(RunAs("ingest", "DELETE FROM feed_outbox"), kPermissionDenied);
  EXPECT_EQ(RunAs("ingest", "SELECT * FROM feed_cursors"), kPermissionDenied);
}

TEST_F(RolesTest, OnlyIngestMaintainsPartitionsAndThePartitionsBelongToTheMigrator) {
  EXPECT_EQ(RunAs("alerts", "SELECT healthtwin_ensure_vitals_partitions(4)"), kPermissionDenied);
  EXPECT_EQ(RunAs("twin", "SELECT healthtwin_apply_vitals_retention(1)"), kPermissionDenied);

  EXPECT_EQ(RunAs("ingest", "SELECT healthtwin_ensure_vitals_partitions(4)"), "");
  EXPECT_EQ(RunAs("ingest", "SELECT healthtwin_apply_vitals_retention(36500)"), "");

  const std::vector<std::string> partitions = Column(
      "SELECT c.relname || ':' || pg_get_userbyid(c.relowner) FROM pg_inherits i"
      " JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'vitals'::regclass ORDER BY 1");
  EXPECT_EQ(partitions.size(), 6u) << absl::StrJoin(partitions, " ");  // default + this month + 4 ahead
  for (const std::string& p : partitions) EXPECT_THAT(p, ::testing::EndsWith(":healthtwin_migrator"));
}

TEST_F(RolesTest, MigrationsRefuseToRunAsAnyoneButTheMigrator) {
  // A fresh database migrated as the superuser would leave superuser-owned objects, and a
  // SECURITY DEFINER function owned by a superuser.
  ASSERT_TRUE(cluster_->CreateDatabase("as_superuser").ok());
  pqxx::connection superuser(cluster_->ConnInfo("as_superuser"));
  ASSERT_TRUE(BootstrapRoles(superuser).ok());

  absl::StatusOr<MigrationReport> report = ApplyMigrations(superuser, BuiltInMigrations());

  EXPECT_EQ(report.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(report.status().message(), ::testing::HasSubstr("run migrations as healthtwin_migrator, not postgres"));
}

}  // namespace
}  // namespace healthtwin::common
