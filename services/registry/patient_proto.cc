#include "services/registry/patient_proto.h"

#include <string>

#include "services/common/time_util.h"

namespace healthtwin::registry {

void RowToPatient(const pqxx::row& row, healthtwin::registry::v1::Patient* p) {
  namespace v1 = healthtwin::registry::v1;
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

PatientIdentity IdentityFromProto(const healthtwin::registry::v1::PatientIdentity& id) {
  return {.given = id.given(),
          .family = id.family(),
          .birth_date = id.birth_date(),
          .mrn = id.mrn(),
          .mrn_system = id.mrn_system(),
          .phone = id.phone(),
          .email = id.email(),
          .address = id.address()};
}

void IdentityToProto(const PatientIdentity& id, healthtwin::registry::v1::PatientIdentity* out) {
  out->set_given(id.given);
  out->set_family(id.family);
  out->set_birth_date(id.birth_date);
  out->set_mrn(id.mrn);
  out->set_mrn_system(id.mrn_system);
  out->set_phone(id.phone);
  out->set_email(id.email);
  out->set_address(id.address);
}

}  // namespace healthtwin::registry
