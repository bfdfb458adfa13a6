// FHIR R4 AuditEvents from audit chain records (http://hl7.org/fhir/R4/auditevent.html), for
// `healthtwin audit export --format fhir`: a patient's accounting of disclosures. Pure
// functions (nlohmann::json, no I/O), thread-safe.
//
// One AuditEvent per record:
//   type            event_type as a DICOM DCM Coding (110110 Patient Record, 110113 Security
//                   Alert, ...); a value that is not a DICOM number, as the FHIR audit-event-type
//                   CodeSystem (rest, ...)
//   subtype         action as urn:healthtwin:audit-action ("vitals.query"); a DICOM number
//                   (the break-glass 110127 / 110138) as DCM
//   action, outcome action_code (C/R/U/D/E), outcome_code (0/4/8/12)
//   recorded        the record time, UTC with milliseconds
//   outcomeDesc     detail (the reason of a refusal, or what allowed the access: a grant)
//   purposeOfEvent  purpose_of_use in HL7 v3 ActReason (TREAT, ETREAT, BTG, HRESCH, HOPERAT)
//   agent           the actor (identifier urn:healthtwin:actor, role urn:healthtwin:role, the
//                   token id as an extension, the peer's IP as network type 2). A relayed record
//                   (on_behalf_of set) has a second agent, the person, who is the requestor; the
//                   relay is not. Otherwise the actor is the requestor.
//   source          observer: the row does not name the service that wrote it, so the observer
//                   is the system: "healthtwin", type 4 Application Server
//   entity          Patient/ID (type 1 Person, role 1 Patient); entity_what as a second entity
//                   (type 2 System Object), e.g. break_glass_grant/7
//   extension       kChainExtensionUrl with "seq" (valueString: the chain is 64-bit) and "hash"
//                   (valueBase64Binary, the record's SHA-256 as stored), so an auditor can tie
//                   each event to `healthtwin audit verify`. An extension rather than an entity:
//                   the chain position describes the record, not what was accessed.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "services/common/audit/record.h"

namespace healthtwin::common::audit {

inline constexpr char kDicomSystem[] = "http://dicom.nema.org/resources/ontology/DCM";
inline constexpr char kAuditEventTypeSystem[] = "http://terminology.hl7.org/CodeSystem/audit-event-type";
inline constexpr char kActionSystem[] = "urn:healthtwin:audit-action";
inline constexpr char kActReasonSystem[] = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
inline constexpr char kChainExtensionUrl[] = "urn:healthtwin:fhir:StructureDefinition/audit-chain";
inline constexpr char kTokenIdExtensionUrl[] = "urn:healthtwin:fhir:StructureDefinition/agent-token-id";

// The AuditEvent of one record. Its id is "audit-log-<seq>".
nlohmann::json AuditEventFor(const AuditRecord& record);

// A Bundle of type "collection" (an export of stored records, not the answer to a FHIR search,
// so no search modes or self link) with the AuditEvent of every record whose patient_id is
// `patient_id`, in the order given; records of other patients, or of none, are left out. No
// record: no "entry" at all (FHIR JSON has no empty arrays).
nlohmann::json PatientAuditBundle(const std::vector<AuditRecord>& records, const std::string& patient_id);

}  // namespace healthtwin::common::audit
