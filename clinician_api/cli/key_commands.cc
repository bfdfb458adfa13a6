#include "clinician_api/cli/key_commands.h"

#include <filesystem>
#include <iostream>
#include <pqxx/pqxx>

#include "services/common/crypto/file_keyring.h"
#include "services/common/pg.h"
#include "services/registry/patient_identity_store.h"

namespace healthtwin::cli {
namespace {

int Fail(std::ostream& err, int code, std::string_view message) {
  err << "healthtwin: " << message << "\n";
  return code;
}

// UNAVAILABLE (the database cannot be reached) is bad input (2); any other failure is 1.
int FailStatus(std::ostream& err, const absl::Status& s) {
  return Fail(err, absl::IsUnavailable(s) ? 2 : 1, std::string("--db: ") + std::string(s.message()));
}

}  // namespace

KeyCommands::KeyCommands(CLI::App& admin) {
  keys_ = admin.add_subcommand("keys", "key-encryption keys of identifying data (the database and keyring directly)");
  keys_->require_subcommand(1);
  status_ = keys_->add_subcommand("status", "the active KEK version and the data keys each version wraps");
  rotate_ = keys_->add_subcommand("rotate", "rewrap every data key under the active KEK version, in batches");
  retire_ = keys_->add_subcommand("retire", "set a KEK version aside once no data key uses it");
  for (CLI::App* c : {status_, rotate_, retire_}) {
    c->add_option("--db", db_, "libpq conninfo of the database")->required();
    c->add_option("--keyring", keyring_, "the keyring directory (active-kek, kek-N.key, blind-index.key)")->required();
  }
  rotate_->add_option("--batch", batch_, "data keys per transaction (default 500)")->check(CLI::Range(1, 100000));
  retire_->add_option("--kek", kek_, "the KEK version to retire")->required()->check(CLI::Range(1u, 1000000u));
}

bool KeyCommands::parsed() const { return keys_->parsed(); }

int KeyCommands::Run(std::ostream& out, std::ostream& err) const {
  auto keys = common::crypto::FileKeyring::Create(keyring_);
  if (!keys.ok()) return Fail(err, 2, "--keyring: " + std::string(keys.status().message()));
  common::PgPool pool(db_, 1);
  registry::PatientIdentityStore store(pool, **keys);
  const uint32_t active = (*keys)->ActiveKekVersion();

  if (status_->parsed()) {
    out << "active KEK version " << active << "; keyring versions " << (*keys)->KekVersions() << "\n";
    absl::Status s = pool.WithTransaction("count data keys per KEK", [&](pqxx::work& tx) {
      for (const auto& row : tx.exec("SELECT kek_version, count(*) FROM patient_data_keys GROUP BY 1 ORDER BY 1")) {
        out << "KEK version " << row[0].as<int64_t>() << " wraps " << row[1].as<int64_t>() << " data key(s)\n";
      }
    });
    return s.ok() ? 0 : FailStatus(err, s);
  }
  if (rotate_->parsed()) {
    int64_t total = 0;
    for (;;) {
      auto n = store.RewrapBatch(batch_);
      if (!n.ok()) return FailStatus(err, n.status());
      if (*n == 0) break;
      total += *n;
    }
    out << "rewrapped " << total << " data key(s) under KEK version " << active << "\n";
    return 0;
  }
  absl::Status retirable = store.CheckKekRetirable(kek_);
  if (absl::IsFailedPrecondition(retirable)) return Fail(err, 1, std::string(retirable.message()));
  if (!retirable.ok()) return FailStatus(err, retirable);
  const std::filesystem::path file = std::filesystem::path(keyring_) / ("kek-" + std::to_string(kek_) + ".key");
  std::error_code ec;
  std::filesystem::rename(file, file.string() + ".retired", ec);
  if (ec) return Fail(err, 1, "cannot set aside " + file.string() + ": " + ec.message());
  out << "KEK version " << kek_ << " wraps no data key; moved to " << file.string() << ".retired\n";
  return 0;
}

}  // namespace healthtwin::cli
