#include "services/common/db/roles.h"

#include <exception>
#include <pqxx/except>
#include <pqxx/transaction>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::common {

const std::vector<std::string>& DatabaseServices() {
  static const auto* const kServices =
      new std::vector<std::string>{"ingest", "alerts", "twin", "simulation", "clinician_api", "feeds"};
  return *kServices;
}

std::string ServiceRole(std::string_view service) { return "healthtwin_" + std::string(service); }

std::string ConnInfoAs(std::string_view conninfo, std::string_view role) {
  return std::string(conninfo) + " user=" + std::string(role);
}

absl::Status BootstrapRoles(pqxx::connection& superuser) {
  std::vector<std::string> roles = {kMigratorRole};
  for (const std::string& service : DatabaseServices()) roles.push_back(ServiceRole(service));
  try {
    pqxx::work tx(superuser, "bootstrap_roles");
    for (const std::string& role : roles) {
      // CREATE ROLE has no IF NOT EXISTS; an existing role is left as the DBA configured it.
      if (tx.exec_params("SELECT 1 FROM pg_roles WHERE rolname = $1", role).empty()) {
        tx.exec(absl::StrCat("CREATE ROLE ", tx.quote_name(role), " LOGIN"));
      }
    }
    // The owner of a database owns its public schema (pg_database_owner, PostgreSQL 15), which
    // is what lets the migrator create tables there and no one else.
    const std::string database = tx.exec1("SELECT current_database()")[0].as<std::string>();
    tx.exec(absl::StrCat("ALTER DATABASE ", tx.quote_name(database), " OWNER TO ", tx.quote_name(kMigratorRole)));
    tx.commit();
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat("bootstrap roles: ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("bootstrap roles (run as a superuser): ", absl::StripTrailingAsciiWhitespace(e.what())));
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::common
