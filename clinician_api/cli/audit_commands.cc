#include "clinician_api/cli/audit_commands.h"

#include <fstream>
#include <iostream>
#include <optional>
#include <pqxx/pqxx>
#include <sstream>
#include <tuple>

#include "absl/time/clock.h"
#include "clinician_api/cli/time_args.h"
#include "services/common/audit/checkpoints.h"
#include "services/common/audit/fhir_audit_event.h"
#include "services/common/audit/keyring_key.h"
#include "services/common/audit/patient_records.h"
#include "services/common/audit/signing.h"
#include "services/common/audit/verify.h"

namespace healthtwin::cli {
namespace {

namespace audit = healthtwin::common::audit;

// libpq's messages span lines; the contract for bad input is one line.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (c == '\n' || c == '\t') c = ' ';
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

int BadInput(std::ostream& err, const std::string& message) {
  err << "healthtwin: " << OneLine(message) << "\n";
  return 2;
}

// Connects, or nullopt after saying why (the conninfo is not echoed: it may hold a password).
std::optional<pqxx::connection> Connect(const std::string& db, std::ostream& err) {
  try {
    return std::optional<pqxx::connection>(std::in_place, db);
  } catch (const std::exception& e) {
    BadInput(err, std::string("--db: cannot connect to the database: ") + e.what());
    return std::nullopt;
  }
}

}  // namespace

AuditCommands::AuditCommands(CLI::App& app) {
  audit_ = app.add_subcommand("audit", "the tamper-evident audit trail, read from the database");
  audit_->require_subcommand(1);

  verify_ = audit_->add_subcommand("verify", "recompute the hash chain and check the checkpoints");
  verify_->add_option("--db", db_, "libpq conninfo of the database")->required();
  verify_->add_option("--checkpoints", checkpoints_file_, "checkpoints exported earlier (JSON Lines)");
  verify_->add_option("--public-key", public_key_files_,
                      "PEM Ed25519 public key that signs the checkpoints; repeat it for each key used since the "
                      "chain began (the old and the new after a replacement)");

  auto* checkpoints = audit_->add_subcommand("checkpoints", "signed checkpoints of the chain");
  checkpoints->require_subcommand(1);
  export_ = checkpoints->add_subcommand("export", "write every stored checkpoint to a file kept elsewhere");
  export_->add_option("--db", db_, "libpq conninfo of the database")->required();
  export_->add_option("--out", out_file_, "the file to write (JSON Lines)")->required();

  checkpoint_ = audit_->add_subcommand("checkpoint", "sign a checkpoint of the newest record when one is due");
  checkpoint_->add_option("--db", db_, "libpq conninfo of the database")->required();
  checkpoint_->add_option("--keyring", keyring_dir_, "keyring directory holding audit-signing.key");
  checkpoint_->add_option("--key", key_file_, "no longer taken: the signing key lives in the keyring (--keyring)");
  checkpoint_->add_option("--every-records", every_records_, "records between checkpoints")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}));
  checkpoint_->add_option("--every-minutes", every_minutes_, "minutes between checkpoints")
      ->check(CLI::Range(int64_t{0}, int64_t{525'600}));

  fhir_export_ = audit_->add_subcommand(
      "export",
      "a patient's accounting of disclosures: every audit record naming the patient (allowed or denied), in "
      "order, as a FHIR R4 Bundle of AuditEvents on stdout (read from the database; not itself audited)");
  fhir_export_->add_option("--db", db_, "libpq conninfo of the database")->required();
  fhir_export_->add_option("--patient", patient_, "the patient whose records to export")->required();
  fhir_export_->add_option("--since", since_, "from this time: a span ago (7d, 2h) or RFC 3339");
  fhir_export_->add_option("--until", until_, "before this time (exclusive): a span ago or RFC 3339");
  fhir_export_->add_option("--format", format_, "output format (only fhir: a FHIR R4 Bundle)")
      ->required()
      ->check(CLI::IsMember({"fhir"}));
}

bool AuditCommands::parsed() const { return audit_->parsed(); }

int AuditCommands::Run(std::ostream& out, std::ostream& err) const {
  if (verify_->parsed()) return Verify(out, err);
  if (export_->parsed()) return Export(out, err);
  if (checkpoint_->parsed()) return Checkpoint(out, err);
  if (fhir_export_->parsed()) return FhirExport(out, err);
  return BadInput(err, "audit: no command");
}

int AuditCommands::Verify(std::ostream& out, std::ostream& err) const {
  audit::VerifyOptions options;
  if (!checkpoints_file_.empty()) {
    std::ifstream in(checkpoints_file_, std::ios::binary);
    if (!in) return BadInput(err, "--checkpoints: cannot read " + checkpoints_file_);
    std::stringstream text;
    text << in.rdbuf();
    auto exported = audit::CheckpointsFromJsonLines(text.str(), "--checkpoints " + checkpoints_file_);
    if (!exported.ok()) return BadInput(err, std::string(exported.status().message()));
    options.exported = *std::move(exported);
  }
  for (const std::string& file : public_key_files_) {
    auto key = audit::CheckpointKey::FromPublicKeyFile(file);
    if (!key.ok()) return BadInput(err, "--public-key: " + std::string(key.status().message()));
    options.public_keys.push_back(*std::move(key));
  }
  auto conn = Connect(db_, err);
  if (!conn) return 2;
  try {
    const audit::VerifyReport report = audit::VerifyChain(*conn, options);
    (report.ok ? out : err) << report.Summary() << "\n";
    return report.ok ? 0 : 1;
  } catch (const std::exception& e) {
    return BadInput(err, std::string("--db: cannot read the audit chain: ") + e.what());
  }
}

int AuditCommands::Export(std::ostream& out, std::ostream& err) const {
  auto conn = Connect(db_, err);
  if (!conn) return 2;
  std::vector<audit::Checkpoint> checkpoints;
  try {
    pqxx::read_transaction tx(*conn);
    checkpoints = audit::ReadCheckpoints(tx);
  } catch (const std::exception& e) {
    return BadInput(err, std::string("--db: cannot read the checkpoints: ") + e.what());
  }
  std::ofstream file(out_file_, std::ios::binary | std::ios::trunc);
  file << audit::CheckpointsToJsonLines(checkpoints);
  file.close();
  if (!file) return BadInput(err, "--out: cannot write " + out_file_);
  out << "exported " << checkpoints.size() << " checkpoints"
      << (checkpoints.empty() ? "" : " (up to seq " + std::to_string(checkpoints.back().seq) + ")") << " to "
      << out_file_ << "\n";
  return 0;
}

int AuditCommands::Checkpoint(std::ostream& out, std::ostream& err) const {
  if (!key_file_.empty()) {
    return BadInput(err,
                    "--key: a loose key file is no longer taken; the checkpoint key is audit-signing.key in a "
                    "keyring: use --keyring DIR (deploy/pki/make-dev-pki.sh puts it in OUTDIR/keyring)");
  }
  if (keyring_dir_.empty()) return BadInput(err, "--keyring: required (the keyring holding audit-signing.key)");
  auto key = audit::CheckpointKeyFromKeyring(keyring_dir_);
  if (!key.ok()) return BadInput(err, "--keyring: " + std::string(key.status().message()));
  if (*key == nullptr) {
    return BadInput(err, "--keyring: " + keyring_dir_ + " holds no audit-signing.key: it cannot sign checkpoints");
  }
  auto conn = Connect(db_, err);
  if (!conn) return 2;
  try {
    pqxx::work tx(*conn);
    auto written =
        audit::CheckpointIfDue(tx, **key, {.every_records = every_records_, .every = absl::Minutes(every_minutes_)});
    if (!written.ok()) return BadInput(err, "--keyring: " + std::string(written.status().message()));
    tx.commit();
    out << (*written ? "wrote a checkpoint of the newest record" : "no checkpoint due") << "\n";
    return 0;
  } catch (const std::exception& e) {
    return BadInput(err, std::string("--db: cannot write the checkpoint: ") + e.what());
  }
}

int AuditCommands::FhirExport(std::ostream& out, std::ostream& err) const {
  if (patient_.empty()) return BadInput(err, "--patient: must not be empty");
  audit::RecordWindow window;
  const absl::Time now = absl::Now();
  for (auto [flag, text, bound] :
       {std::tuple("--since", &since_, &window.since_unix_us), std::tuple("--until", &until_, &window.until_unix_us)}) {
    if (text->empty()) continue;
    auto at = ParseInstantArg(flag, *text, now);
    if (!at.ok()) return BadInput(err, std::string(at.status().message()));
    *bound = absl::ToUnixMicros(*at);
  }
  if (window.since_unix_us && window.until_unix_us && *window.since_unix_us >= *window.until_unix_us) {
    return BadInput(err, "--until: must be after --since");
  }
  auto conn = Connect(db_, err);  // the arguments were good: a database failure is exit 1
  if (!conn) return 1;
  try {
    const auto records = audit::ReadPatientRecords(*conn, patient_, window);
    out << audit::PatientAuditBundle(records, patient_).dump(2) << "\n";
    return 0;
  } catch (const std::exception& e) {
    BadInput(err, std::string("--db: cannot read the audit log: ") + e.what());
    return 1;
  }
}

}  // namespace healthtwin::cli
