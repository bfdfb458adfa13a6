#include "services/registry/registry_service.h"

#include "services/common/grpc_util.h"
#include "services/common/time_util.h"

namespace healthtwin::registry {
namespace {

using common::Role;

constexpr std::initializer_list<Role> kWriters = {Role::kAdmin, Role::kService};
constexpr std::initializer_list<Role> kReaders = {Role::kAdmin, Role::kService, Role::kBridge};

constexpr const char* kDeviceColumns =
    "device_id, kind, manufacturer, model, serial_number, firmware_revision, coalesce(patient_id, ''),"
    " (extract(epoch FROM bound_at) * 1000000)::bigint";

void RowToDevice(const pqxx::row& row, v1::Device* d) {
  d->set_device_id(row[0].as<std::string>());
  d->set_kind(static_cast<v1::DeviceKind>(row[1].as<int>()));
  d->set_manufacturer(row[2].as<std::string>());
  d->set_model(row[3].as<std::string>());
  d->set_serial_number(row[4].as<std::string>());
  d->set_firmware_revision(row[5].as<std::string>());
  d->set_patient_id(row[6].as<std::string>());
  if (!row[7].is_null()) *d->mutable_bound_at() = common::FromUnixMicros(row[7].as<int64_t>());
}

constexpr const char* kPatientColumns =
    "patient_id, sex, coalesce(birth_year, 0), coalesce(height_cm, 0), array_to_string(conditions, ','),"
    " (extract(epoch FROM created_at) * 1000000)::bigint";

void RowToPatient(const pqxx::row& row, v1::Patient* p) {
  p->set_patient_id(row[0].as<std::string>());
  p->set_sex(static_cast<v1::Sex>(row[1].as<int>()));
  p->set_birth_year(row[2].as<uint32_t>());
  p->set_height_cm(row[3].as<double>());
  const std::string conditions = row[4].as<std::string>();
  std::size_t start = 0;
  while (start < conditions.size()) {
    std::size_t end = conditions.find(',', start);
    if (end == std::string::npos) end = conditions.size();
    p->add_conditions(static_cast<v1::Condition>(std::stoi(conditions.substr(start, end - start))));
    start = end + 1;
  }
  *p->mutable_created_at() = common::FromUnixMicros(row[5].as<int64_t>());
}

}  // namespace

absl::Status CheckId(std::string_view field, std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError(std::string(field) + ": required");
  if (id.size() > 64) return absl::InvalidArgumentError(std::string(field) + ": longer than 64 characters");
  for (char c : id) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == ':')) {
      return absl::InvalidArgumentError(std::string(field) + ": may contain only letters, digits and . _ - :");
    }
  }
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* RegistryServiceImpl::CreatePatient(grpc::CallbackServerContext* ctx,
                                                             const v1::CreatePatientRequest* req, v1::Patient* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kWriters); !peer.ok()) return peer.status();
    const auto& p = req->patient();
    if (p.patient_id().find(':') != std::string::npos) {
      return absl::InvalidArgumentError("patient.patient_id: may not contain ':'");
    }
    if (auto s = CheckId("patient.patient_id", p.patient_id()); !s.ok()) return s;
    if (!v1::Sex_IsValid(p.sex())) return absl::InvalidArgumentError("patient.sex: unknown value");
    if (p.birth_year() != 0 && (p.birth_year() < 1900 || p.birth_year() > 2100)) {
      return absl::InvalidArgumentError("patient.birth_year: must be between 1900 and 2100");
    }
    if (p.height_cm() < 0 || p.height_cm() > 272) {
      return absl::InvalidArgumentError("patient.height_cm: must be between 0 and 272");
    }
    std::string conditions = "{";
    for (int c : p.conditions()) {
      if (c == 0 || !v1::Condition_IsValid(c)) return absl::InvalidArgumentError("patient.conditions: unknown value");
      if (conditions.size() > 1) conditions += ",";
      conditions += std::to_string(c);
    }
    conditions += "}";
    return pool_.WithTransaction("create patient", [&](pqxx::work& tx) {
      auto r = tx.exec_params(std::string("INSERT INTO patients (patient_id, sex, birth_year, height_cm, conditions)"
                                          " VALUES ($1, $2, NULLIF($3, 0), NULLIF($4, 0), $5::smallint[])"
                                          " RETURNING ") + kPatientColumns,
                              p.patient_id(), static_cast<int>(p.sex()), static_cast<int>(p.birth_year()),
                              p.height_cm(), conditions);
      RowToPatient(r[0], resp);
    });
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::GetPatient(grpc::CallbackServerContext* ctx,
                                                          const v1::GetPatientRequest* req, v1::Patient* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kReaders); !peer.ok()) return peer.status();
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

grpc::ServerUnaryReactor* RegistryServiceImpl::ListPatients(grpc::CallbackServerContext* ctx,
                                                            const v1::ListPatientsRequest* req,
                                                            v1::ListPatientsResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kReaders); !peer.ok()) return peer.status();
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
    if (auto peer = common::RequireRole(*ctx, kWriters); !peer.ok()) return peer.status();
    const auto& d = req->device();
    if (auto s = CheckId("device.device_id", d.device_id()); !s.ok()) return s;
    if (d.kind() == v1::DEVICE_KIND_UNSPECIFIED || !v1::DeviceKind_IsValid(d.kind())) {
      return absl::InvalidArgumentError("device.kind: required");
    }
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    bool patient_exists = true;
    auto s = pool_.WithTransaction("bind device", [&](pqxx::work& tx) {
      if (tx.exec_params("SELECT 1 FROM patients WHERE patient_id = $1", req->patient_id()).empty()) {
        patient_exists = false;
        return;
      }
      auto r = tx.exec_params(
          std::string("INSERT INTO devices (device_id, kind, manufacturer, model, serial_number, firmware_revision,"
                      " patient_id, bound_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())"
                      " ON CONFLICT (device_id) DO UPDATE SET kind = EXCLUDED.kind,"
                      " manufacturer = EXCLUDED.manufacturer, model = EXCLUDED.model,"
                      " serial_number = EXCLUDED.serial_number, firmware_revision = EXCLUDED.firmware_revision,"
                      " patient_id = EXCLUDED.patient_id,"
                      " bound_at = CASE WHEN devices.patient_id IS DISTINCT FROM EXCLUDED.patient_id"
                      "                 THEN now() ELSE devices.bound_at END"
                      " RETURNING ") + kDeviceColumns,
          d.device_id(), static_cast<int>(d.kind()), d.manufacturer(), d.model(), d.serial_number(),
          d.firmware_revision(), req->patient_id());
      RowToDevice(r[0], resp);
    });
    if (s.ok() && !patient_exists) return absl::NotFoundError("patient_id: patient " + req->patient_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::UnbindDevice(grpc::CallbackServerContext* ctx,
                                                            const v1::UnbindDeviceRequest* req, v1::Device* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kWriters); !peer.ok()) return peer.status();
    if (auto s = CheckId("device_id", req->device_id()); !s.ok()) return s;
    bool found = false;
    auto s = pool_.WithTransaction("unbind device", [&](pqxx::work& tx) {
      auto r = tx.exec_params(std::string("UPDATE devices SET patient_id = NULL, bound_at = NULL"
                                          " WHERE device_id = $1 RETURNING ") + kDeviceColumns,
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
    if (auto peer = common::RequireRole(*ctx, kReaders); !peer.ok()) return peer.status();
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
    if (auto peer = common::RequireRole(*ctx, kReaders); !peer.ok()) return peer.status();
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
    if (auto peer = common::RequireRole(*ctx, kWriters); !peer.ok()) return peer.status();
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    if (auto s = CheckId("member", req->member()); !s.ok()) return s;
    bool patient_exists = true;
    auto s = pool_.WithTransaction("add care team member", [&](pqxx::work& tx) {
      if (tx.exec_params("SELECT 1 FROM patients WHERE patient_id = $1", req->patient_id()).empty()) {
        patient_exists = false;
        return;
      }
      tx.exec_params("INSERT INTO care_team (patient_id, member) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                     req->patient_id(), req->member());
    });
    if (s.ok() && !patient_exists) return absl::NotFoundError("patient_id: patient " + req->patient_id() + " does not exist");
    return s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ReleaseQuarantine(grpc::CallbackServerContext* ctx,
                                                                 const v1::ReleaseQuarantineRequest* req,
                                                                 v1::ReleaseQuarantineResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    if (auto peer = common::RequireRole(*ctx, kWriters); !peer.ok()) return peer.status();
    if (auto s = CheckId("device_id", req->device_id()); !s.ok()) return s;
    std::string patient;
    auto s = pool_.WithTransaction("release quarantine", [&](pqxx::work& tx) {
      auto r = tx.exec_params("SELECT coalesce(patient_id, '') FROM devices WHERE device_id = $1 FOR SHARE",
                              req->device_id());
      if (r.empty() || (patient = r[0][0].as<std::string>()).empty()) return;
      const int64_t pending = tx.exec_params("SELECT count(*) FROM quarantine WHERE device_id = $1"
                                             " AND released_at IS NULL",
                                             req->device_id())[0][0]
                                  .as<int64_t>();
      auto moved = tx.exec_params(
          "WITH moved AS ("
          "  INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,"
          "                      device_record_seq, flags, bridge_id)"
          "  SELECT $2, device_id, vital_type, value, ucum_unit, measured_at, received_at, device_record_seq,"
          "         flags, bridge_id FROM quarantine WHERE device_id = $1 AND released_at IS NULL"
          "  ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING RETURNING 1)"
          " SELECT count(*) FROM moved",
          req->device_id(), patient);
      tx.exec_params("UPDATE quarantine SET released_at = now() WHERE device_id = $1 AND released_at IS NULL",
                     req->device_id());
      const auto released = moved[0][0].as<int64_t>();
      resp->set_released_count(static_cast<uint32_t>(released));
      resp->set_duplicate_count(static_cast<uint32_t>(pending - released));
      if (released > 0) tx.exec("SELECT pg_notify('vitals_new', '')");
    });
    if (s.ok() && patient.empty()) {
      return absl::FailedPreconditionError("device_id: device " + req->device_id() +
                                           " is not bound to a patient; bind it before releasing its quarantine");
    }
    return s;
  });
}

}  // namespace healthtwin::registry
