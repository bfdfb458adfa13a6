#include "clinician_api/cli/identity_commands.h"

#include <iostream>
#include <nlohmann/json.hpp>

#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"

namespace healthtwin::cli {
namespace {

namespace clin = healthtwin::clinician::v1;
namespace reg = healthtwin::registry::v1;

// update-patient's options: flag, the request's field name, the setter.
struct FieldOption {
  const char* flag;
  const char* field;
  std::string IdentityCommands::*value;
};

}  // namespace

IdentityCommands::IdentityCommands(CLI::App& app, CLI::App& admin, ApiAccess api, ApiAccess registry)
    : api_(std::move(api)), registry_(std::move(registry)) {
  CLI::App* patient = app.get_subcommand("patient");
  show_ = patient->add_subcommand("show", "a patient's identifying data (care team or break-glass; audited)");
  show_->add_option("--patient", patient_, "patient id")->required();
  show_->add_flag("--json", json_, "one JSON object");

  update_ = admin.add_subcommand("update-patient", "change fields of a patient's identity (stored encrypted)");
  update_->add_option("--patient", patient_, "patient id")->required();
  update_->add_option("--given", given_, "given name");
  update_->add_option("--family", family_, "family name");
  update_->add_option("--birth-date", birth_date_, "date of birth, YYYY-MM-DD");
  update_->add_option("--mrn", mrn_, "medical record number");
  update_->add_option("--mrn-system", mrn_system_, "the MRN's assigning authority (URI)");
  update_->add_option("--phone", phone_, "phone number (empty: remove)");
  update_->add_option("--email", email_, "email address (empty: remove)");
  update_->add_option("--address", address_, "postal address (empty: remove)");
}

bool IdentityCommands::parsed() const { return show_->parsed() || update_->parsed(); }

int IdentityCommands::Run(std::ostream& out, std::ostream& err) const {
  return show_->parsed() ? Show(out) : Update(out, err);
}

int IdentityCommands::Show(std::ostream& out) const {
  reg::GetPatientIdentityRequest req;
  req.set_patient_id(patient_);
  reg::PatientIdentity resp;
  if (int rc = CallUnary(api_, &clin::ClinicianService::Stub::GetPatientIdentity, req, &resp); rc != 0) return rc;
  if (json_) {
    out << ProtoToJson(resp).dump() << "\n";
    return 0;
  }
  const auto line = [&out](const char* label, const std::string& value) {
    if (!value.empty()) out << label << value << "\n";
  };
  out << "patient     " << patient_ << "\n";
  line("name        ", resp.given() + " " + resp.family());
  line("birth date  ", resp.birth_date());
  line("MRN         ", resp.mrn() + (resp.mrn_system().empty() ? "" : " (" + resp.mrn_system() + ")"));
  line("phone       ", resp.phone());
  line("email       ", resp.email());
  line("address     ", resp.address());
  return 0;
}

int IdentityCommands::Update(std::ostream& out, std::ostream& err) const {
  static const FieldOption kOptions[] = {
      {"--given", "given", &IdentityCommands::given_},
      {"--family", "family", &IdentityCommands::family_},
      {"--birth-date", "birth_date", &IdentityCommands::birth_date_},
      {"--mrn", "mrn", &IdentityCommands::mrn_},
      {"--mrn-system", "mrn_system", &IdentityCommands::mrn_system_},
      {"--phone", "phone", &IdentityCommands::phone_},
      {"--email", "email", &IdentityCommands::email_},
      {"--address", "address", &IdentityCommands::address_},
  };
  reg::UpdatePatientIdentityRequest req;
  req.set_patient_id(patient_);
  auto* id = req.mutable_identity();
  const auto* fields = id->GetDescriptor();
  for (const auto& o : kOptions) {
    if (update_->count(o.flag) == 0) continue;
    req.add_fields(o.field);
    id->GetReflection()->SetString(id, fields->FindFieldByName(o.field), this->*o.value);
  }
  if (req.fields().empty()) {
    err << "healthtwin: update-patient: give at least one of --given, --family, --birth-date, --mrn, --mrn-system, "
           "--phone, --email, --address\n";
    return 2;
  }
  reg::Patient resp;
  if (int rc = CallUnary(registry_, &reg::RegistryService::Stub::UpdatePatientIdentity, req, &resp); rc != 0) {
    return rc;
  }
  out << "updated " << req.fields_size() << " identity field(s) of patient " << resp.patient_id() << "\n";
  return 0;
}

}  // namespace healthtwin::cli
