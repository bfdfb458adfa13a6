// The FHIR R4 AuditEvent mapping of audit chain records (fhir_audit_event.h), field by field.
#include "services/common/audit/fhir_audit_event.h"

#include "gtest/gtest.h"

namespace healthtwin::common::audit {
namespace {

using nlohmann::json;

AuditRecord Allowed() {
  AuditRecord r;
  r.seq = 42;
  r.hash = std::string("\x01\x02\xff", 3);
  r.recorded_unix_us = 1'796'000'000'123'456;  // 2026-11-30T00:53:20.123Z
  r.event_type = "110110";
  r.action = "vitals.query";
  r.action_code = "R";
  r.outcome = "allowed";
  r.outcome_code = "0";
  r.actor = "dr-alice";
  r.role = "clinician";
  r.peer = "ipv4:10.1.2.3:50001";
  r.agent_token_id = "jti-7";
  r.patient_id = "pat-0001";
  r.purpose_of_use = "TREAT";
  return r;
}

TEST(FhirAuditEventTest, MapsEveryFieldOfAnAllowedRead) {
  const json e = AuditEventFor(Allowed());
  EXPECT_EQ(e["resourceType"], "AuditEvent");
  EXPECT_EQ(e["id"], "audit-log-42");
  EXPECT_EQ(e["type"], (json{{"system", kDicomSystem}, {"code", "110110"}, {"display", "Patient Record"}}));
  EXPECT_EQ(e["subtype"], json::array({{{"system", "urn:healthtwin:audit-action"}, {"code", "vitals.query"}}}));
  EXPECT_EQ(e["action"], "R");
  EXPECT_EQ(e["recorded"], "2026-11-30T00:53:20.123Z");
  EXPECT_EQ(e["outcome"], "0");
  EXPECT_FALSE(e.contains("outcomeDesc"));
  EXPECT_EQ(e["purposeOfEvent"][0]["coding"][0],
            (json{{"system", "http://terminology.hl7.org/CodeSystem/v3-ActReason"}, {"code", "TREAT"}}));
  ASSERT_EQ(e["agent"].size(), 1u);
  const json& agent = e["agent"][0];
  EXPECT_EQ(agent["who"]["identifier"]["value"], "dr-alice");
  EXPECT_EQ(agent["requestor"], true);
  EXPECT_EQ(agent["role"][0]["coding"][0]["code"], "clinician");
  EXPECT_EQ(agent["network"], (json{{"address", "10.1.2.3"}, {"type", "2"}}));
  EXPECT_EQ(agent["extension"][0], (json{{"url", kTokenIdExtensionUrl}, {"valueString", "jti-7"}}));
  EXPECT_EQ(e["source"]["observer"]["display"], "healthtwin");
  EXPECT_EQ(e["source"]["type"][0]["code"], "4");
  ASSERT_EQ(e["entity"].size(), 1u);
  EXPECT_EQ(e["entity"][0]["what"]["reference"], "Patient/pat-0001");
  EXPECT_EQ(e["entity"][0]["role"]["code"], "1");
  const json& chain = e["extension"][0];
  EXPECT_EQ(chain["url"], kChainExtensionUrl);
  EXPECT_EQ(chain["extension"][0], (json{{"url", "seq"}, {"valueString", "42"}}));
  EXPECT_EQ(chain["extension"][1], (json{{"url", "hash"}, {"valueBase64Binary", "AQL/"}}));
}

TEST(FhirAuditEventTest, ADeniedAccessCarriesItsReason) {
  AuditRecord r = Allowed();
  r.outcome = "denied";
  r.outcome_code = "4";
  r.detail = "not on care team";
  r.agent_token_id.clear();
  const json e = AuditEventFor(r);
  EXPECT_EQ(e["outcome"], "4");
  EXPECT_EQ(e["outcomeDesc"], "not on care team");
  EXPECT_FALSE(e["agent"][0].contains("extension"));
}

TEST(FhirAuditEventTest, ABreakGlassStartIsADicomSecurityAlert) {
  AuditRecord r = Allowed();
  r.event_type = "110113";
  r.action = "110127";
  r.action_code = "E";
  r.purpose_of_use = "ETREAT";
  r.entity_what = "break_glass_grant/7";
  r.detail = "Emergency Override Started: break-glass grant 7, reason ETREAT, for 1h";
  const json e = AuditEventFor(r);
  EXPECT_EQ(e["type"], (json{{"system", kDicomSystem}, {"code", "110113"}, {"display", "Security Alert"}}));
  EXPECT_EQ(e["subtype"][0],
            (json{{"system", kDicomSystem}, {"code", "110127"}, {"display", "Emergency Override Started"}}));
  EXPECT_EQ(e["action"], "E");
  EXPECT_EQ(e["purposeOfEvent"][0]["coding"][0]["code"], "ETREAT");
  ASSERT_EQ(e["entity"].size(), 2u);
  EXPECT_EQ(e["entity"][1]["what"]["identifier"]["value"], "break_glass_grant/7");
  EXPECT_EQ(e["entity"][1]["type"]["code"], "2");
  EXPECT_EQ(e["outcomeDesc"], r.detail);
}

TEST(FhirAuditEventTest, ARelayedAccessNamesThePersonAsTheRequestor) {
  AuditRecord r = Allowed();
  r.actor = "clinician_api";
  r.role = "service";
  r.on_behalf_of = "dr-alice";
  r.peer = "ipv6:[::1]:40000";
  const json e = AuditEventFor(r);
  ASSERT_EQ(e["agent"].size(), 2u);
  EXPECT_EQ(e["agent"][0]["who"]["identifier"]["value"], "clinician_api");
  EXPECT_EQ(e["agent"][0]["requestor"], false);
  EXPECT_EQ(e["agent"][0]["network"], (json{{"address", "::1"}, {"type", "2"}}));
  EXPECT_EQ(e["agent"][1]["who"]["identifier"]["value"], "dr-alice");
  EXPECT_EQ(e["agent"][1]["requestor"], true);
}

TEST(FhirAuditEventTest, NetworkAddressesOfEachPeerForm) {
  AuditRecord r = Allowed();
  r.peer = "ipv6:%5B2001:db8::5%5D:443";
  EXPECT_EQ(AuditEventFor(r)["agent"][0]["network"], (json{{"address", "2001:db8::5"}, {"type", "2"}}));
  r.peer = "https:192.168.0.9:51000";
  EXPECT_EQ(AuditEventFor(r)["agent"][0]["network"], (json{{"address", "192.168.0.9"}, {"type", "2"}}));
  r.peer = "unix:/run/x.sock";  // not an IP: kept as recorded, with no type
  EXPECT_EQ(AuditEventFor(r)["agent"][0]["network"], (json{{"address", "unix:/run/x.sock"}}));
  r.peer.clear();
  EXPECT_FALSE(AuditEventFor(r)["agent"][0].contains("network"));
}

// A feed delivery (services/feeds/disclosure_audit.h): the service is the source, the
// receiver the destination, with its address.
TEST(FhirAuditEventTest, AFeedDeliveryIsAnExportToTheReceiver) {
  AuditRecord r = Allowed();
  r.event_type = "110106";
  r.action = "feed.export";
  r.actor = "feeds";
  r.role = "service";
  r.agent_token_id.clear();
  r.peer = "10.0.0.5:2575";
  r.entity_what = "feed_message/ht-3-a42";
  const json e = AuditEventFor(r);
  EXPECT_EQ(e["type"], (json{{"system", kDicomSystem}, {"code", "110106"}, {"display", "Export"}}));
  ASSERT_EQ(e["agent"].size(), 2u);
  EXPECT_EQ(e["agent"][0]["who"]["identifier"]["value"], "feeds");
  EXPECT_EQ(e["agent"][0]["type"]["coding"][0]["code"], "110153");
  EXPECT_FALSE(e["agent"][0].contains("network"));
  const json& destination = e["agent"][1];
  EXPECT_EQ(destination["type"]["coding"][0]["code"], "110152");
  EXPECT_EQ(destination["requestor"], false);
  EXPECT_EQ(destination["network"], (json{{"address", "10.0.0.5"}, {"type", "2"}}));
  EXPECT_EQ(e["entity"][1]["what"]["identifier"]["value"], "feed_message/ht-3-a42");
  r.peer = "mllp.hospital.example:2575";
  EXPECT_EQ(AuditEventFor(r)["agent"][1]["network"], (json{{"address", "mllp.hospital.example"}, {"type", "1"}}));
  r.peer = "[2001:db8::7]:2575";
  EXPECT_EQ(AuditEventFor(r)["agent"][1]["network"], (json{{"address", "2001:db8::7"}, {"type", "2"}}));
  r.peer = "https://fhir.hospital.example/r4";
  EXPECT_EQ(AuditEventFor(r)["agent"][1]["network"],
            (json{{"address", "https://fhir.hospital.example/r4"}, {"type", "5"}}));
}

TEST(FhirAuditEventTest, ANonDicomEventTypeUsesTheFhirAuditEventTypes) {
  AuditRecord r = Allowed();
  r.event_type = "rest";
  EXPECT_EQ(AuditEventFor(r)["type"], (json{{"system", kAuditEventTypeSystem}, {"code", "rest"}}));
}

TEST(FhirAuditEventTest, TheBundleHoldsOnlyThePatientsRecordsInOrder) {
  AuditRecord a = Allowed();
  AuditRecord other = Allowed();
  other.seq = 43;
  other.patient_id = "pat-0002";
  AuditRecord none = Allowed();
  none.seq = 44;
  none.patient_id.reset();
  AuditRecord b = Allowed();
  b.seq = 45;
  const json bundle = PatientAuditBundle({a, other, none, b}, "pat-0001");
  EXPECT_EQ(bundle["resourceType"], "Bundle");
  EXPECT_EQ(bundle["type"], "collection");
  EXPECT_FALSE(bundle.contains("total"));
  ASSERT_EQ(bundle["entry"].size(), 2u);
  EXPECT_EQ(bundle["entry"][0]["resource"]["id"], "audit-log-42");
  EXPECT_EQ(bundle["entry"][1]["resource"]["id"], "audit-log-45");
  EXPECT_EQ(PatientAuditBundle({none}, "pat-0001"), (json{{"resourceType", "Bundle"}, {"type", "collection"}}));
}

}  // namespace
}  // namespace healthtwin::common::audit
