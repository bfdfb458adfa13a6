// A database copied from the migrated template is the database the migrations make from
// scratch: same migrations recorded, objects, owners, grants (the database's own included),
// triggers, sequences and rows.
#include "tests/harness/migrated_database.h"

#include <memory>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/row>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "services/common/db/migrator.h"
#include "tests/harness/cluster_per_suite_test.h"
#include "tests/harness/pg_cluster.h"

namespace healthtwin::testing {
namespace {

// Every row of `sql`, fields joined by '|', rows by '\n'; NULL is "<null>".
std::string Rows(const std::string& conninfo, const std::string& sql) {
  pqxx::connection conn(conninfo);
  pqxx::result result = pqxx::nontransaction(conn).exec(sql);
  std::vector<std::string> rows;
  for (const pqxx::row& row : result) {
    std::vector<std::string> fields;
    for (const pqxx::field& field : row) fields.push_back(field.is_null() ? "<null>" : field.as<std::string>());
    rows.push_back(absl::StrJoin(fields, "|"));
  }
  return absl::StrJoin(rows, "\n");
}

// What must not differ between a database from the template and one migrated from scratch.
const std::vector<std::pair<std::string, std::string>>& Signature() {
  static const auto* const kQueries = new std::vector<std::pair<std::string, std::string>>{
      {"migrations", "SELECT version, name, checksum FROM schema_migrations ORDER BY version"},
      {"relations",
       "SELECT n.nspname, c.relname, c.relkind, pg_get_userbyid(c.relowner), c.relacl::text, c.relrowsecurity"
       " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
       " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast') ORDER BY 1, 2"},
      {"columns",
       "SELECT table_name, column_name, data_type, column_default, is_nullable FROM information_schema.columns"
       " WHERE table_schema = 'public' ORDER BY 1, 2"},
      {"constraints",
       "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
       " WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2"},
      {"indexes", "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"},
      {"functions",
       "SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_userbyid(p.proowner), p.prosecdef,"
       " p.proacl::text, md5(p.prosrc), p.proconfig::text FROM pg_proc p"
       " WHERE p.pronamespace = 'public'::regnamespace ORDER BY 1, 2"},
      {"triggers",
       "SELECT tgrelid::regclass::text, tgname, tgenabled, pg_get_triggerdef(oid) FROM pg_trigger"
       " WHERE NOT tgisinternal ORDER BY 1, 2"},
      {"event triggers", "SELECT evtname, evtevent, evtenabled FROM pg_event_trigger ORDER BY 1"},
      {"policies", "SELECT tablename, policyname, cmd, roles::text, qual, with_check FROM pg_policies ORDER BY 1, 2"},
      {"default privileges",
       "SELECT defaclrole::regrole::text, defaclobjtype, defaclacl::text FROM pg_default_acl"
       " ORDER BY 1, 2"},
      {"sequences", "SELECT sequencename, start_value, last_value FROM pg_sequences ORDER BY 1"},
      {"schema",
       "SELECT nspname, pg_get_userbyid(nspowner), nspacl::text FROM pg_namespace"
       " WHERE nspname = 'public'"},
      {"database",
       "SELECT pg_get_userbyid(d.datdba), d.datallowconn, d.datistemplate, pg_encoding_to_char(d.encoding),"
       " d.datcollate, (SELECT count(*) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid)"
       " FROM pg_database d WHERE d.datname = current_database()"},
      {"database grants",
       "SELECT a.grantor::regrole::text, CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,"
       " a.privilege_type, a.is_grantable FROM pg_database d, aclexplode(d.datacl) a"
       " WHERE d.datname = current_database() ORDER BY 1, 2, 3"},
      {"rows per table",
       "SELECT c.relname, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I.%I',"
       " n.nspname, c.relname), false, true, '')))[1]::text FROM pg_class c"
       " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')"
       " ORDER BY 1"},
      {"rows of app_info and audit_chain_head",
       "SELECT (SELECT string_agg(key || '=' || value, ',' ORDER BY key) FROM app_info),"
       " (SELECT seq || ':' || encode(hash, 'hex') FROM audit_chain_head)"},
  };
  return *kQueries;
}

// ClusterPerSuiteTest starts its cluster WithMigratedTemplate().
class MigratedDatabaseTest : public ClusterPerSuiteTest {};

TEST_F(MigratedDatabaseTest, TheClusterHoldsTheTemplateClosedToConnections) {
  ASSERT_NE(cluster_, nullptr);
  EXPECT_EQ(Rows(cluster_->ConnInfo(), "SELECT datistemplate, datallowconn FROM pg_database WHERE datname = '" +
                                           MigratedTemplateName() + "'"),
            "t|f");
}

TEST_F(MigratedDatabaseTest, ADatabaseFromTheTemplateEqualsOneMigratedFromScratch) {
  ASSERT_NE(cluster_, nullptr);
  auto copied = CreateMigratedDatabase(*cluster_, "from_template");
  ASSERT_TRUE(copied.ok()) << copied.status();
  auto migrated = CreateMigratedDatabaseFromScratch(*cluster_, "from_scratch");
  ASSERT_TRUE(migrated.ok()) << migrated.status();

  // The copy really came from the template: its migrations were applied before the other's.
  EXPECT_EQ(Rows(*copied, "SELECT count(*) FROM schema_migrations"),
            std::to_string(common::BuiltInMigrations().size()));
  EXPECT_LT(Rows(*copied, "SELECT extract(epoch FROM max(applied_at))::numeric(20,6) FROM schema_migrations"),
            Rows(*migrated, "SELECT extract(epoch FROM min(applied_at))::numeric(20,6) FROM schema_migrations"));
  for (const auto& [what, sql] : Signature()) {
    EXPECT_EQ(Rows(*copied, sql), Rows(*migrated, sql)) << what;
  }
}

TEST_F(MigratedDatabaseTest, WritesToOneCopyLeaveTheNextCopyFresh) {
  ASSERT_NE(cluster_, nullptr);
  auto first = CreateMigratedDatabase(*cluster_, "first_copy");
  ASSERT_TRUE(first.ok()) << first.status();
  ExecSql(*first, "INSERT INTO patients (patient_id) VALUES ('pat-0001')");
  ExecSql(*first, "INSERT INTO app_info (key, value) VALUES ('written', 'yes')");

  auto second = CreateMigratedDatabase(*cluster_, "second_copy");
  ASSERT_TRUE(second.ok()) << second.status();

  EXPECT_EQ(QueryInt64(*second, "SELECT count(*) FROM patients"), 0);
  EXPECT_EQ(QueryInt64(*second, "SELECT count(*) FROM app_info WHERE key = 'written'"), 0);
}

TEST_F(MigratedDatabaseTest, ServicesConnectToACopyAsTheirOwnRoles) {
  ASSERT_NE(cluster_, nullptr);
  auto copied = CreateMigratedDatabase(*cluster_, "service_roles");
  ASSERT_TRUE(copied.ok()) << copied.status();

  EXPECT_EQ(Rows(ServiceConnInfo(*copied, "ingest"), "SELECT current_user"), "healthtwin_ingest");
  EXPECT_EQ(Rows(ServiceConnInfo(*copied, "feeds"), "SELECT current_user"), "healthtwin_feeds");
}

TEST(MigrationsKeyTest, EditingAddingOrRenamingAMigrationChangesTheKey) {
  const std::vector<common::Migration>& built_in = common::BuiltInMigrations();
  std::vector<common::Migration> edited = built_in;
  edited.back().sql += "\n-- one more comment";
  std::vector<common::Migration> renamed = built_in;
  renamed.front().name += "_renamed";
  std::vector<common::Migration> added = built_in;
  added.push_back({built_in.back().version + 1, "next", "SELECT 1"});

  EXPECT_EQ(MigrationsKey(built_in), MigrationsKey(common::BuiltInMigrations()));
  EXPECT_NE(MigrationsKey(edited), MigrationsKey(built_in));
  EXPECT_NE(MigrationsKey(renamed), MigrationsKey(built_in));
  EXPECT_NE(MigrationsKey(added), MigrationsKey(built_in));
  EXPECT_THAT(MigratedTemplateName(), ::testing::StartsWith("healthtwin_migrated_"));
}

TEST(MigratedDatabaseWithoutCacheTest, CreateMigratedDatabaseMigratesFromScratch) {
  PgClusterOptions options;
  options.use_template_cache = false;
  auto cluster = PgCluster::Start(WithMigratedTemplate(options));
  ASSERT_TRUE(cluster.ok()) << cluster.status();

  auto db = CreateMigratedDatabase(**cluster, "no_cache");
  ASSERT_TRUE(db.ok()) << db.status();

  EXPECT_EQ(QueryInt64((*cluster)->ConnInfo(), "SELECT count(*) FROM pg_database WHERE datistemplate AND datname = '" +
                                                   MigratedTemplateName() + "'"),
            0);
  EXPECT_EQ(QueryInt64(*db, "SELECT count(*) FROM schema_migrations"),
            static_cast<int64_t>(common::BuiltInMigrations().size()));
}

}  // namespace
}  // namespace healthtwin::testing
