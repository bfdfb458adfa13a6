#include "services/registry/registry_service.h"

#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/common/binding.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"
#include "services/registry/patient_proto.h"

namespace healthtwin::registry {
namespace {

// A device may name a few gateways (a home hub and its spare, a clinic's bridges), not a fleet.
constexpr int kMaxGatewaysPerDevice = 8;
constexpr int kMaxReadingsSinceDays = 365;

constexpr const char* kDeviceColumns =
    "device_id, kind, manufacturer, model, serial_number, firmware_revision, coalesce(patient_id, ''),"
    " (extract(epoch FROM bound_at) * 1000000)::bigint,"
    " coalesce((SELECT string_agg(g.bridge_id, ',' ORDER BY g.bridge_id) FROM device_gateways g"
    "           WHERE g.device_id = devices.device_id), '')";

void RowToDevice(const pqxx::row& row, v1::Device* d) {
  d->set_device_id(row[0].as<std::string>());
  d->set_kind(static_cast<v1::DeviceKind>(row[1].as<int>()));
  d->set_manufacturer(row[2].as<std::string>());
  d->set_model(row[3].as<std::string>());
  d->set_serial_number(row[4].as<std::string>());
  d->set_firmware_revision(row[5].as<std::string>());
  d->set_patient_id(row[6].as<std::string>());
  if (!row[7].is_null()) *d->mutable_bound_at() = common::FromUnixMicros(row[7].as<int64_t>());
  for (absl::string_view g : absl::StrSplit(row[8].as<std::string>(), ',', absl::SkipEmpty())) {
    d->add_gateway_ids(std::string(g));
  }
}

std::string DeviceDetail(std::string_view device_id) { return "device " + std::string(device_id.substr(0, 64)); }

}  // namespace

const common::CallerPolicy::Rules& RegistryServiceImpl::DefaultPolicy() {
  // Registry administration is the admin's job; no service needs these methods (ingest reads
  // bindings from the database directly). A bridge learns only what it may forward.
  static const common::CallerPolicy::Rules kRules = {
      {"CreatePatient", {"admin"}},
      {"GetPatient", {"admin"}},
      {"ListPatients", {"admin"}},
      {"FindPatientByMrn", {"admin"}},
      {"BindDevice", {"admin"}},
      {"UnbindDevice", {"admin"}},
      {"GetDevice", {"admin"}},
      {"ListDevices", {"admin"}},
      {"AddCareTeamMember", {"admin"}},
      {"RemoveCareTeamMember", {"admin"}},
      {"ReleaseQuarantine", {"admin"}},
      {"CheckForwarding", {"bridge"}},
      {"AddFeed", {"admin"}},
      {"ListFeeds", {"admin"}},
      {"GetFeedStatus", {"admin"}},
      {"PauseFeed", {"admin"}},
      {"ResumeFeed", {"admin"}},
      {"ReplayFeed", {"admin"}},
      // Decrypted identities go to clinician_api only, which checks the person's care team (or
      // break-glass grant) first; the person is audited here too, through kOnBehalfOfHeader.
      {"GetPatientIdentity", {"service:clinician_api"}},
      {"UpdatePatientIdentity", {"admin"}},
      {"ReencryptDataKeys", {"admin"}},
      {"CreateStudy", {"admin"}},
      {"AddStudyPatient", {"admin"}},
      {"AddStudyResearcher", {"admin"}},
      {"ListStudies", {"admin"}},
  };
  return kRules;
}

// The patient a device is bound to, so that every record of an access to the device (also a
// refused one) names that patient; none for an unbound, unknown or malformed id.
static std::vector<std::string> DevicePatient(common::PgPool& pool, const std::string& device_id) {
  std::vector<std::string> out;
  if (!CheckId("device_id", device_id).ok()) return out;
  auto s = pool.WithTransaction("find the device's patient", [&](pqxx::work& tx) {
    out.clear();
    auto r =
        tx.exec_params("SELECT patient_id FROM devices WHERE device_id = $1 AND patient_id IS NOT NULL", device_id);
    if (!r.empty()) out.push_back(r[0][0].as<std::string>());
  });
  if (!s.ok()) out.clear();  // the access itself then fails on the database as well
  return out;
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CreatePatient(grpc::CallbackServerContext* ctx,
                                                             const v1::CreatePatientRequest* req, v1::Patient* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    const auto& p = req->patient();
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "CreatePatient", access_, "registry.create_patient",
                                           {p.patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (p.patient_id().find(':') != std::string::npos) {
      return absl::InvalidArgumentError("patient.patient_id: may not contain ':'");
    }
    if (auto s = CheckId("patient.patient_id", p.patient_id()); !s.ok()) return s;
    if (!v1::Sex_IsValid(p.sex())) return absl::InvalidArgumentError("patient.sex: unknown value");
    if (p.birth_year() != 0 && (p.birth_year() < 1900 || p.birth_year() > 2100)) {
      return absl::InvalidArgumentError("patient.birth_year: must be between 1900 and 2100");
    }
    if (!(p.height_cm() >= 0 && p.height_cm() <= 272)) {  // written so that NaN fails too
      return absl::InvalidArgumentError("patient.height_cm: must be between 0 and 272");
    }
    std::string conditions = "{";
    for (int c : p.conditions()) {
      if (c == 0 || !v1::Condition_IsValid(c)) return absl::InvalidArgumentError("patient.conditions: unknown value");
      if (conditions.size() > 1) conditions += ",";
      conditions += std::to_string(c);
    }
    conditions += "}";
    std::optional<PatientIdentity> identity;
    if (req->has_identity()) {
      if (identities_ == nullptr) {
        return absl::FailedPreconditionError("identity: this registry has no keyring (start ingest with --keyring)");
      }
      identity = IdentityFromProto(req->identity());
      if (auto s = ValidateIdentity(*identity); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("identity.", s.message()));
      }
    }
    // The patient and its encrypted identity in one transaction: both or neither.
    absl::Status refused;
    absl::Status s = pool_.WithConnection("create patient", [&](pqxx::connection& c) {
      pqxx::work tx(c);
      auto r = tx.exec_params(std::string("INSERT INTO patients (patient_id, sex, birth_year, height_cm, conditions)"
                                          " VALUES ($1, $2, NULLIF($3, 0), NULLIF($4, 0), $5::smallint[])"
                                          " RETURNING ") +
                                  kPatientColumns,
                              p.patient_id(), static_cast<int>(p.sex()), static_cast<int>(p.birth_year()),
                              p.height_cm(), conditions);
      RowToPatient(r[0], resp);
      if (identity) {
        refused = identities_->PutInTransaction(tx, p.patient_id(), *identity);
        if (!refused.ok()) return;  // ~work aborts: no patient without its identity
      }
      tx.commit();
    });
    if (!s.ok()) return s;
    if (!refused.ok()) return absl::Status(refused.code(), absl::StrCat("identity.", refused.message()));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetPatient(grpc::CallbackServerContext* ctx,
                                                          const v1::GetPatientRequest* req, v1::Patient* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetPatient", access_, "registry.get_patient",
                                           {req->patient_id()});
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    bool found = false;
    auto s = pool_.WithTransaction("get patient", [&](pqxx::work& tx) {
      auto r = tx.exec_params(std::string("SELECT ") + kPatientColumns + " FROM patients WHERE patient_id = $1",
                              req->patient_id());
      if ((found = !r.empty())) RowToPatient(r[0], resp);
    });
    if (s.ok() && !found) return absl::NotFoundError("patient " + req->patient_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::FindPatientByMrn(grpc::CallbackServerContext* ctx,
                                                                const v1::FindPatientByMrnRequest* req,
                                                                v1::Patient* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    // A refusal is audited naming no patient; an answer is audited naming the patient found.
    auto caller =
        common::AuthorizeAuditingRefusal(*ctx, policy_, "FindPatientByMrn", access_, "registry.find_patient_by_mrn");
    if (!caller.ok()) return caller.status();
    if (identities_ == nullptr) {
      return absl::FailedPreconditionError("this registry has no keyring (start ingest with --keyring)");
    }
    auto patient_id = identities_->FindByMrn(req->mrn_system(), req->mrn());
    if (!patient_id.ok()) return patient_id.status();
    if (auto a = access_.Audit(*caller, "registry.find_patient_by_mrn", *patient_id, "allowed", ""); !a.ok()) {
      return a;  // fail closed
    }
    return pool_.WithTransaction("find patient by MRN", [&](pqxx::work& tx) {
      auto r = tx.exec_params(std::string("SELECT ") + kPatientColumns + " FROM patients WHERE patient_id = $1",
                              *patient_id);
      RowToPatient(r[0], resp);
    });
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListPatients(grpc::CallbackServerContext* ctx,
                                                            const v1::ListPatientsRequest* req,
                                                            v1::ListPatientsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "ListPatients", access_, "registry.list_patients", {});
        !c.ok()) {
      return c.status();
    }
    if (req->page_size() > 1000) return absl::InvalidArgumentError("page_size: at most 1000");
    const int64_t page = req->page_size() == 0 ? 100 : req->page_size();
    return pool_.WithTransaction("list patients", [&](pqxx::work& tx) {
      // Keyset pagination: the token is the last patient id of the previous page.
      auto r = tx.exec_params(std::string("SELECT ") + kPatientColumns +
                                  " FROM patients WHERE patient_id > $1 ORDER BY patient_id LIMIT $2",
                              req->page_token(), page + 1);
      for (const auto& row : r) {
        if (resp->patients_size() == page) {
          resp->set_next_page_token(resp->patients(resp->patients_size() - 1).patient_id());
          break;
        }
        RowToPatient(row, resp->add_patients());
      }
    });
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::BindDevice(grpc::CallbackServerContext* ctx,
                                                          const v1::BindDeviceRequest* req, v1::Device* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    const auto& d = req->device();
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "BindDevice", access_, "registry.bind_device",
                                           {req->patient_id()}, DeviceDetail(d.device_id()));
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("device.device_id", d.device_id()); !s.ok()) return s;
    if (d.kind() == v1::DEVICE_KIND_UNSPECIFIED || !v1::DeviceKind_IsValid(d.kind())) {
      return absl::InvalidArgumentError("device.kind: required");
    }
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    if (req->gateway_ids().empty()) {
      return absl::InvalidArgumentError("gateway_ids: name at least one bridge allowed to forward this device");
    }
    if (req->gateway_ids_size() > kMaxGatewaysPerDevice) {
      return absl::InvalidArgumentError("gateway_ids: at most " + std::to_string(kMaxGatewaysPerDevice));
    }
    for (const auto& g : req->gateway_ids()) {
      if (auto s = CheckId("gateway_ids", g); !s.ok()) return s;
    }
    // bound_at: the binding time, or the time from which the device's stored readings are the
    // patient's (readings_since; 0 below: unset).
    std::optional<int64_t> since_us;
    if (req->has_readings_since()) {
      absl::StatusOr<int64_t> us = common::ToUnixMicros(req->readings_since(), "readings_since");
      if (!us.ok()) return us.status();
      since_us = *us;
      const int64_t now_us = common::NowUnixMicros();
      if (*since_us > now_us || *since_us < now_us - kMaxReadingsSinceDays * 86'400'000'000LL) {
        return absl::InvalidArgumentError("readings_since: must be in the past " +
                                          std::to_string(kMaxReadingsSinceDays) + " days, not in the future");
      }
    }
    bool patient_exists = true;
    auto s = pool_.WithTransaction("bind device", [&](pqxx::work& tx) {
      if (tx.exec_params("SELECT 1 FROM patients WHERE patient_id = $1", req->patient_id()).empty()) {
        patient_exists = false;
        return;
      }
      tx.exec_params(
          "INSERT INTO devices (device_id, kind, manufacturer, model, serial_number, firmware_revision,"
          " patient_id, bound_at) VALUES ($1, $2, $3, $4, $5, $6, $7,"
          " coalesce(to_timestamp(NULLIF($8::bigint, 0) / 1000000.0), now()))"
          " ON CONFLICT (device_id) DO UPDATE SET kind = EXCLUDED.kind,"
          " manufacturer = EXCLUDED.manufacturer, model = EXCLUDED.model,"
          " serial_number = EXCLUDED.serial_number, firmware_revision = EXCLUDED.firmware_revision,"
          " patient_id = EXCLUDED.patient_id,"
          " bound_at = CASE WHEN $8::bigint <> 0 OR devices.patient_id IS DISTINCT FROM EXCLUDED.patient_id"
          "                 THEN EXCLUDED.bound_at ELSE devices.bound_at END",
          d.device_id(), static_cast<int>(d.kind()), d.manufacturer(), d.model(), d.serial_number(),
          d.firmware_revision(), req->patient_id(), since_us.value_or(0));
      tx.exec_params("DELETE FROM device_gateways WHERE device_id = $1", d.device_id());
      for (const auto& g : req->gateway_ids()) {
        tx.exec_params("INSERT INTO device_gateways (device_id, bridge_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                       d.device_id(), g);
      }
      RowToDevice(tx.exec_params(std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE device_id = $1",
                                 d.device_id())[0],
                  resp);
    });
    if (s.ok() && !patient_exists)
      return absl::NotFoundError("patient_id: patient " + req->patient_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UnbindDevice(grpc::CallbackServerContext* ctx,
                                                            const v1::UnbindDeviceRequest* req, v1::Device* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "UnbindDevice", access_, "registry.unbind_device",
                                           DevicePatient(pool_, req->device_id()), DeviceDetail(req->device_id()));
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("device_id", req->device_id()); !s.ok()) return s;
    bool found = false;
    auto s = pool_.WithTransaction("unbind device", [&](pqxx::work& tx) {
      tx.exec_params("DELETE FROM device_gateways WHERE device_id = $1", req->device_id());
      auto r = tx.exec_params(std::string("UPDATE devices SET patient_id = NULL, bound_at = NULL"
                                          " WHERE device_id = $1 RETURNING ") +
                                  kDeviceColumns,
                              req->device_id());
      if ((found = !r.empty())) RowToDevice(r[0], resp);
    });
    if (s.ok() && !found) return absl::NotFoundError("device " + req->device_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetDevice(grpc::CallbackServerContext* ctx,
                                                         const v1::GetDeviceRequest* req, v1::Device* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "GetDevice", access_, "registry.get_device",
                                           DevicePatient(pool_, req->device_id()), DeviceDetail(req->device_id()));
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("device_id", req->device_id()); !s.ok()) return s;
    bool found = false;
    auto s = pool_.WithTransaction("get device", [&](pqxx::work& tx) {
      auto r = tx.exec_params(std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE device_id = $1",
                              req->device_id());
      if ((found = !r.empty())) RowToDevice(r[0], resp);
    });
    if (s.ok() && !found) return absl::NotFoundError("device " + req->device_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListDevices(grpc::CallbackServerContext* ctx,
                                                           const v1::ListDevicesRequest* req,
                                                           v1::ListDevicesResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    std::vector<std::string> patients;
    if (!req->patient_id().empty()) patients.push_back(req->patient_id());
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "ListDevices", access_, "registry.list_devices", patients);
        !c.ok()) {
      return c.status();
    }
    if (!req->patient_id().empty()) {
      if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    }
    return pool_.WithTransaction("list devices", [&](pqxx::work& tx) {
      auto r = tx.exec_params(std::string("SELECT ") + kDeviceColumns +
                                  " FROM devices WHERE ($1 = '' OR patient_id = $1)"
                                  " AND (NOT $2 OR patient_id IS NULL) ORDER BY device_id LIMIT 10000",
                              req->patient_id(), req->unbound_only());
      for (const auto& row : r) RowToDevice(row, resp->add_devices());
    });
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::AddCareTeamMember(grpc::CallbackServerContext* ctx,
                                                                 const v1::AddCareTeamMemberRequest* req,
                                                                 v1::AddCareTeamMemberResponse*) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "AddCareTeamMember", access_, "registry.add_care_team_member",
                                           {req->patient_id()}, "member " + req->member().substr(0, 64));
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    if (auto s = CheckId("member", req->member()); !s.ok()) return s;
    // care_team.tier CHECK (tier BETWEEN 1 AND 9), migration 0009; 0 is the proto default.
    if (req->tier() > 9) {
      return absl::InvalidArgumentError(absl::StrCat("tier: ", req->tier(), " is not an escalation tier (1-9)"));
    }
    const int tier = req->tier() == 0 ? 1 : static_cast<int>(req->tier());
    bool patient_exists = true;
    auto s = pool_.WithTransaction("add care team member", [&](pqxx::work& tx) {
      if (tx.exec_params("SELECT 1 FROM patients WHERE patient_id = $1", req->patient_id()).empty()) {
        patient_exists = false;
        return;
      }
      // ingest may not UPDATE care_team (0006_roles.sql): a member already there keeps their tier.
      tx.exec_params("INSERT INTO care_team (patient_id, member, tier) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                     req->patient_id(), req->member(), tier);
    });
    if (s.ok() && !patient_exists)
      return absl::NotFoundError("patient_id: patient " + req->patient_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::RemoveCareTeamMember(grpc::CallbackServerContext* ctx,
                                                                    const v1::RemoveCareTeamMemberRequest* req,
                                                                    v1::RemoveCareTeamMemberResponse*) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "RemoveCareTeamMember", access_,
                                           "registry.remove_care_team_member", {req->patient_id()},
                                           "member " + req->member().substr(0, 64));
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    if (auto s = CheckId("member", req->member()); !s.ok()) return s;
    bool removed = false;
    auto s = pool_.WithTransaction("remove care team member", [&](pqxx::work& tx) {
      removed = tx.exec_params("DELETE FROM care_team WHERE patient_id = $1 AND member = $2", req->patient_id(),
                               req->member())
                    .affected_rows() > 0;
    });
    if (s.ok() && !removed) {
      return absl::NotFoundError("member: " + req->member() + " is not on the care team of " + req->patient_id());
    }
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ReleaseQuarantine(grpc::CallbackServerContext* ctx,
                                                                 const v1::ReleaseQuarantineRequest* req,
                                                                 v1::ReleaseQuarantineResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto c = common::AuthorizeAndAudit(*ctx, policy_, "ReleaseQuarantine", access_, "registry.release_quarantine",
                                           {}, DeviceDetail(req->device_id()));
        !c.ok()) {
      return c.status();
    }
    if (auto s = CheckId("device_id", req->device_id()); !s.ok()) return s;
    std::string patient;
    auto s = pool_.WithTransaction("release quarantine", [&](pqxx::work& tx) {
      // FOR SHARE also gives the transaction its id before the INSERT below takes ingest_seq
      // values, which the consumers' gap tracking relies on (common/gap_tracker.h).
      auto r = tx.exec_params("SELECT coalesce(patient_id, '') FROM devices WHERE device_id = $1 FOR SHARE",
                              req->device_id());
      if (r.empty() || (patient = r[0][0].as<std::string>()).empty()) return;
      // Only what the ingest rule would have attached had the binding existed: rows sent by one
      // of the device's gateways, measured after the binding (less the clock grace). Rows from
      // any other bridge, or from before the binding, stay held for review.
      constexpr const char* kEligible =
          " FROM quarantine q JOIN devices d ON d.device_id = q.device_id"
          " WHERE q.device_id = $1 AND q.released_at IS NULL"
          "   AND EXISTS (SELECT 1 FROM device_gateways g WHERE g.device_id = q.device_id AND g.bridge_id = "
          "q.bridge_id)"
          "   AND q.measured_at >= d.bound_at - $2::integer * interval '1 second'";
      const int grace = common::kBindingClockGraceS;
      const int64_t pending =
          tx.exec_params(std::string("SELECT count(*)") + kEligible, req->device_id(), grace)[0][0].as<int64_t>();
      auto moved = tx.exec_params(
          std::string("WITH moved AS ("
                      "  INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at,"
                      "                      received_at, device_record_seq, flags, bridge_id)"
                      "  SELECT $3, q.device_id, q.vital_type, q.value, q.ucum_unit, q.measured_at, q.received_at,"
                      "         q.device_record_seq, q.flags, q.bridge_id") +
              kEligible +
              "  ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING RETURNING 1)"
              " SELECT count(*) FROM moved",
          req->device_id(), grace, patient);
      tx.exec_params(
          std::string("UPDATE quarantine SET released_at = now() WHERE id IN (SELECT q.id") + kEligible + ")",
          req->device_id(), grace);
      const auto released = moved[0][0].as<int64_t>();
      resp->set_released_count(static_cast<uint32_t>(released));
      resp->set_duplicate_count(static_cast<uint32_t>(pending - released));
      resp->set_held_count(
          tx.exec_params("SELECT count(*) FROM quarantine WHERE device_id = $1 AND released_at IS NULL",
                         req->device_id())[0][0]
              .as<uint32_t>());
      if (released > 0) tx.exec("SELECT pg_notify('vitals_new', '')");
    });
    if (s.ok() && patient.empty()) {
      return absl::FailedPreconditionError("device_id: device " + req->device_id() +
                                           " is not bound to a patient; bind it before releasing its quarantine");
    }
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CheckForwarding(grpc::CallbackServerContext* ctx,
                                                               const v1::CheckForwardingRequest* req,
                                                               v1::CheckForwardingResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    // Not audited when allowed: it reveals no patient data, and bridges ask about every device
    // they see once per cache period. A refusal (not a bridge) is audited.
    auto caller =
        common::AuthorizeAuditingRefusal(*ctx, policy_, "CheckForwarding", access_, "registry.check_forwarding");
    if (!caller.ok()) return caller.status();
    if (auto s = CheckId("device_id", req->device_id()); !s.ok()) return s;
    bool known = false;
    auto s = pool_.WithTransaction("check forwarding", [&](pqxx::work& tx) {
      auto r = tx.exec_params(
          "SELECT d.patient_id IS NOT NULL AND EXISTS (SELECT 1 FROM device_gateways g"
          "   WHERE g.device_id = d.device_id AND g.bridge_id = $2)"
          " FROM devices d WHERE d.device_id = $1",
          req->device_id(), caller->identity.common_name);
      if (!(known = !r.empty())) return;
      resp->set_state(r[0][0].as<bool>() ? v1::FORWARDING_STATE_ALLOWED : v1::FORWARDING_STATE_NOT_BOUND);
    });
    if (s.ok() && !known) return absl::NotFoundError("device " + req->device_id() + " is not enrolled");
    return s;
  });
}

}  // namespace healthtwin::registry
