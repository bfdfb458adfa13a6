#include "services/feeds/fhir/notification.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "services/feeds/fhir/ids.h"

namespace healthtwin::feeds::fhir {

using nlohmann::json;

json BuildNotificationBundle(Notification n) {
  const std::string subscription_url = absl::StrCat(n.base_url, "/Subscription/", n.subscription_id);
  const int64_t since_start =
      n.events.empty() ? n.events_since_start : std::max(n.events_since_start, n.events.back().event_number);
  json parameters = json::array({
      json{{"name", "subscription"}, {"valueReference", {{"reference", subscription_url}}}},
      json{{"name", "topic"}, {"valueCanonical", n.topic_url}},
      json{{"name", "status"}, {"valueCode", "active"}},
      json{{"name", "type"}, {"valueCode", n.events.empty() ? "heartbeat" : "event-notification"}},
      json{{"name", "events-since-subscription-start"}, {"valueString", absl::StrCat(since_start)}},
  });
  for (const NotificationEvent& e : n.events) {
    parameters.push_back(
        {{"name", "notification-event"},
         {"part", json::array({json{{"name", "event-number"}, {"valueString", absl::StrCat(e.event_number)}},
                               json{{"name", "timestamp"}, {"valueInstant", FhirInstant(e.timestamp_us)}},
                               json{{"name", "focus"},
                                    {"valueReference", {{"reference", absl::StrCat(n.base_url, "/", e.focus)}}}}})}});
  }
  json entries = json::array();
  // History entries carry request and response (R4 Bundle invariants bdl-3 and bdl-4).
  entries.push_back({{"fullUrl", absl::StrCat("urn:uuid:", DerivedUuid(n.bundle_id))},
                     {"resource",
                      {{"resourceType", "Parameters"},
                       {"meta", {{"profile", json::array({kStatusProfile})}}},
                       {"parameter", std::move(parameters)}}},
                     {"request", {{"method", "GET"}, {"url", absl::StrCat(subscription_url, "/$status")}}},
                     {"response", {{"status", "200"}}}});
  std::set<std::string> seen;
  for (json& r : n.resources) {
    const std::string local = absl::StrCat(r.at("resourceType").get<std::string>(), "/", r.at("id").get<std::string>());
    if (!seen.insert(local).second) continue;
    // Built field by field: an initializer list would copy the resource.
    json entry = json::object();
    entry["fullUrl"] = absl::StrCat(n.base_url, "/", local);
    entry["resource"] = std::move(r);
    entry["request"] = {{"method", "PUT"}, {"url", local}};
    entry["response"] = {{"status", "200"}};
    entries.push_back(std::move(entry));
  }
  return {{"resourceType", "Bundle"},
          {"id", n.bundle_id},
          {"meta", {{"profile", json::array({kNotificationProfile})}}},
          {"type", "history"},
          {"timestamp", FhirInstant(n.timestamp_us)},
          {"entry", std::move(entries)}};
}

}  // namespace healthtwin::feeds::fhir
