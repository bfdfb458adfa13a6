// Researchers see de-identified data only (issue 13, item 5), through the real registry and
// clinician_api over mutual TLS with a private PostgreSQL (test_env.h), and through the real
// `healthtwin` binary.
//
// Callers (deploy/pki/make-dev-pki.sh): cli-admin (admin) runs studies; researcher-rita is on
// study S1 (and S2); researcher-sam is on none; dr-alice (clinician) cares for pat-a.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "clinician_api/deid.h"
#include "healthtwin/clinician/v1/clinician.grpc.pb.h"
#include "healthtwin/registry/v1/registry.grpc.pb.h"
#include "services/common/time_util.h"
#include "tests/integration/cli_runner.h"
#include "tests/integration/test_env.h"
#include "tests/integration/whatif_request.h"

namespace healthtwin::testing {
namespace {

namespace clin = healthtwin::clinician::v1;
namespace reg = healthtwin::registry::v1;
using Code = grpc::StatusCode;

constexpr int64_t kDayUs = 86'400'000'000;
constexpr int64_t kT0Us = 1'780'000'000'000'000;  // 2026-05-28, the first sample of pat-a

class ResearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(TestDatabaseName("research"));
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    Sql("INSERT INTO patients (patient_id) VALUES ('pat-a'), ('pat-b'), ('pat-c')");
    Sql("INSERT INTO care_team (patient_id, member) VALUES ('pat-a', 'dr-alice')");
    // Ten heart rates of pat-a, one a minute from kT0Us, from a device with a BLE address.
    Sql("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
        " bridge_id) SELECT 'pat-a', 'AA:BB:CC:DD:EE:01', 1, 60 + i, '/min', timestamptz 'epoch' + (" +
        std::to_string(kT0Us) +
        " + i::bigint * 60000000) * interval '1 microsecond', i, 'b'"
        " FROM generate_series(0, 9) i");
  }

  const std::string& db() const { return slice_->conninfo(); }
  void Sql(const std::string& sql) { (void)QueryInt(db(), sql); }
  int64_t Audit(const std::string& where) { return QueryInt(db(), "SELECT count(*) FROM audit_log WHERE " + where); }

  static std::unique_ptr<grpc::ClientContext> Ctx() {
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + kRpcDeadline);
    return ctx;
  }
  std::unique_ptr<clin::ClinicianService::Stub> Api(const std::string& who) {
    return clin::ClinicianService::NewStub(Slice::Channel(slice_->clinician_address(), who, "clinician_api"));
  }
  std::unique_ptr<reg::RegistryService::Stub> Registry(const std::string& who) {
    return reg::RegistryService::NewStub(Slice::Channel(slice_->data_address(), who, "ingest"));
  }

  // Study `study` with `patients` and `researchers`, made by cli-admin through the registry.
  void MakeStudy(const std::string& study, const std::vector<std::string>& patients,
                 const std::vector<std::string>& researchers) {
    auto registry = Registry("cli-admin");
    reg::Study out;
    reg::CreateStudyRequest create;
    create.set_study_id(study);
    create.set_title("Study " + study);
    ASSERT_TRUE(registry->CreateStudy(Ctx().get(), create, &out).ok());
    for (const auto& p : patients) {
      reg::AddStudyPatientRequest req;
      req.set_study_id(study);
      req.set_patient_id(p);
      *req.mutable_consented_at() = common::FromUnixMicros(kT0Us - kDayUs);
      auto s = registry->AddStudyPatient(Ctx().get(), req, &out);
      ASSERT_TRUE(s.ok()) << s.error_message();
    }
    for (const auto& r : researchers) {
      reg::AddStudyResearcherRequest req;
      req.set_study_id(study);
      req.set_researcher(r);
      ASSERT_TRUE(registry->AddStudyResearcher(Ctx().get(), req, &out).ok());
    }
  }

  grpc::Status Subjects(const std::string& who, const std::string& study, std::vector<std::string>* out) {
    clin::ListStudyPatientsRequest req;
    req.set_study_id(study);
    clin::ListStudyPatientsResponse resp;
    auto s = Api(who)->ListStudyPatients(Ctx().get(), req, &resp);
    out->clear();
    for (const auto& subject : resp.subjects()) out->push_back(subject.subject());
    return s;
  }

  grpc::Status Vitals(const std::string& who, const std::string& study, const std::string& subject, int64_t start_us,
                      int64_t end_us, clin::GetDeidentifiedVitalsResponse* resp) {
    clin::GetDeidentifiedVitalsRequest req;
    req.set_study_id(study);
    req.set_subject(subject);
    *req.mutable_start() = common::FromUnixMicros(start_us);
    *req.mutable_end() = common::FromUnixMicros(end_us);
    return Api(who)->GetDeidentifiedVitals(Ctx().get(), req, resp);
  }

  // pat-a's subject in `study`: the one whose vitals come back (pat-b has none).
  std::string SubjectOfA(const std::string& study, int* shift_days = nullptr) {
    std::vector<std::string> subjects;
    EXPECT_TRUE(Subjects("researcher-rita", study, &subjects).ok());
    for (const auto& s : subjects) {
      clin::GetDeidentifiedVitalsResponse resp;
      if (Vitals("researcher-rita", study, s, kT0Us - 200 * kDayUs, kT0Us + 200 * kDayUs, &resp).ok() &&
          resp.samples_size() > 0) {
        const int64_t delta = common::ToUnixMicros(resp.samples(0).measured_at(), "t").value() - kT0Us;
        if (shift_days != nullptr) *shift_days = static_cast<int>(delta / kDayUs);
        return s;
      }
    }
    return "";
  }

  // A small what-if on `subject` of `study` for `who`: every event into `events`.
  grpc::Status WhatIf(const std::string& who, const std::string& study, const std::string& subject,
                      std::vector<clin::DeidentifiedWhatIfEvent>* events, const std::string& patient_id = "") {
    clin::RunDeidentifiedWhatIfRequest req;
    req.set_study_id(study);
    req.set_subject(subject);
    *req.mutable_whatif() = TwoOptionWhatIf(patient_id);
    auto ctx = std::make_unique<grpc::ClientContext>();
    ctx->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(180));
    auto reader = Api(who)->RunDeidentifiedWhatIf(ctx.get(), req);
    events->clear();
    clin::DeidentifiedWhatIfEvent ev;
    while (reader->Read(&ev)) events->push_back(ev);
    return reader->Finish();
  }

  std::unique_ptr<Slice> slice_;
};

TEST_F(ResearchTest, AResearcherOnTheStudyReadsPseudonymousShiftedVitals) {
  MakeStudy("S1", {"pat-a", "pat-b"}, {"researcher-rita"});
  std::vector<std::string> subjects;
  ASSERT_TRUE(Subjects("researcher-rita", "S1", &subjects).ok());
  ASSERT_EQ(subjects.size(), 2u);  // pat-c did not consent
  for (const auto& s : subjects) {
    EXPECT_TRUE(clinician::deid::IsPseudonym(s)) << s;
    EXPECT_EQ(s.find("pat-"), std::string::npos);
  }
  int days = 0;
  const std::string a = SubjectOfA("S1", &days);
  ASSERT_FALSE(a.empty());
  EXPECT_NE(days, 0);
  EXPECT_LE(std::abs(days), clinician::deid::kMaxShiftDays);

  // The window is in shifted time: [T0 + shift, T0 + shift + 5 min) is the first five samples.
  clin::GetDeidentifiedVitalsResponse resp;
  const int64_t shifted_t0 = kT0Us + days * kDayUs;
  ASSERT_TRUE(Vitals("researcher-rita", "S1", a, shifted_t0, shifted_t0 + 5 * 60'000'000, &resp).ok());
  ASSERT_EQ(resp.samples_size(), 5);
  EXPECT_EQ(resp.subject(), a);
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(common::ToUnixMicros(resp.samples(i).measured_at(), "t").value(), shifted_t0 + i * 60'000'000);
    EXPECT_EQ(resp.samples(i).value(), 60 + i);
    EXPECT_EQ(resp.samples(i).ucum_unit(), "/min");
  }
  // Nothing identifying anywhere in the reply.
  const std::string wire = resp.SerializeAsString();
  EXPECT_EQ(wire.find("pat-a"), std::string::npos);
  EXPECT_EQ(wire.find("AA:BB:CC"), std::string::npos);
  // The real window returns nothing (unless the shift were zero, which it never is).
  ASSERT_TRUE(Vitals("researcher-rita", "S1", a, kT0Us, kT0Us + 10 * 60'000'000, &resp).ok());
  EXPECT_EQ(resp.samples_size(), 0);

  // Audited with the real patient, the study as the record's entity, research purpose.
  EXPECT_GE(Audit("actor = 'researcher-rita' AND action = 'research.vitals.read' AND patient_id = 'pat-a'"
                  " AND outcome = 'allowed' AND entity_what = 'research_study/S1' AND purpose_of_use = 'HRESCH'"),
            2);
  // Each listing: one record per patient (pat-a and pat-b), none naming pat-c.
  const int64_t listings = Audit("action = 'research.subjects.list' AND patient_id = 'pat-a'");
  EXPECT_GE(listings, 2);
  EXPECT_EQ(Audit("actor = 'researcher-rita' AND action = 'research.subjects.list' AND outcome = 'allowed'"
                  " AND patient_id = 'pat-b' AND entity_what = 'research_study/S1'"),
            listings);
  EXPECT_EQ(Audit("patient_id = 'pat-c'"), 0);
}

TEST_F(ResearchTest, AgesAreListedCappedAtNinetyAndOnlyWhenABirthDateExists) {
  // pat-a was born in 1920 (over 90), pat-b has no identity at all.
  reg::UpdatePatientIdentityRequest update;
  update.set_patient_id("pat-a");
  for (const char* f : {"given", "family", "birth_date", "mrn"}) update.add_fields(f);
  update.mutable_identity()->set_given("Ada");
  update.mutable_identity()->set_family("Oldest");
  update.mutable_identity()->set_birth_date("1920-01-01");
  update.mutable_identity()->set_mrn("MRN-OLD-1");
  reg::Patient patient;
  auto u = Registry("cli-admin")->UpdatePatientIdentity(Ctx().get(), update, &patient);
  ASSERT_TRUE(u.ok()) << u.error_message();
  MakeStudy("S1", {"pat-a", "pat-b"}, {"researcher-rita"});
  const std::string a = SubjectOfA("S1");
  clin::ListStudyPatientsRequest req;
  req.set_study_id("S1");
  clin::ListStudyPatientsResponse resp;
  ASSERT_TRUE(Api("researcher-rita")->ListStudyPatients(Ctx().get(), req, &resp).ok());
  ASSERT_EQ(resp.subjects_size(), 2);
  for (const auto& subject : resp.subjects()) {
    if (subject.subject() == a) {
      ASSERT_TRUE(subject.has_age_years());
      EXPECT_EQ(subject.age_years(), 90u);  // 106 and counting
    } else {
      EXPECT_FALSE(subject.has_age_years());
    }
  }
  const std::string wire = resp.SerializeAsString();
  for (const char* identifier : {"Ada", "Oldest", "1920", "MRN-OLD"}) {
    EXPECT_EQ(wire.find(identifier), std::string::npos) << identifier;
  }
  // The registry recorded the decryption as done for rita.
  EXPECT_GE(Audit("action = 'registry.identity.read' AND patient_id = 'pat-a' AND on_behalf_of = 'researcher-rita'"),
            1);
}

TEST_F(ResearchTest, PseudonymsAreStableAcrossCallsAndDifferBetweenStudies) {
  MakeStudy("S1", {"pat-a", "pat-b"}, {"researcher-rita"});
  MakeStudy("S2", {"pat-a", "pat-b"}, {"researcher-rita"});
  std::vector<std::string> first, again, other;
  ASSERT_TRUE(Subjects("researcher-rita", "S1", &first).ok());
  ASSERT_TRUE(Subjects("researcher-rita", "S1", &again).ok());
  ASSERT_TRUE(Subjects("researcher-rita", "S2", &other).ok());
  EXPECT_EQ(std::set(first.begin(), first.end()), std::set(again.begin(), again.end()));
  ASSERT_EQ(other.size(), 2u);
  for (const auto& s : other) EXPECT_EQ(std::find(first.begin(), first.end(), s), first.end()) << s;
  // The same patient under each study's pseudonym; a pseudonym of S2 is no subject of S1.
  const std::string a1 = SubjectOfA("S1"), a2 = SubjectOfA("S2");
  ASSERT_FALSE(a1.empty());
  ASSERT_FALSE(a2.empty());
  EXPECT_NE(a1, a2);
  clin::GetDeidentifiedVitalsResponse resp;
  EXPECT_EQ(Vitals("researcher-rita", "S1", a2, kT0Us - kDayUs * 200, kT0Us + kDayUs * 200, &resp).error_code(),
            Code::NOT_FOUND);
  EXPECT_EQ(Audit("actor = 'researcher-rita' AND action = 'research.vitals.read' AND outcome = 'not_found'"), 1);
}

TEST_F(ResearchTest, AResearcherNotOnTheStudyIsDeniedAndAudited) {
  MakeStudy("S1", {"pat-a", "pat-b"}, {"researcher-rita"});
  const std::string a = SubjectOfA("S1");
  std::vector<std::string> subjects;
  auto s = Subjects("researcher-sam", "S1", &subjects);
  EXPECT_EQ(s.error_code(), Code::PERMISSION_DENIED);
  EXPECT_TRUE(subjects.empty());
  clin::GetDeidentifiedVitalsResponse resp;
  EXPECT_EQ(Vitals("researcher-sam", "S1", a, kT0Us - kDayUs * 200, kT0Us + kDayUs * 200, &resp).error_code(),
            Code::PERMISSION_DENIED);
  // A study that does not exist reads the same: nothing tells sam which studies exist.
  auto unknown = Subjects("researcher-sam", "NOPE", &subjects);
  EXPECT_EQ(unknown.error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(unknown.error_message().find("NOPE"), s.error_message().find("S1"));
  EXPECT_EQ(Audit("actor = 'researcher-sam' AND outcome = 'denied' AND action LIKE 'research.%'"), 3);
  // A clinician is not a researcher, even for a patient on the care team.
  EXPECT_EQ(Subjects("dr-alice", "S1", &subjects).error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(Audit("actor = 'dr-alice' AND outcome = 'denied' AND action = 'research.subjects.list'"), 1);
}

TEST_F(ResearchTest, IdentifiedReadsByAResearcherStayDeniedAndAreAudited) {
  MakeStudy("S1", {"pat-a"}, {"researcher-rita"});
  auto api = Api("researcher-rita");
  vitals::v1::QueryVitalsRequest vreq;
  vreq.set_patient_id("pat-a");
  *vreq.mutable_start() = common::FromUnixMicros(kT0Us);
  *vreq.mutable_end() = common::FromUnixMicros(kT0Us + kDayUs);
  vitals::v1::QueryVitalsResponse vresp;
  EXPECT_EQ(api->GetVitals(Ctx().get(), vreq, &vresp).error_code(), Code::PERMISSION_DENIED);
  clin::GetTwinRequest treq;
  treq.set_patient_id("pat-a");
  twin::v1::TwinSnapshot tresp;
  EXPECT_EQ(api->GetTwin(Ctx().get(), treq, &tresp).error_code(), Code::PERMISSION_DENIED);
  reg::GetPatientIdentityRequest ireq;
  ireq.set_patient_id("pat-a");
  reg::PatientIdentity iresp;
  EXPECT_EQ(api->GetPatientIdentity(Ctx().get(), ireq, &iresp).error_code(), Code::PERMISSION_DENIED);
  for (const char* action : {"vitals.read", "twin.read"}) {
    EXPECT_EQ(Audit(std::string("actor = 'researcher-rita' AND patient_id = 'pat-a' AND outcome = 'denied' AND "
                                "action = '") +
                    action + "'"),
              1)
        << action;
  }
  EXPECT_GE(Audit("actor = 'researcher-rita' AND patient_id = 'pat-a' AND outcome = 'denied'"), 3);
}

TEST_F(ResearchTest, TheTwinComesBackUnderThePseudonymWithShiftedTimes) {
  MakeStudy("S1", {"pat-a"}, {"researcher-rita"});
  Sql("INSERT INTO twin_snapshots (patient_id, version, model_version, reason, parameters, covariance, calibrated,"
      " created_at, data_window_start, data_window_end) VALUES ('pat-a', 1, 'test', 2,"
      " '[{\"name\": \"log_resistance\", \"value\": 0.25, \"std_dev\": 0.03}]'::jsonb, '{0.0009}', true,"
      " to_timestamp(" +
      std::to_string(kT0Us / 1'000'000 + 3600) + "), to_timestamp(" + std::to_string(kT0Us / 1'000'000) +
      "), to_timestamp(" + std::to_string(kT0Us / 1'000'000 + 600) + "))");
  int days = 0;
  const std::string a = SubjectOfA("S1", &days);
  ASSERT_FALSE(a.empty());
  clin::GetDeidentifiedTwinRequest req;
  req.set_study_id("S1");
  req.set_subject(a);
  twin::v1::TwinSnapshot snap;
  auto s = Api("researcher-rita")->GetDeidentifiedTwin(Ctx().get(), req, &snap);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(snap.patient_id(), a);
  EXPECT_EQ(snap.version(), 1u);
  ASSERT_EQ(snap.parameters_size(), 1);
  EXPECT_DOUBLE_EQ(snap.parameters(0).value(), 0.25);
  EXPECT_EQ(snap.data_window_start().seconds(), kT0Us / 1'000'000 + days * 86'400);
  EXPECT_EQ(snap.data_window_end().seconds(), kT0Us / 1'000'000 + 600 + days * 86'400);
  EXPECT_EQ(snap.created_at().seconds(), kT0Us / 1'000'000 + 3600 + days * 86'400);
  EXPECT_EQ(snap.SerializeAsString().find("pat-a"), std::string::npos);
  EXPECT_EQ(Audit("actor = 'researcher-rita' AND action = 'research.twin.read' AND patient_id = 'pat-a'"
                  " AND outcome = 'allowed'"),
            1);
}

TEST_F(ResearchTest, AResearcherOnTheStudyRunsAWhatIfUnderThePseudonym) {
  MakeStudy("S1", {"pat-a"}, {"researcher-rita"});
  // pat-a has vitals from 2026-05-28 (kT0Us) and no twin yet: the population prior.
  const std::string a = SubjectOfA("S1");
  ASSERT_FALSE(a.empty());
  std::vector<clin::DeidentifiedWhatIfEvent> events;
  auto s = WhatIf("researcher-rita", "S1", a, &events);
  ASSERT_TRUE(s.ok()) << s.error_message();
  ASSERT_FALSE(events.empty());
  std::optional<simulation::v1::WhatIfResult> result;
  for (const auto& ev : events) {
    EXPECT_EQ(ev.subject(), a);
    if (ev.event().has_result()) result = ev.event().result();
    // Nothing identifying anywhere in what came back: not the patient, not a real date.
    const std::string wire = ev.SerializeAsString() + ev.DebugString();
    for (const std::string& real : {std::string("pat-a"), std::string("2026-05-2"), std::to_string(kT0Us / 1'000'000),
                                    std::to_string(kT0Us / 1'000'000 + 3600), std::to_string(kT0Us)}) {
      EXPECT_EQ(wire.find(real), std::string::npos) << real << " in " << ev.DebugString();
    }
  }
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->options_size(), 2);
  EXPECT_GT(result->options(0).trajectories_size(), 0);
  // Audited by clinician_api with the real patient and the study, and by the simulation service
  // as the relay for rita; the run is recorded as hers.
  EXPECT_EQ(Audit("actor = 'researcher-rita' AND action = 'research.whatif' AND patient_id = 'pat-a'"
                  " AND outcome = 'allowed' AND entity_what = 'research_study/S1' AND purpose_of_use = 'HRESCH'"),
            1);
  EXPECT_EQ(Audit("actor = 'clinician_api' AND on_behalf_of = 'researcher-rita' AND action = 'simulation.whatif'"
                  " AND patient_id = 'pat-a' AND outcome = 'allowed'"),
            1);
  EXPECT_EQ(QueryInt(db(),
                     "SELECT count(*) FROM simulation_whatif_runs WHERE patient_id = 'pat-a'"
                     " AND requested_by = 'researcher-rita'"),
            1);
}

TEST_F(ResearchTest, AWhatIfOffTheStudyOrByAClinicianIsDeniedAndAudited) {
  MakeStudy("S1", {"pat-a", "pat-b"}, {"researcher-rita"});
  const std::string a = SubjectOfA("S1");
  ASSERT_FALSE(a.empty());
  std::vector<clin::DeidentifiedWhatIfEvent> events;
  // sam is on no study: the same refusal as the neighbouring reads, for a study that exists or not.
  EXPECT_EQ(WhatIf("researcher-sam", "S1", a, &events).error_code(), Code::PERMISSION_DENIED);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(WhatIf("researcher-sam", "NOPE", a, &events).error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(Audit("actor = 'researcher-sam' AND action = 'research.whatif' AND outcome = 'denied'"), 2);
  // A clinician is not a researcher, even for a patient on the care team.
  EXPECT_EQ(WhatIf("dr-alice", "S1", a, &events).error_code(), Code::PERMISSION_DENIED);
  EXPECT_EQ(Audit("actor = 'dr-alice' AND action = 'research.whatif' AND outcome = 'denied'"), 1);
  // Rita, with a pseudonym of no subject of S1, or naming the patient herself.
  EXPECT_EQ(WhatIf("researcher-rita", "S1", "sp-aaaaaaaaaaaaaaaa", &events).error_code(), Code::NOT_FOUND);
  EXPECT_EQ(Audit("actor = 'researcher-rita' AND action = 'research.whatif' AND outcome = 'not_found'"), 1);
  auto named = WhatIf("researcher-rita", "S1", a, &events, "pat-a");
  EXPECT_EQ(named.error_code(), Code::INVALID_ARGUMENT);
  EXPECT_NE(named.error_message().find("whatif.patient_id"), std::string::npos) << named.error_message();
  // None of them reached the simulation service.
  EXPECT_EQ(Audit("action = 'simulation.whatif'"), 0);
  EXPECT_EQ(QueryInt(db(), "SELECT count(*) FROM simulation_whatif_runs"), 0);
}

TEST_F(ResearchTest, TheCliRunsStudiesAndResearchReads) {
  const auto cli = [&](const std::string& who, std::vector<std::string> args) {
    args.insert(args.begin(), {"--api", slice_->clinician_address(), "--registry", slice_->data_address()});
    return RunHealthtwin(HT_HEALTHTWIN_BIN, who, args);
  };
  auto r = cli("cli-admin", {"admin", "study", "create", "--study", "S1", "--title", "Hypertension cohort"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(cli("cli-admin", {"admin", "study", "create", "--study", "S1", "--title", "again"}).code, 1);
  r = cli("cli-admin", {"admin", "study", "create", "--study", "bad id", "--title", "x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--study"), std::string::npos) << r.err;
  EXPECT_EQ(cli("cli-admin", {"admin", "study", "create", "--study", "S9"}).code, 2);  // --title missing
  ASSERT_EQ(cli("cli-admin", {"admin", "study", "add-patient", "--study", "S1", "--patient", "pat-a"}).code, 0);
  r = cli("cli-admin", {"admin", "study", "add-patient", "--study", "S1", "--patient", "pat-zz"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NOT_FOUND"), std::string::npos) << r.err;
  r = cli("cli-admin",
          {"admin", "study", "add-patient", "--study", "S1", "--patient", "pat-b", "--consented-at", "yesterday"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--consented-at"), std::string::npos) << r.err;
  ASSERT_EQ(
      cli("cli-admin", {"admin", "study", "add-researcher", "--study", "S1", "--researcher", "researcher-rita"}).code,
      0);
  r = cli("cli-admin", {"admin", "study", "list"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("S1  \"Hypertension cohort\"  1 patient(s)  researchers: researcher-rita"), std::string::npos)
      << r.out;
  // Only admins run studies.
  EXPECT_EQ(cli("researcher-rita", {"admin", "study", "list"}).code, 1);
  EXPECT_EQ(Audit("actor = 'researcher-rita' AND action = 'registry.list_studies' AND outcome = 'denied'"), 1);
  EXPECT_GE(Audit("actor = 'cli-admin' AND action = 'registry.add_study_patient' AND patient_id = 'pat-a'"), 1);

  r = cli("researcher-rita", {"research", "patients", "--study", "S1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const std::string subject = r.out.substr(0, clinician::deid::kPseudonymLength);
  EXPECT_TRUE(clinician::deid::IsPseudonym(subject)) << r.out;
  EXPECT_EQ(r.out.find("pat-a"), std::string::npos);
  r = cli("researcher-rita", {"research", "vitals", "--study", "S1", "--subject", "pat-a", "--start",
                              "2026-01-01T00:00:00Z", "--end", "2026-02-01T00:00:00Z"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--subject"), std::string::npos) << r.err;
  r = cli("researcher-rita", {"research", "vitals", "--study", "S1", "--subject", subject, "--start",
                              "2025-01-01T00:00:00Z", "--end", "2027-06-01T00:00:00Z"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 10) << r.out;
  EXPECT_EQ(r.out.find("AA:BB"), std::string::npos);
  EXPECT_EQ(cli("researcher-sam", {"research", "patients", "--study", "S1"}).code, 1);

  // The clinicians' options file, on the subject's twin.
  r = cli("researcher-rita", {"research", "whatif", "--study", "S1", "--subject", subject, "--options",
                              HT_WHATIF_OPTIONS, "--days", "14", "--ensemble", "4"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("subject " + subject + ", 14 days, 4 ensemble members, twin version ", 0), 0) << r.out;
  EXPECT_NE(r.out.find(" 1. "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pat-a"), std::string::npos) << r.out;
  r = cli("researcher-rita",
          {"research", "whatif", "--study", "S1", "--subject", subject, "--options", "/nonexistent"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--options"), std::string::npos) << r.err;
  r = cli("researcher-rita",
          {"research", "whatif", "--study", "S1", "--subject", "pat-a", "--options", HT_WHATIF_OPTIONS});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("--subject"), std::string::npos) << r.err;
  EXPECT_EQ(cli("researcher-sam",
                {"research", "whatif", "--study", "S1", "--subject", subject, "--options", HT_WHATIF_OPTIONS})
                .code,
            1);
}

}  // namespace
}  // namespace healthtwin::testing
