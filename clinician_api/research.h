// Researchers on a study, and the study's subjects as they may see them (issue 13, item 5).
//
// A researcher (the role is checked by the caller's policy first) may read a study's consented
// patients only when research_study_researchers names them on it (migration 0021). A subject
// is known to the researcher only by its pseudonym (deid.h); Resolve finds the patient behind
// one by computing the pseudonym of each of the study's patients (one HMAC each; fine for
// studies of thousands, an indexed pseudonym column would be next).
//
// Every decision is audited in the same transaction as the check (fail closed): allowed rows
// name the REAL patient (the accounting of disclosures needs it) with the study in the record's
// entity (research_study/S) and detail; purpose of use is HRESCH from the researcher role. A
// refusal never tells the caller whether the study, or a patient, exists.
//
// Plain C++ over the database; no gRPC (research_service.cc is the edge). Thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/access.h"
#include "services/common/crypto/key_provider.h"
#include "services/common/pg.h"

namespace healthtwin::clinician {

struct StudySubject {
  std::string patient_id;  // never leaves clinician_api
  std::string subject;     // the pseudonym
  int shift_days = 0;
  int64_t consented_at_unix_us = 0;  // real time; shift before showing
};

class Research {
 public:
  // `pool` connects as clinician_api's role; `keys` holds the pseudonym key. Both must outlive this.
  Research(common::PgPool& pool, const common::crypto::KeyProvider& keys) : pool_(pool), keys_(keys) {}

  // Every subject of `study_id`, for a researcher on it; audited under `action`, one row per
  // patient. INVALID_ARGUMENT: empty or overlong study id; PERMISSION_DENIED: not on the study
  // (or no such study).
  absl::StatusOr<std::vector<StudySubject>> Subjects(const common::Caller& caller, const std::string& study_id,
                                                     std::string_view action);

  // The subject `subject` of `study_id`; audited under `action` naming the real patient.
  // INVALID_ARGUMENT: not a pseudonym; PERMISSION_DENIED: not on the study; NOT_FOUND: no such
  // subject in the study.
  absl::StatusOr<StudySubject> Resolve(const common::Caller& caller, const std::string& study_id,
                                       const std::string& subject, std::string_view action);

 private:
  // Loads the study's subjects and checks the caller is on the study, inside `tx`.
  absl::StatusOr<std::vector<StudySubject>> Load(pqxx::work& tx, const common::Caller& caller,
                                                 const std::string& study_id);

  common::PgPool& pool_;
  const common::crypto::KeyProvider& keys_;
};

}  // namespace healthtwin::clinician
