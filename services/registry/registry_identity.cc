// RegistryService's identity RPCs: reading a patient's decrypted identity (for clinician_api,
// which has checked the person's care team or break-glass grant) and changing fields of it
// (admins). No identifier reaches a log or a status message.
#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/grpc_util.h"
#include "services/registry/check_id.h"
#include "services/registry/patient_proto.h"
#include "services/registry/registry_service.h"

namespace healthtwin::registry {
namespace {

absl::Status NoKeyring() {
  return absl::FailedPreconditionError("this registry has no keyring (start ingest with --keyring)");
}

// Sets field `name` of `to` from `from`; false for a name PatientIdentity does not have.
bool CopyField(const std::string& name, const PatientIdentity& from, PatientIdentity& to) {
  static const std::pair<const char*, std::string PatientIdentity::*> kFields[] = {
      {"given", &PatientIdentity::given},           {"family", &PatientIdentity::family},
      {"birth_date", &PatientIdentity::birth_date}, {"mrn", &PatientIdentity::mrn},
      {"mrn_system", &PatientIdentity::mrn_system}, {"phone", &PatientIdentity::phone},
      {"email", &PatientIdentity::email},           {"address", &PatientIdentity::address},
  };
  for (const auto& [field, member] : kFields) {
    if (name == field) {
      to.*member = from.*member;
      return true;
    }
  }
  return false;
}

}  // namespace

grpc::ServerUnaryReactor* RegistryServiceImpl::GetPatientIdentity(grpc::CallbackServerContext* ctx,
                                                                  const v1::GetPatientIdentityRequest* req,
                                                                  v1::PatientIdentity* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetPatientIdentity", access_, "registry.identity.read",
                                           {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    if (identities_ == nullptr) return NoKeyring();
    auto identity = identities_->Get(req->patient_id());
    if (!identity.ok()) return identity.status();
    IdentityToProto(*identity, resp);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UpdatePatientIdentity(grpc::CallbackServerContext* ctx,
                                                                     const v1::UpdatePatientIdentityRequest* req,
                                                                     v1::Patient* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "UpdatePatientIdentity", access_, "registry.identity.update",
                                           {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    if (req->fields().empty()) return absl::InvalidArgumentError("fields: name at least one field to change");
    if (identities_ == nullptr) return NoKeyring();
    const PatientIdentity requested = IdentityFromProto(req->identity());
    // The current identity is read and replaced under the patient's row lock, so two concurrent
    // updates of different fields both survive.
    absl::Status refused;
    absl::Status s = pool_.WithConnection("update patient identity", [&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto row =
          tx.exec_params(std::string("SELECT ") + kPatientColumns + " FROM patients WHERE patient_id = $1 FOR UPDATE",
                         req->patient_id());
      if (row.empty()) {
        refused = absl::NotFoundError("patient " + req->patient_id() + " does not exist");
        return;
      }
      RowToPatient(row[0], resp);
      auto current = identities_->Get(req->patient_id());
      if (!current.ok() && !absl::IsNotFound(current.status())) {
        refused = current.status();
        return;
      }
      PatientIdentity updated = current.ok() ? *current : PatientIdentity{};
      for (const auto& field : req->fields()) {
        if (!CopyField(field, requested, updated)) {
          refused = absl::InvalidArgumentError(absl::StrCat("fields: unknown field '", field.substr(0, 32), "'"));
          return;
        }
      }
      if (auto v = ValidateIdentity(updated); !v.ok()) {
        refused = absl::InvalidArgumentError(absl::StrCat("identity.", v.message()));
        return;
      }
      refused = identities_->PutInTransaction(tx, req->patient_id(), updated);
      if (!refused.ok()) {
        refused = absl::Status(refused.code(), absl::StrCat("identity.", refused.message()));
        return;  // ~work aborts
      }
      tx.commit();
    });
    if (!s.ok()) return s;
    return refused;
  });
}

}  // namespace healthtwin::registry

namespace healthtwin::registry {

grpc::ServerUnaryReactor* RegistryServiceImpl::ReencryptDataKeys(grpc::CallbackServerContext* ctx,
                                                                 const v1::ReencryptDataKeysRequest* req,
                                                                 v1::ReencryptDataKeysResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    std::vector<std::string> named;
    if (!req->patient_id().empty()) named.push_back(req->patient_id());
    // A refusal is recorded here; an allowed call by one record per patient moved and a summary.
    auto caller = common::AuthorizeAuditingRefusal(*ctx, policy_, "ReencryptDataKeys", access_,
                                                   "registry.data_keys.update", named);
    if (!caller.ok()) return caller.status();
    if (!req->patient_id().empty()) {
      if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    }
    if (req->batch() < 0 || req->batch() > 10'000) return absl::InvalidArgumentError("batch: must be 0 to 10000");
    if (req->created_before_unix_us() < 0) return absl::InvalidArgumentError("created_before_unix_us: negative");
    if (identities_ == nullptr) return NoKeyring();
    auto progress = identities_->Reencrypt(
        req->patient_id(), req->batch() == 0 ? 100 : req->batch(), req->created_before_unix_us(),
        [&](pqxx::work& tx, const std::string& patient_id, uint32_t dek_version) {
          common::Access::AuditInTransaction(
              tx, *caller, "registry.data_key.update", patient_id, "allowed",
              absl::StrCat("identity encrypted again under a fresh data key (DEK version ", dek_version, ")"));
        });
    if (!progress.ok()) return progress.status();
    resp->set_moved(progress->moved);
    resp->set_remaining(progress->remaining);
    resp->set_created_before_unix_us(progress->created_before_unix_us);
    return access_.Audit(
        *caller, "registry.data_keys.update", req->patient_id(), "allowed",
        absl::StrCat("re-encryption run ", progress->created_before_unix_us, ": moved ", progress->moved,
                     " patient(s) to fresh data keys, ", progress->remaining, " remaining"));
  });
}

}  // namespace healthtwin::registry
