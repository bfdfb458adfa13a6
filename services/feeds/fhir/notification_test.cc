#include "services/feeds/fhir/notification.h"

#include "gtest/gtest.h"
#include "services/feeds/fhir/ids.h"
#include "services/feeds/fhir/vitals.h"

namespace healthtwin::feeds::fhir {
namespace {

using nlohmann::json;

Notification Two() {
  Notification n;
  n.bundle_id = "ht-3-v10-11";
  n.base_url = "https://ht.example/fhir/r4";
  n.subscription_id = "ht-feed-3-vitals";
  n.topic_url = "urn:healthtwin:topic:vitals";
  n.timestamp_us = 1'700'000'000'000'000;
  n.events = {{10, 1'699'999'999'000'000, "Observation/ht-obs-10"},
              {11, 1'699'999'999'500'000, "Observation/ht-obs-11"}};
  n.events_since_start = 11;
  n.resources = {BuildPatient("p1"), json{{"resourceType", "Observation"}, {"id", "ht-obs-10"}},
                 json{{"resourceType", "Observation"}, {"id", "ht-obs-11"}}, BuildPatient("p1")};
  return n;
}

TEST(FhirNotificationTest, BundleIsABackportHistoryWithTheStatusFirst) {
  const json b = BuildNotificationBundle(Two());
  EXPECT_EQ(b["resourceType"], "Bundle");
  EXPECT_EQ(b["id"], "ht-3-v10-11");
  EXPECT_EQ(b["type"], "history");
  EXPECT_EQ(b["meta"]["profile"][0], kNotificationProfile);
  EXPECT_EQ(b["timestamp"], "2023-11-14T22:13:20.000Z");
  const json& status = b["entry"][0]["resource"];
  EXPECT_EQ(status["resourceType"], "Parameters");
  EXPECT_EQ(status["meta"]["profile"][0], kStatusProfile);
  EXPECT_EQ(b["entry"][0]["fullUrl"], "urn:uuid:" + DerivedUuid("ht-3-v10-11"));
  const json& p = status["parameter"];
  EXPECT_EQ(p[0]["name"], "subscription");
  EXPECT_EQ(p[0]["valueReference"]["reference"], "https://ht.example/fhir/r4/Subscription/ht-feed-3-vitals");
  EXPECT_EQ(p[1]["valueCanonical"], "urn:healthtwin:topic:vitals");
  EXPECT_EQ(p[3]["valueCode"], "event-notification");
  EXPECT_EQ(p[4]["name"], "events-since-subscription-start");
  EXPECT_EQ(p[4]["valueString"], "11");
  ASSERT_EQ(p.size(), 7u);
  EXPECT_EQ(p[5]["name"], "notification-event");
  EXPECT_EQ(p[5]["part"][0]["valueString"], "10");
  EXPECT_EQ(p[6]["part"][0]["valueString"], "11");
  EXPECT_EQ(p[6]["part"][2]["valueReference"]["reference"], "https://ht.example/fhir/r4/Observation/ht-obs-11");
}

TEST(FhirNotificationTest, EntriesAreDeduplicatedAndCarryRequestAndResponse) {
  const json b = BuildNotificationBundle(Two());
  ASSERT_EQ(b["entry"].size(), 4u);  // status, Patient once, two Observations
  EXPECT_EQ(b["entry"][1]["fullUrl"], "https://ht.example/fhir/r4/Patient/p1");
  EXPECT_EQ(b["entry"][1]["request"]["method"], "PUT");
  EXPECT_EQ(b["entry"][1]["request"]["url"], "Patient/p1");
  for (const json& e : b["entry"]) {
    EXPECT_TRUE(e.contains("request"));
    EXPECT_EQ(e["response"]["status"], "200");
  }
}

TEST(FhirNotificationTest, NoEventsIsAHeartbeatThatStillCountsTheSkippedRows) {
  Notification n = Two();
  n.events.clear();
  n.events_since_start = 12;
  const json p = BuildNotificationBundle(n)["entry"][0]["resource"]["parameter"];
  EXPECT_EQ(p[3]["valueCode"], "heartbeat");
  EXPECT_EQ(p[4]["valueString"], "12");
  EXPECT_EQ(p.size(), 5u);
}

TEST(FhirNotificationTest, SameInputSameBytes) {
  EXPECT_EQ(BuildNotificationBundle(Two()).dump(), BuildNotificationBundle(Two()).dump());
}

}  // namespace
}  // namespace healthtwin::feeds::fhir
