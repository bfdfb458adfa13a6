#include "services/common/audit/fhir_audit_event.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <string_view>

#include "absl/strings/escaping.h"
#include "services/feeds/fhir/ids.h"

namespace healthtwin::common::audit {
namespace {

using nlohmann::json;

bool IsDicomCode(std::string_view code) {
  return !code.empty() && std::all_of(code.begin(), code.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// DICOM PS3.16 displays of the codes our writers use (CID 400 event ids and the break-glass
// subtypes); others go without a display.
std::optional<std::string> DicomDisplay(std::string_view code) {
  static constexpr std::pair<std::string_view, std::string_view> kDisplays[] = {
      {"110100", "Application Activity"},
      {"110106", "Export"},
      {"110101", "Audit Log Used"},
      {"110110", "Patient Record"},
      {"110112", "Query"},
      {"110113", "Security Alert"},
      {"110114", "User Authentication"},
      {"110127", "Emergency Override Started"},
      {"110138", "Emergency Override Stopped"},
      {"110152", "Destination Role ID"},
      {"110153", "Source Role ID"},
  };
  for (const auto& [c, display] : kDisplays) {
    if (c == code) return std::string(display);
  }
  return std::nullopt;
}

json Coding(std::string_view system, std::string_view code) {
  json coding = {{"system", system}, {"code", code}};
  if (system == kDicomSystem) {
    if (auto display = DicomDisplay(code)) coding["display"] = *display;
  }
  return coding;
}

bool IsIpLiteral(const std::string& address) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, address.c_str(), buf) == 1 || inet_pton(AF_INET6, address.c_str(), buf) == 1;
}

// The IP address in a recorded peer: gRPC's "ipv4:A:PORT", "ipv6:[A]:PORT" (or %5B..%5D), or
// the HTTPS listener's "https:A:PORT". nullopt when what is left is not an IP literal.
std::optional<std::string> PeerIp(std::string_view peer) {
  const auto colon = peer.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view rest = peer.substr(colon + 1);
  std::string address;
  if (rest.starts_with("[") || rest.starts_with("%5B")) {
    const bool encoded = rest[0] == '%';
    const auto end = rest.find(encoded ? "%5D" : "]");
    if (end == std::string_view::npos) return std::nullopt;
    address = std::string(rest.substr(encoded ? 3 : 1, end - (encoded ? 3 : 1)));
  } else {
    const auto port = rest.rfind(':');
    address = std::string(port == std::string_view::npos ? rest : rest.substr(0, port));
  }
  if (IsIpLiteral(address)) return address;
  return std::nullopt;
}

json Who(const std::string& actor) { return {{"identifier", {{"system", "urn:healthtwin:actor"}, {"value", actor}}}}; }

json Agent(const AuditRecord& r) {
  json agent = {{"who", Who(r.actor)}, {"requestor", r.on_behalf_of.empty()}};
  if (!r.role.empty()) {
    agent["role"] = json::array({{{"coding", json::array({Coding("urn:healthtwin:role", r.role)})}, {"text", r.role}}});
  }
  if (!r.peer.empty()) {
    const auto ip = PeerIp(r.peer);
    agent["network"] = ip ? json{{"address", *ip}, {"type", "2"}} : json{{"address", r.peer}};
  }
  if (!r.agent_token_id.empty()) {
    agent["extension"] = json::array({{{"url", kTokenIdExtensionUrl}, {"valueString", r.agent_token_id}}});
  }
  return agent;
}

// An export's receiver (the feeds' records, services/feeds/disclosure_audit.h): its recorded
// address is an https:// URL (network type 5, URI) or host:port (1, machine name; 2, IP).
json Destination(const std::string& peer) {
  json network;
  if (peer.rfind("https://", 0) == 0) {
    network = {{"address", peer}, {"type", "5"}};
  } else {
    std::string host = peer.substr(0, peer.rfind(':'));
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    network = {{"address", host}, {"type", IsIpLiteral(host) ? "2" : "1"}};
  }
  return {{"type", {{"coding", json::array({Coding(kDicomSystem, "110152")})}}},
          {"who", {{"display", peer}}},
          {"requestor", false},
          {"network", std::move(network)}};
}

json Entities(const AuditRecord& r) {
  json entities = json::array();
  if (r.patient_id) {
    entities.push_back(
        {{"what", {{"reference", "Patient/" + *r.patient_id}}},
         {"type",
          {{"system", "http://terminology.hl7.org/CodeSystem/audit-entity-type"},
           {"code", "1"},
           {"display", "Person"}}},
         {"role",
          {{"system", "http://terminology.hl7.org/CodeSystem/object-role"}, {"code", "1"}, {"display", "Patient"}}}});
  }
  if (!r.entity_what.empty()) {
    entities.push_back({{"what", {{"identifier", {{"system", "urn:healthtwin:entity"}, {"value", r.entity_what}}}}},
                        {"type",
                         {{"system", "http://terminology.hl7.org/CodeSystem/audit-entity-type"},
                          {"code", "2"},
                          {"display", "System Object"}}}});
  }
  return entities;
}

}  // namespace

json AuditEventFor(const AuditRecord& r) {
  json event = {
      {"resourceType", "AuditEvent"},
      {"id", "audit-log-" + std::to_string(r.seq)},
      {"extension",
       json::array(
           {{{"url", kChainExtensionUrl},
             {"extension", json::array({{{"url", "seq"}, {"valueString", std::to_string(r.seq)}},
                                        {{"url", "hash"}, {"valueBase64Binary", absl::Base64Escape(r.hash)}}})}}})},
      {"type", Coding(IsDicomCode(r.event_type) ? kDicomSystem : kAuditEventTypeSystem, r.event_type)},
      {"subtype", json::array({Coding(IsDicomCode(r.action) ? kDicomSystem : kActionSystem, r.action)})},
      {"action", r.action_code},
      {"recorded", feeds::fhir::FhirInstant(r.recorded_unix_us)},
      {"outcome", r.outcome_code},
  };
  if (!r.detail.empty()) event["outcomeDesc"] = r.detail;
  if (!r.purpose_of_use.empty()) {
    event["purposeOfEvent"] = json::array({{{"coding", json::array({Coding(kActReasonSystem, r.purpose_of_use)})}}});
  }
  json agents = json::array({Agent(r)});
  if (r.event_type == "110106" && !r.peer.empty()) {
    // An export: the peer is where the data went, not where the agent called from.
    agents[0].erase("network");
    agents[0]["type"] = {{"coding", json::array({Coding(kDicomSystem, "110153")})}};
    agents.push_back(Destination(r.peer));
  }
  if (!r.on_behalf_of.empty()) {
    agents.push_back({{"who", Who(r.on_behalf_of)}, {"requestor", true}});
  }
  event["agent"] = std::move(agents);
  event["source"] = {{"site", "healthtwin"},
                     {"observer", {{"display", "healthtwin"}}},
                     {"type", json::array({{{"system", "http://terminology.hl7.org/CodeSystem/security-source-type"},
                                            {"code", "4"},
                                            {"display", "Application Server"}}})}};
  if (json entities = Entities(r); !entities.empty()) event["entity"] = std::move(entities);
  return event;
}

json PatientAuditBundle(const std::vector<AuditRecord>& records, const std::string& patient_id) {
  json entries = json::array();
  for (const AuditRecord& r : records) {
    if (r.patient_id == patient_id) entries.push_back({{"resource", AuditEventFor(r)}});
  }
  // No "total": R4 allows it only in searchset and history Bundles (bdl-1). No empty "entry"
  // either: FHIR JSON has no empty arrays.
  json bundle = {{"resourceType", "Bundle"}, {"type", "collection"}};
  if (!entries.empty()) bundle["entry"] = std::move(entries);
  return bundle;
}

}  // namespace healthtwin::common::audit
