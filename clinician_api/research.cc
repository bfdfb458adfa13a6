#include "clinician_api/research.h"

#include "clinician_api/deid.h"

namespace healthtwin::clinician {
namespace {

common::AuditCoding StudyCoding(const std::string& study_id) {
  return {.entity_what = "research_study/" + study_id.substr(0, 64)};
}

absl::Status CheckStudyId(const std::string& study_id) {
  if (study_id.empty()) return absl::InvalidArgumentError("study_id: required");
  if (study_id.size() > 64) return absl::InvalidArgumentError("study_id: longer than 64 characters");
  return absl::OkStatus();
}

absl::Status NotOnStudy(const common::Caller& caller, const std::string& study_id) {
  // The same words whether or not the study exists.
  return absl::PermissionDeniedError(caller.identity.common_name + " is not a researcher on study " + study_id);
}

// The record of a refused study (or of a failure to compute pseudonyms), naming no patient.
void AuditLoadFailure(pqxx::work& tx, const common::Caller& caller, std::string_view action,
                      const std::string& study_id, const std::string& detail, const absl::Status& why) {
  const bool refused = absl::IsPermissionDenied(why);
  common::Access::AuditInTransaction(tx, caller, action, "", refused ? "denied" : "error",
                                     refused ? detail + ": not a researcher on it" : detail, StudyCoding(study_id));
}

absl::Status AuditFailed() { return absl::UnavailableError("access refused: the audit record could not be written"); }

}  // namespace

absl::StatusOr<std::vector<StudySubject>> Research::Load(pqxx::work& tx, const common::Caller& caller,
                                                         const std::string& study_id) {
  if (tx.exec_params("SELECT 1 FROM research_study_researchers WHERE study_id = $1 AND researcher = $2", study_id,
                     caller.identity.common_name)
          .empty()) {
    return NotOnStudy(caller, study_id);
  }
  std::vector<StudySubject> out;
  for (const auto& row : tx.exec_params("SELECT patient_id, (extract(epoch FROM consented_at) * 1000000)::bigint"
                                        " FROM research_study_patients WHERE study_id = $1 ORDER BY patient_id",
                                        study_id)) {
    StudySubject s;
    s.patient_id = row[0].as<std::string>();
    s.consented_at_unix_us = row[1].as<int64_t>();
    auto subject = deid::Pseudonym(keys_, study_id, s.patient_id);
    if (!subject.ok()) return subject.status();
    auto shift = deid::DateShiftDays(keys_, study_id, s.patient_id);
    if (!shift.ok()) return shift.status();
    s.subject = *std::move(subject);
    s.shift_days = *shift;
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<std::vector<StudySubject>> Research::Subjects(const common::Caller& caller, const std::string& study_id,
                                                             std::string_view action) {
  if (auto s = CheckStudyId(study_id); !s.ok()) return s;
  absl::StatusOr<std::vector<StudySubject>> subjects;
  auto s = pool_.WithTransaction("list study subjects", [&](pqxx::work& tx) {
    subjects = Load(tx, caller, study_id);
    const std::string detail = "study " + study_id;
    if (!subjects.ok()) return AuditLoadFailure(tx, caller, action, study_id, detail, subjects.status());
    if (subjects->empty())
      common::Access::AuditInTransaction(tx, caller, action, "", "allowed", detail, StudyCoding(study_id));
    for (const auto& subject : *subjects) {
      common::Access::AuditInTransaction(tx, caller, action, subject.patient_id, "allowed",
                                         detail + " subject " + subject.subject, StudyCoding(study_id));
    }
  });
  if (!s.ok()) return AuditFailed();
  return subjects;
}

absl::StatusOr<StudySubject> Research::Resolve(const common::Caller& caller, const std::string& study_id,
                                               const std::string& subject, std::string_view action) {
  if (auto s = CheckStudyId(study_id); !s.ok()) return s;
  if (!deid::IsPseudonym(subject)) {
    return absl::InvalidArgumentError("subject: not a study pseudonym (\"sp-\" and 16 base32 characters)");
  }
  absl::StatusOr<StudySubject> found = absl::NotFoundError("subject " + subject + " is not in study " + study_id);
  auto s = pool_.WithTransaction("resolve study subject", [&](pqxx::work& tx) {
    found = absl::NotFoundError("subject " + subject + " is not in study " + study_id);
    const std::string detail = "study " + study_id + " subject " + subject;
    auto subjects = Load(tx, caller, study_id);
    if (!subjects.ok()) {
      found = subjects.status();
      return AuditLoadFailure(tx, caller, action, study_id, detail, subjects.status());
    }
    for (auto& candidate : *subjects) {
      if (candidate.subject == subject) found = std::move(candidate);
    }
    common::Access::AuditInTransaction(tx, caller, action, found.ok() ? found->patient_id : "",
                                       found.ok() ? "allowed" : "not_found", detail, StudyCoding(study_id));
  });
  if (!s.ok()) return AuditFailed();
  return found;
}

}  // namespace healthtwin::clinician
