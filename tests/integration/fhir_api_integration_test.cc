// The FHIR R4 read API on clinician_api's HTTPS listener (issue 12 item 4): real PostgreSQL, the
// real ingest and alerts services over gRPC/mTLS (tests/integration/test_env.h), the real
// HttpsListener and FhirApi on port 0, and curl (a real TLS client with session caching) as the
// HTTPS client. Nothing is mocked.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <tuple>

#include "absl/strings/str_split.h"
#include "clinician_api/clinician_service.h"
#include "clinician_api/fhir_api.h"
#include "clinician_api/https_listener.h"
#include "services/common/access.h"
#include "services/common/executor.h"
#include "tests/harness/dev_pki.h"
#include "tests/harness/migrated_database.h"
#include "tests/harness/subprocess.h"
#include "tests/integration/test_env.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int64_t kSecondUs = 1'000'000;
constexpr int64_t kBaseUs = 1'796'083'200 * kSecondUs;  // 2026-12-01T00:00:00Z
constexpr char kRange[] = "date=ge2026-12-01T00:00:00Z&date=lt2026-12-02T00:00:00Z";

struct Reply {
  int rc = -1;                // curl's exit code
  std::vector<int> statuses;  // one per URL
  std::string content_type;   // of the last
  std::string body;           // of the last
  json Json() const { return json::parse(body, nullptr, /*allow_exceptions=*/false); }
};

// make-dev-pki.sh --foreign, once per binary: a CA the server does not trust.
const fs::path& ForeignPki() {
  static const fs::path dir = [] {
    fs::path d = fs::temp_directory_path() / ("healthtwin-fhir-foreign-" + std::to_string(::getpid()));
    const absl::Status made = MakeDevPki(HT_PKI_SCRIPT, d.string(), /*foreign=*/true);
    EXPECT_TRUE(made.ok()) << made;
    return d;
  }();
  return dir;
}

class FhirApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(SliceEnvironment::cluster(), nullptr) << "the shared PostgreSQL cluster did not start";
    auto slice = Slice::Start(TestDatabaseName("fhir"));
    ASSERT_TRUE(slice.ok()) << slice.status();
    slice_ = std::move(*slice);
    Sql("INSERT INTO patients (patient_id) VALUES ('pat-a'), ('pat-b')");
    Sql("INSERT INTO care_team (patient_id, member) VALUES ('pat-a', 'dr-alice'), ('pat-b', 'dr-bob')");

    // clinician_api's domain object wired as main.cc wires it, with the HTTPS edge on port 0.
    const common::TlsFiles tls = SliceEnvironment::Tls("clinician_api");
    auto to_data = common::MakePeerChannel(slice_->data_address(), tls, "ingest");
    auto to_alerts = common::MakePeerChannel(slice_->alerts_address(), tls, "alerts");
    ASSERT_TRUE(to_data.ok() && to_alerts.ok());
    clinician::Upstreams up;
    up.vitals = vitals::v1::VitalsQueryService::NewStub(*to_data);
    up.alerts = alerts::v1::AlertService::NewStub(*to_alerts);
    up.twin = clinician::TwinRouter(twin::v1::TwinService::NewStub(*to_data));
    pool_ = std::make_unique<common::PgPool>(ServiceConnInfo(slice_->conninfo(), "clinician_api"), 4);
    executor_ = std::make_unique<common::Executor>(2);
    access_ = std::make_unique<common::Access>(*pool_);
    auto policy = common::CallerPolicy::Create(clinician::ClinicianServiceImpl::DefaultPolicy());
    ASSERT_TRUE(policy.ok()) << policy.status();
    service_ = std::make_unique<clinician::ClinicianServiceImpl>(*access_, std::move(up), *executor_, *policy);
    fhir_ = std::make_unique<clinician::FhirApi>(*service_, resources_);
    clinician::HttpsOptions options;
    options.workers = 4;
    auto listener = clinician::HttpsListener::Start(tls, options, [&](httplib::Server& s) { fhir_->Register(s); });
    ASSERT_TRUE(listener.ok()) << listener.status();
    https_ = std::move(*listener);
  }

  void TearDown() override {
    if (https_) https_->Stop();
  }

  void Sql(const std::string& sql) { ExecSql(slice_->conninfo(), sql); }
  int64_t Count(const std::string& sql) { return QueryInt(slice_->conninfo(), sql); }

  // `n` heart rates of pat-a from `first_us`, one every `step_us`, from device `device`.
  void InsertVitals(const std::string& device, int64_t first_us, int64_t step_us, int n, int seq0 = 0) {
    Sql("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
        " bridge_id) SELECT 'pat-a', '" +
        device + "', 1, 60 + i % 40, '/min', timestamptz 'epoch' + (" + std::to_string(first_us) + " + i::bigint * " +
        std::to_string(step_us) + ") * interval '1 microsecond', " + std::to_string(seq0) +
        " + i, 'b' FROM generate_series(0, " + std::to_string(n - 1) + ") i");
  }

  std::string Origin() const { return "https://clinician_api:" + std::to_string(https_->port()); }
  std::string Url(const std::string& path) const { return Origin() + path; }

  // curl as `identity` ("" for no client certificate), trusting the healthtwin CA; `extra` are
  // more curl arguments; the URLs come last.
  Reply Curl(const std::string& identity, const std::vector<std::string>& urls, std::vector<std::string> extra = {},
             const fs::path& pki = {}) {
    const common::TlsFiles server = SliceEnvironment::Tls("clinician_api");
    std::vector<std::string> args = {"-sS",
                                     "--max-time",
                                     "10",
                                     "--cacert",
                                     server.ca_cert_path,
                                     "--resolve",
                                     "clinician_api:" + std::to_string(https_->port()) + ":127.0.0.1"};
    if (!identity.empty()) {
      const fs::path dir = pki.empty() ? fs::path(server.ca_cert_path).parent_path() : pki;
      args.insert(args.end(),
                  {"--cert", (dir / (identity + ".pem")).string(), "--key", (dir / (identity + ".key")).string()});
    }
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), {"-w", "\n@@%{http_code} %{content_type}\n"});
    args.insert(args.end(), urls.begin(), urls.end());
    Reply r;
    auto p = Subprocess::Spawn("/usr/bin/curl", args);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return r;
    auto exit = (*p)->Wait(std::chrono::seconds(20));
    EXPECT_TRUE(exit.ok()) << exit.status();
    if (!exit.ok() || !exit->exited) return r;
    r.rc = exit->code;
    std::string out = (*p)->Stdout();
    size_t pos = 0;
    std::string body;
    while (true) {
      const size_t mark = out.find("\n@@", pos);
      if (mark == std::string::npos) break;
      body = out.substr(pos, mark - pos);
      const size_t eol = out.find('\n', mark + 3);
      std::istringstream line(out.substr(mark + 3, eol - mark - 3));
      int status = 0;
      line >> status >> r.content_type;
      r.statuses.push_back(status);
      pos = eol == std::string::npos ? out.size() : eol + 1;
    }
    r.body = body;
    if (r.rc != 0) r.body = (*p)->Stderr();
    return r;
  }
  Reply Get(const std::string& identity, const std::string& path) { return Curl(identity, {Url(path)}); }

  int64_t Audits(const std::string& actor, const std::string& action, const std::string& patient,
                 const std::string& outcome) {
    return Count("SELECT count(*) FROM audit_log WHERE actor = '" + actor + "' AND action = '" + action +
                 "' AND patient_id = '" + patient + "' AND outcome = '" + outcome + "'");
  }

  std::unique_ptr<Slice> slice_;
  std::unique_ptr<common::PgPool> pool_;
  std::unique_ptr<common::Executor> executor_;
  std::unique_ptr<common::Access> access_;
  std::unique_ptr<clinician::ClinicianServiceImpl> service_;
  clinician::FeedsFhirResources resources_;
  std::unique_ptr<clinician::FhirApi> fhir_;
  std::unique_ptr<clinician::HttpsListener> https_;
};

void ExpectOutcome(const Reply& r, int status, const std::string& issue_code, const std::string& expression = "") {
  ASSERT_EQ(r.statuses.size(), 1u) << r.body;
  EXPECT_EQ(r.statuses[0], status) << r.body;
  EXPECT_EQ(r.content_type, "application/fhir+json") << r.body;
  const json j = r.Json();
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j.value("resourceType", ""), "OperationOutcome") << r.body;
  ASSERT_TRUE(j.contains("issue") && j["issue"].size() == 1) << r.body;
  EXPECT_EQ(j["issue"][0].value("severity", ""), "error");
  EXPECT_EQ(j["issue"][0].value("code", ""), issue_code) << r.body;
  if (!expression.empty()) {
    EXPECT_EQ(j["issue"][0]["expression"], json::array({expression})) << r.body;
    EXPECT_EQ(j["issue"][0].value("diagnostics", "").rfind(expression + ":", 0), 0u) << r.body;
  }
}

TEST_F(FhirApiTest, MetadataIsACapabilityStatementOfWhatIsServed) {
  const Reply r = Get("dr-alice", "/fhir/r4/metadata");
  ASSERT_EQ(r.rc, 0) << r.body;
  ASSERT_EQ(r.statuses, std::vector<int>{200});
  EXPECT_EQ(r.content_type, "application/fhir+json");
  const json j = r.Json();
  ASSERT_FALSE(j.is_discarded()) << r.body;
  EXPECT_EQ(j["resourceType"], "CapabilityStatement");
  EXPECT_EQ(j["fhirVersion"], "4.0.1");
  EXPECT_EQ(j["kind"], "instance");
  std::map<std::string, std::set<std::string>> params;
  for (const auto& res : j["rest"][0]["resource"]) {
    auto& names = params[res["type"]];
    for (const auto& p : res.value("searchParam", json::array())) names.insert(p["name"].get<std::string>());
  }
  EXPECT_EQ(params.size(), 3u);
  EXPECT_TRUE(params["Observation"].count("date") && params["Observation"].count("code") &&
              params["Observation"].count("patient"));
  EXPECT_TRUE(params["CommunicationRequest"].count("status"));
  EXPECT_TRUE(params.count("Patient"));
}

TEST_F(FhirApiTest, AConnectionWithoutACertificateOrFromAnotherCaIsRefusedInTheHandshake) {
  const Reply none = Get("", "/fhir/r4/metadata");
  EXPECT_NE(none.rc, 0) << "served without a client certificate";
  EXPECT_TRUE(none.statuses.empty() || none.statuses[0] == 0) << none.body;
  const Reply foreign = Curl("intruder", {Url("/fhir/r4/metadata")}, {}, ForeignPki());
  EXPECT_NE(foreign.rc, 0) << "served a certificate from another CA";
  EXPECT_TRUE(foreign.statuses.empty() || foreign.statuses[0] == 0) << foreign.body;
  EXPECT_EQ(Count("SELECT count(*) FROM audit_log WHERE actor = 'intruder'"), 0);
}

// OpenSSL refuses to resume a session of a verified client unless the context has a session id
// context; without SSL_CTX_set_session_id_context curl's second connection fails (rc 35), and
// browsers fail every reconnect (../shared/notes/dashboard-stack.md).
TEST_F(FhirApiTest, ASecondConnectionResumingTheSessionSucceeds) {
  const Reply r = Curl("dr-alice", {Url("/fhir/r4/metadata"), Url("/fhir/r4/metadata"), Url("/fhir/r4/metadata")},
                       {"-H", "Connection: close", "-o", "/dev/null", "--tls-max", "1.2"});
  EXPECT_EQ(r.rc, 0) << r.body;
  EXPECT_EQ(r.statuses, (std::vector<int>{200, 200, 200}));
  const Reply r13 = Curl("dr-alice", {Url("/fhir/r4/metadata"), Url("/fhir/r4/metadata")},
                         {"-H", "Connection: close", "-o", "/dev/null"});
  EXPECT_EQ(r13.rc, 0) << r13.body;
  EXPECT_EQ(r13.statuses, (std::vector<int>{200, 200}));
}

TEST_F(FhirApiTest, ObservationSearchReturnsTheCareTeamPatientsVitalsAndAudits) {
  InsertVitals("dev-a", kBaseUs, kSecondUs, 5);
  const Reply r = Get("dr-alice", "/fhir/r4/Observation?patient=pat-a&code=8867-4&" + std::string(kRange));
  ASSERT_EQ(r.statuses, std::vector<int>{200}) << r.body;
  EXPECT_EQ(r.content_type, "application/fhir+json");
  const json b = r.Json();
  EXPECT_EQ(b["resourceType"], "Bundle");
  EXPECT_EQ(b["type"], "searchset");
  ASSERT_EQ(b["entry"].size(), 5u) << r.body;
  EXPECT_EQ(b["link"].size(), 1u) << "a single page has no next link";
  EXPECT_EQ(b["link"][0]["relation"], "self");
  const json& o = b["entry"][0]["resource"];
  EXPECT_EQ(o["resourceType"], "Observation");
  EXPECT_EQ(o["subject"]["reference"], "Patient/pat-a");
  EXPECT_EQ(o["effectiveDateTime"], "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(o["id"], "ht-obs-" + QueryText(slice_->conninfo(),
                                           "SELECT min(ingest_seq)::text FROM vitals WHERE device_id = 'dev-a'"));
  EXPECT_EQ(o["code"]["coding"][0]["code"], "8867-4");
  EXPECT_EQ(Audits("dr-alice", "vitals.read", "pat-a", "allowed"), 1);
  // Another code matches nothing.
  const Reply spo2 = Get("dr-alice", "/fhir/r4/Observation?patient=pat-a&code=2708-6&" + std::string(kRange));
  ASSERT_EQ(spo2.statuses, std::vector<int>{200});
  EXPECT_EQ(spo2.Json()["entry"].size(), 0u);
}

// Served Observations are the feeds' (services/feeds/fhir): a cuff reading's two rows are one
// R4 bp panel whose id derives from both rows' ingest_seq, the id the rest-hook feed pushes; a
// page that ends between the two rows takes the other one along; types without an R4
// vital-signs profile (mean arterial BP, glucose) are not served and take no place in a page.
TEST_F(FhirApiTest, BloodPressureReadingsAreWholePanelsWithTheFeedsIdsAcrossPages) {
  std::string values;
  for (int k = 0; k < 3; ++k) {
    const std::string at =
        "timestamptz 'epoch' + " + std::to_string(kBaseUs / kSecondUs + 60 * k) + " * interval '1 s'";
    for (auto [type, value, unit] : {std::tuple{2, 120 + k, "mm[Hg]"}, std::tuple{3, 80 + k, "mm[Hg]"},
                                     std::tuple{4, 93 + k, "mm[Hg]"}, std::tuple{8, 5 + k, "mmol/L"}}) {
      values += std::string(values.empty() ? "" : ", ") + "('pat-a', 'cuff', " + std::to_string(type) + ", " +
                std::to_string(value) + ", '" + unit + "', " + at + ", " + std::to_string(k) + ", 'b')";
    }
  }
  Sql("INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, device_record_seq,"
      " bridge_id) VALUES " +
      values);
  std::vector<std::string> panels;  // ht-bp-<systolic seq>-<diastolic seq>, in time order
  for (int k = 0; k < 3; ++k) {
    const std::string at = std::to_string(kBaseUs / kSecondUs + 60 * k);
    panels.push_back(QueryText(slice_->conninfo(),
                               "SELECT 'ht-bp-' || s.ingest_seq || '-' || d.ingest_seq FROM vitals s, vitals d"
                               " WHERE s.vital_type = 2 AND d.vital_type = 3 AND s.measured_at = d.measured_at"
                               " AND extract(epoch FROM s.measured_at) = " +
                                   at));
  }
  const auto entries = [](const json& bundle) {
    std::vector<json> out;
    for (const auto& e : bundle["entry"]) out.push_back(e["resource"]);
    return out;
  };
  // Every served type (no code): the three panels, nothing for MAP or glucose.
  const Reply all = Get("dr-alice", "/fhir/r4/Observation?patient=pat-a&" + std::string(kRange));
  ASSERT_EQ(all.statuses, std::vector<int>{200}) << all.body;
  const std::vector<json> got = entries(all.Json());
  ASSERT_EQ(got.size(), 3u) << all.body;
  for (int k = 0; k < 3; ++k) {
    EXPECT_EQ(got[k]["id"], panels[k]);
    EXPECT_EQ(got[k]["code"]["coding"][0]["code"], "85354-9");
    EXPECT_EQ(got[k]["meta"]["profile"][0], "http://hl7.org/fhir/StructureDefinition/bp");
    EXPECT_EQ(got[k]["component"][0]["valueQuantity"]["value"], 120 + k);
    EXPECT_EQ(got[k]["component"][1]["valueQuantity"]["value"], 80 + k);
  }
  // Three rows a page: the first page ends after reading 1's systolic row and takes its
  // diastolic row along, so both pages hold whole panels only.
  std::string url = Url("/fhir/r4/Observation?patient=pat-a&code=85354-9&_count=3&" + std::string(kRange));
  std::vector<std::string> ids;
  for (int pages = 0; !url.empty(); ++pages) {
    ASSERT_LT(pages, 5) << "paging does not end";
    const Reply r = Curl("dr-alice", {url});
    ASSERT_EQ(r.statuses, std::vector<int>{200}) << r.body;
    const json b = r.Json();
    for (const json& o : entries(b)) {
      ids.push_back(o["id"]);
      EXPECT_EQ(o.dump().find("dataAbsentReason"), std::string::npos) << "half a panel: " << o.dump();
    }
    url.clear();
    for (const auto& l : b["link"]) {
      if (l["relation"] == "next") url = l["url"];
    }
  }
  EXPECT_EQ(ids, panels);
  // A half's code is a component of the panel, not a searchable code here.
  const Reply half = Get("dr-alice", "/fhir/r4/Observation?patient=pat-a&code=8480-6");
  ExpectOutcome(half, 400, "invalid", "code");
  EXPECT_NE(half.body.find("search code=85354-9"), std::string::npos) << half.body;
  ExpectOutcome(Get("dr-alice", "/fhir/r4/Observation?patient=pat-a&code=2339-0"), 400, "invalid", "code");
}

TEST_F(FhirApiTest, AClinicianOutsideTheCareTeamGets403AndTheAttemptIsAudited) {
  InsertVitals("dev-a", kBaseUs, kSecondUs, 3);
  ExpectOutcome(Get("dr-bob", "/fhir/r4/Observation?patient=pat-a"), 403, "forbidden");
  EXPECT_EQ(Audits("dr-bob", "vitals.read", "pat-a", "denied"), 1);
  ExpectOutcome(Get("dr-bob", "/fhir/r4/Patient/pat-a"), 403, "forbidden");
  EXPECT_EQ(Audits("dr-bob", "patient.read", "pat-a", "denied"), 1);
  ExpectOutcome(Get("dr-bob", "/fhir/r4/CommunicationRequest?patient=pat-a"), 403, "forbidden");
  EXPECT_EQ(Audits("dr-bob", "alerts.list", "pat-a", "denied"), 1);
  // A role the policy refuses (an admin) is refused and audited the same way.
  ExpectOutcome(Get("cli-admin", "/fhir/r4/Observation?patient=pat-a"), 403, "forbidden");
  EXPECT_EQ(Audits("cli-admin", "vitals.read", "pat-a", "denied"), 1);
  // Their own patient is fine.
  const Reply own = Get("dr-bob", "/fhir/r4/Patient/pat-b");
  ASSERT_EQ(own.statuses, std::vector<int>{200}) << own.body;
  EXPECT_EQ(own.Json()["id"], "pat-b");
  EXPECT_EQ(Audits("dr-bob", "patient.read", "pat-b", "allowed"), 1);
}

TEST_F(FhirApiTest, BadParametersAre400OutcomesNamingTheParameter) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/fhir/r4/Observation", "patient"},
      {"/fhir/r4/Observation?patient=pat-a&date=eq2026-12-01", "date"},
      {"/fhir/r4/Observation?patient=pat-a&date=ge2026-12-01T10:00", "date"},
      {"/fhir/r4/Observation?patient=pat-a&_count=0", "_count"},
      {"/fhir/r4/Observation?patient=pat-a&code=0000-0", "code"},
      {"/fhir/r4/Observation?patient=pat-a&_cursor=not-ours", "_cursor"},
      {"/fhir/r4/Observation?patient=pat-a&_offset=100", "_offset"},
      {"/fhir/r4/CommunicationRequest?status=draft", "status"},
      {"/fhir/r4/Patient/pat%20a", "id"},
  };
  for (const auto& [path, param] : cases) {
    SCOPED_TRACE(path);
    ExpectOutcome(Get("dr-alice", path), 400, "invalid", param);
  }
}

TEST_F(FhirApiTest, UnknownPathsWrongMethodsAndLargeBodiesGetOutcomes) {
  ExpectOutcome(Get("dr-alice", "/fhir/r4/Device/x"), 404, "not-found");
  ExpectOutcome(Curl("dr-alice", {Url("/fhir/r4/Observation")}, {"-X", "DELETE"}), 405, "not-supported");
  ExpectOutcome(Curl("dr-alice", {Url("/fhir/r4/Observation")},
                     {"-H", "Content-Type: application/fhir+json", "--data-binary", "{\"resourceType\":\"Patient\"}"}),
                405, "not-supported");
  const std::string big(200 * 1024, 'x');
  const fs::path body = fs::temp_directory_path() / ("fhir-big-" + std::to_string(::getpid()));
  { std::ofstream(body) << big; }
  ExpectOutcome(Curl("dr-alice", {Url("/fhir/r4/Observation")}, {"--data-binary", "@" + body.string()}), 413,
                "too-long");
  fs::remove(body);
}

// Keyset paging: rows stored between page fetches, before the cursor (a late device sync) and
// after it (new readings), shift nothing: every row present at the start comes back exactly
// once, in order, and no row twice. OFFSET paging repeats rows here.
TEST_F(FhirApiTest, ObservationPagingFollowsNextLinksStablyWhileRowsAreInserted) {
  InsertVitals("dev-a", kBaseUs + kSecondUs, 10 * kSecondUs, 230);
  std::string url = Url("/fhir/r4/Observation?patient=Patient%2Fpat-a&_count=40&" + std::string(kRange));
  std::vector<std::string> ids;
  int pages = 0;
  for (; !url.empty() && pages < 50; ++pages) {
    const Reply r = Curl("dr-alice", {url});
    ASSERT_EQ(r.statuses, std::vector<int>{200}) << r.body;
    const json b = r.Json();
    EXPECT_LE(b["entry"].size(), 40u);
    for (const auto& e : b["entry"]) ids.push_back(e["resource"]["id"]);
    url.clear();
    for (const auto& l : b["link"]) {
      if (l["relation"] == "next") url = l["url"];
    }
    if (!url.empty()) {
      EXPECT_EQ(url.rfind(Origin() + "/fhir/r4/Observation?", 0), 0u) << url;
      EXPECT_EQ(url.find("offset"), std::string::npos) << url;
    }
    // Between pages: 3 rows at the very start of the range (behind every cursor) and one at
    // the end of the range (ahead of it).
    InsertVitals("late-" + std::to_string(pages), kBaseUs, 1, 3);
    InsertVitals("new-" + std::to_string(pages), kBaseUs + 3000 * kSecondUs + pages * kSecondUs, 1, 1);
  }
  EXPECT_GE(pages, 6);
  EXPECT_LT(pages, 50) << "paging does not end";
  std::set<std::string> unique(ids.begin(), ids.end());
  EXPECT_EQ(unique.size(), ids.size()) << "a row came back twice";
  // Every original row once: their ids are ht-obs-<ingest_seq> (services/feeds/fhir/ids.h).
  int original = 0;
  const std::vector<std::string> originals = absl::StrSplit(
      QueryText(
          slice_->conninfo(),
          "SELECT string_agg('ht-obs-' || ingest_seq, ',' ORDER BY ingest_seq) FROM vitals WHERE device_id = 'dev-a'"),
      ',');
  ASSERT_EQ(originals.size(), 230u);
  for (const std::string& id : originals) original += static_cast<int>(unique.count(id));
  EXPECT_EQ(original, 230);
  // The row inserted ahead of the cursor after the first page is found too.
  EXPECT_EQ(unique.count("ht-obs-" + QueryText(slice_->conninfo(),
                                               "SELECT ingest_seq::text FROM vitals WHERE device_id = 'new-0'")),
            1u);
  EXPECT_EQ(Audits("dr-alice", "vitals.read", "pat-a", "allowed"), pages);
}

TEST_F(FhirApiTest, CommunicationRequestsAreTheCareTeamsAlertsByStatus) {
  Sql("INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, raised_at, peak_value,"
      " ucum_unit, duration_s) VALUES ('pat-a', 'hr_high', 3, 1, 'HR high', now() - interval '2 minutes',"
      " now() - interval '1 minute', 130, '/min', 60), ('pat-a', 'spo2_low', 2, 4, 'SpO2 low',"
      " now() - interval '9 minutes', now() - interval '8 minutes', 85, '%', 60), ('pat-b', 'hr_high', 3, 1,"
      " 'HR high', now() - interval '2 minutes', now() - interval '1 minute', 130, '/min', 60)");
  Sql("INSERT INTO alert_events (alert_id, kind, created_at) SELECT alert_id, 1, raised_at FROM alerts");
  const auto ids = [](const Reply& r) {
    std::set<std::string> out;
    const json bundle = r.Json();  // outlives the loop
    for (const auto& e : bundle["entry"])
      out.insert(e["resource"]["status"].get<std::string>() + ":" +
                 e["resource"]["subject"]["reference"].get<std::string>());
    return out;
  };
  const Reply active = Get("dr-alice", "/fhir/r4/CommunicationRequest?patient=pat-a&status=active");
  ASSERT_EQ(active.statuses, std::vector<int>{200}) << active.body;
  EXPECT_EQ(ids(active), (std::set<std::string>{"active:Patient/pat-a"})) << active.body;
  const Reply done = Get("dr-alice", "/fhir/r4/CommunicationRequest?patient=pat-a&status=completed");
  EXPECT_EQ(ids(done), (std::set<std::string>{"completed:Patient/pat-a"}));
  // No patient: the caller's care team only (pat-b's alert is not dr-alice's).
  const Reply mine = Get("dr-alice", "/fhir/r4/CommunicationRequest");
  EXPECT_EQ(mine.Json()["entry"].size(), 2u) << mine.body;
  EXPECT_EQ(Audits("dr-alice", "alerts.list", "pat-a", "allowed"), 2);
}

// status=active is filtered in the search, not after paging: the newest alerts are resolved,
// yet the first page is full of active ones and the pages together hold each active one once.
TEST_F(FhirApiTest, CommunicationRequestStatusActivePagesAreFullWhileMoreExist) {
  Sql("INSERT INTO alerts (patient_id, rule_id, priority, state, summary, condition_started_at, raised_at, peak_value,"
      " ucum_unit, duration_s) SELECT 'pat-a', 'hr_high', 3, CASE WHEN g > 7 THEN 1 ELSE 4 END, 'HR high',"
      " now() - g * interval '1 minute', now() - g * interval '1 minute' + interval '10 s', 130, '/min', 60"
      " FROM generate_series(1, 10) g");  // 3 active (older), 7 resolved (newer)
  Sql("INSERT INTO alert_events (alert_id, kind, created_at) SELECT alert_id, 1, raised_at FROM alerts");
  std::string url = Url("/fhir/r4/CommunicationRequest?patient=pat-a&status=active&_count=2");
  std::vector<size_t> sizes;
  std::set<std::string> ids;
  for (int pages = 0; !url.empty() && pages < 10; ++pages) {
    const Reply r = Curl("dr-alice", {url});
    ASSERT_EQ(r.statuses, std::vector<int>{200}) << r.body;
    const json b = r.Json();
    sizes.push_back(b["entry"].size());
    for (const auto& e : b["entry"]) {
      EXPECT_EQ(e["resource"]["status"], "active");
      EXPECT_TRUE(ids.insert(e["resource"]["id"].get<std::string>()).second) << "repeated";
    }
    url.clear();
    for (const auto& l : b["link"]) {
      if (l["relation"] == "next") url = l["url"];
    }
  }
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(sizes[0], 2u) << "the first page is full although the newest alerts are resolved";
  EXPECT_EQ(ids.size(), 3u);
}

// Role and care team are checked before the parameters: a caller who may not read the
// patient gets 403 (audited), not a 400 saying what is wrong with the request.
TEST_F(FhirApiTest, ABadRequestFromACallerWhoMayNotReadThePatientIs403AndAudited) {
  ExpectOutcome(Get("dr-bob", "/fhir/r4/Observation?patient=pat-a&date=eq2026-12-01"), 403, "forbidden");
  EXPECT_EQ(Audits("dr-bob", "vitals.read", "pat-a", "denied"), 1);
  ExpectOutcome(Get("dr-bob", "/fhir/r4/CommunicationRequest?patient=pat-a&status=draft"), 403, "forbidden");
  EXPECT_EQ(Audits("dr-bob", "alerts.list", "pat-a", "denied"), 1);
  ExpectOutcome(Get("cli-admin", "/fhir/r4/Observation?patient=pat-b&_count=0"), 403, "forbidden");
  EXPECT_EQ(Audits("cli-admin", "vitals.read", "pat-b", "denied"), 1);
  // The same bad request from someone who may read the patient is a 400 naming the parameter.
  ExpectOutcome(Get("dr-alice", "/fhir/r4/Observation?patient=pat-a&date=eq2026-12-01"), 400, "invalid", "date");
}

// Stop() lets a request in flight finish and then refuses new connections.
TEST_F(FhirApiTest, StopDrainsAndThenRefusesConnections) {
  ASSERT_EQ(Get("dr-alice", "/fhir/r4/metadata").statuses, std::vector<int>{200});
  https_->Stop();
  const Reply after = Get("dr-alice", "/fhir/r4/metadata");
  EXPECT_NE(after.rc, 0);
  https_->Stop();  // idempotent
}

}  // namespace
}  // namespace healthtwin::testing
