// The rest-hook payload: an R4 "subscription-notification" Bundle of the Subscriptions R5
// Backport IG (hl7.fhir.uv.subscriptions-backport 1.1.0, profile
// backport-subscription-notification-r4: http://hl7.org/fhir/uv/subscriptions-backport/
// StructureDefinition-backport-subscription-notification-r4.html). In R4 it is a Bundle of
// type "history" whose first entry is the subscription status, a Parameters resource (profile
// backport-subscription-status-r4) with subscription, topic, status, type,
// events-since-subscription-start and one notification-event (event-number, timestamp, focus)
// per event; the focus resources and what they reference follow. Event numbers are strings
// (R4 has no 64-bit integer). Pure, thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace healthtwin::feeds::fhir {

struct NotificationEvent {
  int64_t event_number = 0;
  int64_t timestamp_us = 0;
  std::string focus;  // "Type/id", one of the bundle's resources
};

struct Notification {
  std::string bundle_id;  // the outbox message id: a resend carries the same Bundle id
  // Our FHIR base (the clinician API's /fhir/r4): entries' fullUrl is base + "/Type/id".
  std::string base_url;
  std::string subscription_id;
  std::string topic_url;
  int64_t timestamp_us = 0;
  // Ascending. None: a "heartbeat" notification (every row of the message was skipped).
  std::vector<NotificationEvent> events;
  // events-since-subscription-start: the events the subscription has numbered up to and
  // including this message (the feed's counter, migration 0018; at least the last event's
  // number).
  int64_t events_since_start = 0;
  // Resources in order; a second resource with the same type and id is left out.
  std::vector<nlohmann::json> resources;
};

inline constexpr char kNotificationProfile[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-notification-r4";
inline constexpr char kStatusProfile[] =
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4";

// Takes the notification by value: its resources are moved into the entries.
nlohmann::json BuildNotificationBundle(Notification n);

}  // namespace healthtwin::feeds::fhir
