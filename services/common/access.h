// Who may see which patient, and the audit trail of every attempt.
//
// A clinician or nurse sees only patients on their care team; a clinician (not a nurse) may
// also hold a break-glass grant to a patient (break_glass_grants.h), which allows while it is
// active, flags each access made under it, and refuses once expired. Every access to patient
// data, allowed or denied, is written to audit_log before the data is returned; if the audit
// record cannot be written the access is refused (fail closed). audit_log is a hash chain
// (migration 0016, services/common/audit/README.md): the database gives each record its seq and
// hash, so writers here only INSERT.
#pragma once

#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/audit/checkpoints.h"
#include "services/common/pg.h"
#include "services/common/tls/tls.h"

namespace healthtwin::common {

struct Caller {
  PeerIdentity identity;
  std::string peer_address;
  // The person a relaying service (clinician_api) acts for, from its request metadata; empty
  // when the peer acts for itself. Recorded beside the peer, never instead of it.
  std::string on_behalf_of;
  // The id (jti) of the bearer token the call carried and that was verified
  // (services/common/auth/bearer_token.h); empty for a certificate-only call. Audited as the
  // agent's token id (audit_log.agent_token_id).
  std::string token_id = {};
};

// How an audit record is coded beyond what the audit trigger derives (migration 0016); an empty
// field is left to the trigger.
struct AuditCoding {
  std::string event_type = {};      // AuditEvent.type (DICOM CID 400); empty: 110110 "Patient Record"
  std::string purpose_of_use = {};  // HL7 v3 PurposeOfUse; empty: from the role (TREAT, HRESCH, HOPERAT)
  std::string entity_what = {};     // AuditEvent.entity.what beyond the patient, e.g. "break_glass_grant/7"
  std::string outcome_code = {};    // AuditEvent.outcome (0, 4, 8, 12); empty: from the outcome text
};

class Access {
 public:
  explicit Access(PgPool& pool) : pool_(pool) {}

  // From now on, after each audit write, signs a checkpoint of the chain when one is due
  // (audit/checkpoints.h). A failed checkpoint is logged and does not refuse the access: the
  // record itself is written. Not thread-safe against concurrent audits: call before serving.
  void EnableCheckpoints(std::shared_ptr<const audit::CheckpointKey> key, audit::CheckpointPolicy policy);
  // Signs a checkpoint when one is due, as after each audit write; nothing when not enabled.
  // Thread-safe once enabled (audit_checkpointing.h's timer calls it).
  void CheckpointIfDue();

  // Patients on the caller's care team.
  absl::StatusOr<std::vector<std::string>> CareTeamPatients(const Caller& caller);
  // The same for a person named by their certificate's common name (a relayed subscription's).
  absl::StatusOr<std::vector<std::string>> CareTeamPatientsOf(const std::string& member);

  // OK when the caller may access `patient_id`; PERMISSION_DENIED otherwise. Audits either way.
  absl::Status CheckAndAudit(const Caller& caller, std::string_view action, const std::string& patient_id);

  // Records an access decided elsewhere.
  absl::Status Audit(const Caller& caller, std::string_view action, const std::string& patient_id,
                     std::string_view outcome, std::string_view detail);

  // One record per patient in one transaction (one record with no patient when the list is
  // empty), e.g. for a subscription that covers several patients.
  absl::Status AuditEach(const Caller& caller, std::string_view action, const std::vector<std::string>& patient_ids,
                         std::string_view outcome, std::string_view detail);

  // One record written inside `tx`, for a change that must commit together with its record (a
  // break-glass grant and its security alert). The caller must abort `tx` if this throws.
  static void AuditInTransaction(pqxx::work& tx, const Caller& caller, std::string_view action,
                                 const std::string& patient_id, std::string_view outcome, std::string_view detail,
                                 const AuditCoding& coding = {});

  // The patient an alert belongs to, or NOT_FOUND.
  absl::StatusOr<std::string> AlertPatient(const std::string& alert_id);

 private:
  PgPool& pool_;
  std::shared_ptr<const audit::CheckpointKey> checkpoint_key_;
  audit::CheckpointPolicy checkpoint_policy_;
};

}  // namespace healthtwin::common
