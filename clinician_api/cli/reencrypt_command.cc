#include "clinician_api/cli/reencrypt_command.h"

#include <iostream>

#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/registry/check_id.h"

namespace healthtwin::cli {

namespace reg = healthtwin::registry::v1;

ReencryptCommand::ReencryptCommand(CLI::App& keys, ApiAccess registry) : registry_(std::move(registry)) {
  command_ = keys.add_subcommand(
      "reencrypt",
      "move identifying data to fresh data keys, through the registry (admins): for a suspected exposure of a data "
      "key (DEK), which `rotate` does not cure; one transaction per patient, safe to run again after a crash");
  command_->add_option("--patient", patient_, "only this patient (default: every patient with identifying data)");
  command_->add_option("--batch", batch_, "patients per registry call (default 100)")->check(CLI::Range(1, 10000));
  command_->add_option("--run", run_, "finish this earlier run (the id a failed run printed)")
      ->check(CLI::Range(int64_t{1}, int64_t{1} << 62));
}

int ReencryptCommand::Run(std::ostream& out, std::ostream& err) const {
  if (command_->count("--patient") > 0) {
    if (absl::Status s = registry::CheckId("--patient", patient_); !s.ok()) {
      err << "healthtwin: " << s.message() << "\n";
      return 2;
    }
  }
  reg::ReencryptDataKeysRequest req;
  req.set_patient_id(patient_);
  req.set_batch(batch_);
  req.set_created_before_unix_us(run_);
  int64_t moved = 0;
  for (;;) {
    reg::ReencryptDataKeysResponse resp;
    if (int rc = CallUnary(registry_, &reg::RegistryService::Stub::ReencryptDataKeys, req, &resp); rc != 0) {
      if (req.created_before_unix_us() != 0) {
        err << "healthtwin: " << moved << " patient(s) moved before the failure; finish with --run "
            << req.created_before_unix_us() << "\n";
      }
      return rc;
    }
    moved += resp.moved();
    req.set_created_before_unix_us(resp.created_before_unix_us());
    // moved == 0 with some remaining: another run holds them; it finishes them.
    if (resp.remaining() == 0 || resp.moved() == 0) break;
  }
  out << "re-encrypted " << moved << " patient(s) under fresh data keys (run " << req.created_before_unix_us() << ")\n";
  return 0;
}

}  // namespace healthtwin::cli
