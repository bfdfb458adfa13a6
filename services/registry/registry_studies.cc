// RegistryService's research-study methods (issue 13, item 5; migration 0021): admins create
// studies and enrol consenting patients and researchers. Each call is audited; an enrolment
// names the patient in its record.
#include <cctype>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "services/common/grpc_util.h"
#include "services/common/time_util.h"
#include "services/registry/registry_service.h"

namespace healthtwin::registry {
namespace {

// research_studies.study_id CHECK: 1-64 of [A-Za-z0-9._-].
absl::Status CheckStudyId(std::string_view id) {
  if (id.empty()) return absl::InvalidArgumentError("study_id: required");
  if (id.size() > 64) return absl::InvalidArgumentError("study_id: longer than 64 characters");
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return absl::InvalidArgumentError("study_id: only letters, digits and . _ - are allowed");
    }
  }
  return absl::OkStatus();
}

absl::Status CheckTitle(std::string_view title) {
  const absl::string_view trimmed = absl::StripAsciiWhitespace(absl::string_view(title.data(), title.size()));
  if (trimmed.empty()) return absl::InvalidArgumentError("title: required");
  if (title.size() > 200) return absl::InvalidArgumentError("title: longer than 200 characters");
  for (char c : title) {
    if (std::iscntrl(static_cast<unsigned char>(c))) return absl::InvalidArgumentError("title: control character");
  }
  return absl::OkStatus();
}

// The study as v1::Study, or false when there is none.
bool ReadStudy(pqxx::work& tx, const std::string& study_id, v1::Study* out) {
  auto r = tx.exec_params(
      "SELECT title, created_by, (extract(epoch FROM created_at) * 1000000)::bigint,"
      " (SELECT count(*) FROM research_study_patients p WHERE p.study_id = s.study_id),"
      " coalesce((SELECT string_agg(r.researcher, ',' ORDER BY r.researcher) FROM research_study_researchers r"
      "           WHERE r.study_id = s.study_id), '')"
      " FROM research_studies s WHERE study_id = $1",
      study_id);
  if (r.empty()) return false;
  out->Clear();
  out->set_study_id(study_id);
  out->set_title(r[0][0].as<std::string>());
  out->set_created_by(r[0][1].as<std::string>());
  *out->mutable_created_at() = common::FromUnixMicros(r[0][2].as<int64_t>());
  out->set_patient_count(r[0][3].as<uint32_t>());
  for (absl::string_view name : absl::StrSplit(r[0][4].as<std::string>(), ',', absl::SkipEmpty())) {
    out->add_researchers(std::string(name));
  }
  return true;
}

absl::Status NoStudy(const std::string& study_id) {
  return absl::NotFoundError("study_id: study " + study_id + " does not exist");
}

}  // namespace

grpc::ServerUnaryReactor* RegistryServiceImpl::CreateStudy(grpc::CallbackServerContext* ctx,
                                                           const v1::CreateStudyRequest* req, v1::Study* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto c = common::AuthorizeAndAudit(*ctx, policy_, "CreateStudy", access_, "registry.create_study", {},
                                       "study " + req->study_id().substr(0, 64));
    if (!c.ok()) return c.status();
    if (auto s = CheckStudyId(req->study_id()); !s.ok()) return s;
    if (auto s = CheckTitle(req->title()); !s.ok()) return s;
    bool created = false;
    auto s = pool_.WithTransaction("create study", [&](pqxx::work& tx) {
      created = !tx.exec_params(
                       "INSERT INTO research_studies (study_id, title, created_by) VALUES ($1, $2, $3)"
                       " ON CONFLICT DO NOTHING RETURNING 1",
                       req->study_id(), req->title(), c->identity.common_name)
                     .empty();
      if (created) ReadStudy(tx, req->study_id(), resp);
    });
    if (!s.ok()) return s;
    if (!created) return absl::AlreadyExistsError("study_id: study " + req->study_id() + " exists already");
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::AddStudyPatient(grpc::CallbackServerContext* ctx,
                                                               const v1::AddStudyPatientRequest* req, v1::Study* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto c = common::AuthorizeAndAudit(*ctx, policy_, "AddStudyPatient", access_, "registry.add_study_patient",
                                       {req->patient_id()}, "study " + req->study_id().substr(0, 64));
    if (!c.ok()) return c.status();
    if (auto s = CheckStudyId(req->study_id()); !s.ok()) return s;
    if (auto s = CheckId("patient_id", req->patient_id()); !s.ok()) return s;
    std::optional<int64_t> consented;
    if (req->has_consented_at()) {
      auto at = common::ToUnixMicros(req->consented_at(), "consented_at");
      if (!at.ok()) return at.status();
      if (*at > common::NowUnixMicros()) return absl::InvalidArgumentError("consented_at: in the future");
      consented = *at;
    }
    absl::Status outcome;
    auto s = pool_.WithTransaction("add study patient", [&](pqxx::work& tx) {
      outcome = absl::OkStatus();
      if (tx.exec_params("SELECT 1 FROM research_studies WHERE study_id = $1", req->study_id()).empty()) {
        outcome = NoStudy(req->study_id());
      } else if (tx.exec_params("SELECT 1 FROM patients WHERE patient_id = $1", req->patient_id()).empty()) {
        outcome = absl::NotFoundError("patient_id: patient " + req->patient_id() + " does not exist");
      } else if (tx.exec_params("INSERT INTO research_study_patients (study_id, patient_id, consented_at, recorded_by)"
                                " VALUES ($1, $2, coalesce(to_timestamp($3::double precision / 1e6), now()), $4)"
                                " ON CONFLICT DO NOTHING RETURNING 1",
                                req->study_id(), req->patient_id(), consented, c->identity.common_name)
                     .empty()) {
        outcome = absl::AlreadyExistsError("patient_id: patient " + req->patient_id() + " is in study " +
                                           req->study_id() + " already");
      } else {
        ReadStudy(tx, req->study_id(), resp);
      }
    });
    return s.ok() ? outcome : s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::AddStudyResearcher(grpc::CallbackServerContext* ctx,
                                                                  const v1::AddStudyResearcherRequest* req,
                                                                  v1::Study* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto c = common::AuthorizeAndAudit(
        *ctx, policy_, "AddStudyResearcher", access_, "registry.add_study_researcher", {},
        "study " + req->study_id().substr(0, 64) + " researcher " + req->researcher().substr(0, 64));
    if (!c.ok()) return c.status();
    if (auto s = CheckStudyId(req->study_id()); !s.ok()) return s;
    if (auto s = CheckId("researcher", req->researcher()); !s.ok()) return s;
    absl::Status outcome;
    auto s = pool_.WithTransaction("add study researcher", [&](pqxx::work& tx) {
      outcome = absl::OkStatus();
      if (tx.exec_params("SELECT 1 FROM research_studies WHERE study_id = $1", req->study_id()).empty()) {
        outcome = NoStudy(req->study_id());
      } else if (tx.exec_params("INSERT INTO research_study_researchers (study_id, researcher, added_by)"
                                " VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1",
                                req->study_id(), req->researcher(), c->identity.common_name)
                     .empty()) {
        outcome = absl::AlreadyExistsError("researcher: " + req->researcher() + " is on study " + req->study_id() +
                                           " already");
      } else {
        ReadStudy(tx, req->study_id(), resp);
      }
    });
    return s.ok() ? outcome : s;
  });
}

grpc::ServerUnaryReactor* RegistryServiceImpl::ListStudies(grpc::CallbackServerContext* ctx,
                                                           const v1::ListStudiesRequest*,
                                                           v1::ListStudiesResponse* resp) {
  return common::RunUnary(ctx, executor_, [=, this]() -> absl::Status {
    auto c = common::AuthorizeAndAudit(*ctx, policy_, "ListStudies", access_, "registry.list_studies", {});
    if (!c.ok()) return c.status();
    return pool_.WithTransaction("list studies", [&](pqxx::work& tx) {
      resp->Clear();
      for (const auto& row : tx.exec("SELECT study_id FROM research_studies ORDER BY study_id")) {
        ReadStudy(tx, row[0].as<std::string>(), resp->add_studies());
      }
    });
  });
}

}  // namespace healthtwin::registry
