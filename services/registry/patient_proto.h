// The registry's patients as messages: rows as Patient, identities to and from PatientIdentity.
// Shared by the RPCs of registry_service.cc and registry_identity.cc.
#pragma once

#include <pqxx/pqxx>

#include "healthtwin/registry/v1/registry.pb.h"
#include "services/registry/patient_identity.h"

namespace healthtwin::registry {

// The SELECT list RowToPatient reads, in its order.
inline constexpr const char* kPatientColumns =
    "patient_id, sex, coalesce(birth_year, 0), coalesce(height_cm, 0), array_to_string(conditions, ','),"
    " (extract(epoch FROM created_at) * 1000000)::bigint";

void RowToPatient(const pqxx::row& row, healthtwin::registry::v1::Patient* p);

PatientIdentity IdentityFromProto(const healthtwin::registry::v1::PatientIdentity& id);
void IdentityToProto(const PatientIdentity& id, healthtwin::registry::v1::PatientIdentity* out);

}  // namespace healthtwin::registry
