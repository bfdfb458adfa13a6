#include "services/registry/feed_proto.h"

namespace healthtwin::registry {

namespace v1 = healthtwin::registry::v1;
namespace alerts_v1 = healthtwin::alerts::v1;

absl::StatusOr<FeedConfig> FeedConfigFromProto(const v1::Feed& p) {
  FeedConfig c;
  c.name = p.name();
  switch (p.kind()) {
    case v1::FEED_KIND_HL7V2_MLLP:
      c.kind = FeedKind::kHl7v2Mllp;
      break;
    case v1::FEED_KIND_FHIR_REST_HOOK:
      c.kind = FeedKind::kFhirRestHook;
      break;
    default:
      return absl::InvalidArgumentError("feed.kind: expected hl7v2-mllp or fhir-rest-hook");
  }
  c.target = p.target();
  c.tls = p.tls().enabled();
  c.tls_ca_pem = p.tls().ca_pem();
  c.tls_client_cert = p.tls().client_certificate();
  for (int content : p.content()) {
    bool* flag = content == v1::FEED_CONTENT_ALERTS   ? &c.send_alerts
                 : content == v1::FEED_CONTENT_VITALS ? &c.send_vitals
                                                      : nullptr;
    if (flag == nullptr) return absl::InvalidArgumentError("feed.content: expected alerts or vitals");
    if (*flag) return absl::InvalidArgumentError("feed.content: each of alerts and vitals at most once");
    *flag = true;
  }
  const int priority = p.min_priority();
  if (priority != alerts_v1::PRIORITY_UNSPECIFIED &&
      (!alerts_v1::Priority_IsValid(priority) || priority < alerts_v1::PRIORITY_LOW)) {
    return absl::InvalidArgumentError("feed.min_priority: expected low, medium or high");
  }
  c.min_priority = priority == alerts_v1::PRIORITY_UNSPECIFIED ? alerts_v1::PRIORITY_LOW : priority;
  c.patient_ids.assign(p.patient_ids().begin(), p.patient_ids().end());
  c.care_team_of = p.care_team_of();
  if (!p.sending_application().empty()) c.sending_application = p.sending_application();
  c.sending_facility = p.sending_facility();
  c.receiving_application = p.receiving_application();
  c.receiving_facility = p.receiving_facility();
  return c;
}

void FeedConfigToProto(const FeedConfig& c, v1::Feed* p) {
  p->set_name(c.name);
  p->set_kind(c.kind == FeedKind::kHl7v2Mllp ? v1::FEED_KIND_HL7V2_MLLP : v1::FEED_KIND_FHIR_REST_HOOK);
  p->set_target(c.target);
  p->mutable_tls()->set_enabled(c.tls);
  p->mutable_tls()->set_ca_pem(c.tls_ca_pem);
  p->mutable_tls()->set_client_certificate(c.tls_client_cert);
  if (c.send_alerts) p->add_content(v1::FEED_CONTENT_ALERTS);
  if (c.send_vitals) p->add_content(v1::FEED_CONTENT_VITALS);
  for (const auto& id : c.patient_ids) p->add_patient_ids(id);
  p->set_care_team_of(c.care_team_of);
  p->set_min_priority(static_cast<alerts_v1::Priority>(c.min_priority));
  p->set_sending_application(c.sending_application);
  p->set_sending_facility(c.sending_facility);
  p->set_receiving_application(c.receiving_application);
  p->set_receiving_facility(c.receiving_facility);
}

}  // namespace healthtwin::registry
