#include "services/feeds/fhir_feed.h"

#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace healthtwin::feeds {
namespace {

using nlohmann::json;
using Outcome = SendResult::Outcome;

Feed FhirFeed() {
  Feed f;
  f.feed_id = 7;
  f.config.name = "hospital";
  f.config.kind = registry::FeedKind::kFhirRestHook;
  f.config.target = "https://fhir.example:8443/notify";
  f.config.tls = true;
  return f;
}

// Drops Bundle.timestamp (the encoding time) so two encodings compare.
json WithoutTimestamp(const std::string& payload) {
  json b = json::parse(payload);
  b.erase("timestamp");
  return b;
}

TEST(FhirFeedTest, HttpStatusDecidesDeliveredRetryOrDead) {
  EXPECT_EQ(HttpOutcome(200), Outcome::kDelivered);
  EXPECT_EQ(HttpOutcome(201), Outcome::kDelivered);
  EXPECT_EQ(HttpOutcome(204), Outcome::kDelivered);
  EXPECT_EQ(HttpOutcome(408), Outcome::kRetry);
  EXPECT_EQ(HttpOutcome(429), Outcome::kRetry);
  EXPECT_EQ(HttpOutcome(500), Outcome::kRetry);
  EXPECT_EQ(HttpOutcome(503), Outcome::kRetry);
  EXPECT_EQ(HttpOutcome(301), Outcome::kRetry);
  EXPECT_EQ(HttpOutcome(400), Outcome::kPermanent);
  EXPECT_EQ(HttpOutcome(401), Outcome::kPermanent);
  EXPECT_EQ(HttpOutcome(404), Outcome::kPermanent);
  EXPECT_EQ(HttpOutcome(422), Outcome::kPermanent);
}

TEST(FhirFeedTest, VitalsBatchIsOneNotificationWithAnEventPerObservation) {
  const std::vector<VitalRow> rows = {{21, "p1", "AA:BB:CC:DD:EE:FF", 2, 120, "mm[Hg]", 1'700'000'000'000'000},
                                      {22, "p1", "AA:BB:CC:DD:EE:FF", 3, 80, "mm[Hg]", 1'700'000'000'000'000},
                                      {23, "p1", "AA:BB:CC:DD:EE:FF", 1, 70, "/min", 1'700'000'001'000'000},
                                      {24, "p1", "AA:BB:CC:DD:EE:FF", 8, 99, "mg/dL", 1'700'000'001'000'000}};
  FhirEncoder encoder("https://ht.example/fhir/r4");
  EventNumbers numbers{.before = 40};  // the feed's vitals subscription has numbered 40 events
  auto payload = encoder.EncodeVitals(FhirFeed(), rows, "ht-7-v21-24", numbers);
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(numbers.count, 2) << "the BP panel and the heart rate; the glucose has no profile";
  const json b = json::parse(*payload);
  EXPECT_EQ(b["id"], "ht-7-v21-24");
  const json& p = b["entry"][0]["resource"]["parameter"];
  EXPECT_EQ(p[0]["valueReference"]["reference"], "https://ht.example/fhir/r4/Subscription/ht-feed-7-vitals");
  EXPECT_EQ(p[4]["valueString"], "42") << "40 before, two events in this Bundle";
  ASSERT_EQ(p.size(), 7u);
  EXPECT_EQ(p[5]["part"][0]["valueString"], "41");
  EXPECT_EQ(p[5]["part"][2]["valueReference"]["reference"], "https://ht.example/fhir/r4/Observation/ht-bp-21-22");
  EXPECT_EQ(p[6]["part"][0]["valueString"], "42");
  // Status, Patient, Device, BP panel, heart rate.
  ASSERT_EQ(b["entry"].size(), 5u);
  EXPECT_EQ(b["entry"][1]["resource"]["resourceType"], "Patient");
  EXPECT_EQ(b["entry"][2]["resource"]["resourceType"], "Device");
  EXPECT_EQ(b["entry"][3]["resource"]["code"]["coding"][0]["code"], "85354-9");
  EXPECT_EQ(b["entry"][4]["resource"]["code"]["coding"][0]["code"], "8867-4");
  EventNumbers again{.before = 40};
  EXPECT_EQ(WithoutTimestamp(*payload),
            WithoutTimestamp(*encoder.EncodeVitals(FhirFeed(), rows, "ht-7-v21-24", again)));
}

TEST(FhirFeedTest, AlertEventIsOneNotificationNumberedNextOnItsSubscription) {
  AlertEventRow row;
  row.event_seq = 55;
  row.alert_id = "0cc175b9-c0f1-b6a8-31c3-99e269772661";
  row.kind = 4;  // acknowledged
  row.actor = "nurse-nora";
  row.event_at_us = 1'700'000'000'000'000;
  row.patient_id = "p1";
  row.rule_id = "hr_high";
  row.priority = 3;
  row.category = 1;
  row.phase = 1;
  row.summary = "HR high";
  row.peak_value = 141;
  row.ucum_unit = "/min";
  row.covers = "heart_rate";
  EventNumbers numbers{.before = 8};
  auto payload = FhirEncoder("https://ht.example/fhir/r4").EncodeAlertEvent(FhirFeed(), row, "ht-7-a55", numbers);
  ASSERT_TRUE(payload.ok()) << payload.status();
  EXPECT_EQ(numbers.count, 1);
  const json b = json::parse(*payload);
  EXPECT_EQ(b["id"], "ht-7-a55");
  const json& p = b["entry"][0]["resource"]["parameter"];
  EXPECT_EQ(p[0]["valueReference"]["reference"], "https://ht.example/fhir/r4/Subscription/ht-feed-7-alerts");
  EXPECT_EQ(p[4]["valueString"], "9") << "the subscription's ninth event, not the event_seq 55";
  EXPECT_EQ(p[5]["part"][0]["valueString"], "9");
  EXPECT_EQ(p[5]["part"][2]["valueReference"]["reference"], "https://ht.example/fhir/r4/Communication/ht-ack-55");
  std::vector<std::string> types;
  for (const json& e : b["entry"]) types.push_back(e["resource"]["resourceType"]);
  EXPECT_EQ(types, (std::vector<std::string>{"Parameters", "Patient", "Observation", "DetectedIssue",
                                             "CommunicationRequest", "Communication"}));
}

TEST(FhirFeedTest, ATargetThatIsNotHttpsIsRefusedNamingTheField) {
  Feed f = FhirFeed();
  f.config.target = "http://fhir.example/notify";
  auto t = MakeFhirTransport(f, {});
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("feed.target"), std::string::npos);
}

TEST(FhirFeedTest, NobodyListeningIsARetry) {
  Feed f = FhirFeed();
  f.config.target = "https://127.0.0.1:1/notify";  // port 1: nothing listens
  auto t = MakeFhirTransport(f, {});
  ASSERT_TRUE(t.ok()) << t.status();
  const SendResult r = (*t)->Send("{}", "m1");
  EXPECT_EQ(r.outcome, Outcome::kRetry);
  EXPECT_NE(r.error.find("https: "), std::string::npos) << r.error;
  EXPECT_TRUE(r.ack.empty());
}

}  // namespace
}  // namespace healthtwin::feeds
