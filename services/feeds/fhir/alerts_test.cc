#include "services/feeds/fhir/alerts.h"

#include "gtest/gtest.h"
#include "services/feeds/fhir/ids.h"

namespace healthtwin::feeds::fhir {
namespace {

using alerts::lifecycle::EventKind;
using nlohmann::json;

constexpr char kAlert[] = "0cc175b9-c0f1-b6a8-31c3-99e269772661";

AlertEvent Event(EventKind kind = EventKind::kRaised, int priority = 3) {
  AlertEvent e;
  e.event_seq = 41;
  e.alert_id = kAlert;
  e.kind = kind;
  e.actor = kind == EventKind::kAcknowledged ? "nurse-nora" : "system";
  e.event_at_us = 1'700'000'000'000'000;
  e.patient_id = "p1";
  e.rule_id = "hr_high";
  e.priority = priority;
  e.summary = "HR 141 /min for 60 s";
  e.peak_value = 141;
  e.ucum_unit = "/min";
  e.covers = "heart_rate";
  return e;
}

const json* Find(const AlertResources& r, const std::string& type) {
  for (const json& x : r.resources) {
    if (x["resourceType"] == type) return &x;
  }
  return nullptr;
}

TEST(FhirAlertsTest, PrioritiesMapToRequestPriorityAndIssueSeverity) {
  EXPECT_EQ(RequestPriority(3), "stat");
  EXPECT_EQ(RequestPriority(2), "urgent");
  EXPECT_EQ(RequestPriority(1), "routine");
  EXPECT_EQ(IssueSeverity(3), "high");
  EXPECT_EQ(IssueSeverity(2), "moderate");
  EXPECT_EQ(IssueSeverity(1), "low");
}

TEST(FhirAlertsTest, StatusIsCompletedOnlyOnceResolved) {
  EXPECT_EQ(RequestStatus(Event(EventKind::kRaised)), "active");
  AlertEvent ended = Event(EventKind::kEnded);
  ended.phase = 2;
  EXPECT_EQ(RequestStatus(ended), "active");
  EXPECT_EQ(RequestStatus(Event(EventKind::kResolved)), "completed");
  AlertEvent later = Event(EventKind::kUpdated);
  later.phase = 3;
  EXPECT_EQ(RequestStatus(later), "completed");
  later.kind = EventKind::kReopened;
  EXPECT_EQ(RequestStatus(later), "active");
}

TEST(FhirAlertsTest, RaisedAlertIsACommunicationRequestAboutADetectedIssueAndItsEvidence) {
  const AlertResources r = BuildAlertResources(Event(EventKind::kRaised, 2));
  ASSERT_EQ(r.resources.size(), 4u);
  EXPECT_EQ(r.resources[0]["resourceType"], "Patient");
  const json* obs = Find(r, "Observation");
  ASSERT_NE(obs, nullptr);
  EXPECT_EQ(obs->at("id"), AlertTriggerObservationId(kAlert));
  EXPECT_EQ(obs->at("code")["coding"][0]["code"], "8867-4");
  EXPECT_EQ(obs->at("valueQuantity")["value"], 141.0);
  EXPECT_FALSE(obs->contains("device"));

  const json* issue = Find(r, "DetectedIssue");
  ASSERT_NE(issue, nullptr);
  EXPECT_EQ(issue->at("id"), std::string("ht-di-") + kAlert);
  EXPECT_EQ(issue->at("severity"), "moderate");
  EXPECT_EQ(issue->at("patient")["reference"], "Patient/p1");
  EXPECT_EQ(issue->at("evidence")[0]["detail"][0]["reference"], "Observation/" + AlertTriggerObservationId(kAlert));

  const json* cr = Find(r, "CommunicationRequest");
  ASSERT_NE(cr, nullptr);
  EXPECT_EQ(cr->at("id"), std::string("ht-cr-") + kAlert);
  EXPECT_EQ(cr->at("status"), "active");
  EXPECT_EQ(cr->at("priority"), "urgent");
  EXPECT_EQ(cr->at("category")[0]["coding"][0]["code"], "alert");
  EXPECT_EQ(cr->at("payload")[0]["contentString"], "HR 141 /min for 60 s");
  EXPECT_EQ(cr->at("reasonCode")[0]["coding"][0]["code"], "hr_high");
  EXPECT_EQ(cr->at("identifier")[0]["value"], kAlert);
  ASSERT_EQ(cr->at("about").size(), 2u);
  EXPECT_EQ(cr->at("about")[0]["reference"], "Observation/" + AlertTriggerObservationId(kAlert));
  EXPECT_EQ(cr->at("about")[1]["reference"], std::string("DetectedIssue/ht-di-") + kAlert);
  EXPECT_EQ(r.focus, std::string("CommunicationRequest/ht-cr-") + kAlert);
  EXPECT_EQ(Find(r, "Communication"), nullptr);
}

TEST(FhirAlertsTest, AnAcknowledgementAddsACommunicationBasedOnTheRequest) {
  const AlertResources r = BuildAlertResources(Event(EventKind::kAcknowledged));
  const json* ack = Find(r, "Communication");
  ASSERT_NE(ack, nullptr);
  EXPECT_EQ(ack->at("id"), "ht-ack-41");
  EXPECT_EQ(ack->at("status"), "completed");
  EXPECT_EQ(ack->at("basedOn")[0]["reference"], std::string("CommunicationRequest/ht-cr-") + kAlert);
  EXPECT_EQ(ack->at("sender")["identifier"]["value"], "nurse-nora");
  EXPECT_EQ(r.focus, "Communication/ht-ack-41");
}

TEST(FhirAlertsTest, ARuleWithoutAVitalSignsProfileHasNoEvidenceObservation) {
  AlertEvent e = Event();
  e.covers = "news2";
  e.ucum_unit = "{score}";
  const AlertResources r = BuildAlertResources(e);
  EXPECT_EQ(Find(r, "Observation"), nullptr);
  EXPECT_FALSE(Find(r, "DetectedIssue")->contains("evidence"));
  EXPECT_EQ(Find(r, "CommunicationRequest")->at("about").size(), 1u);
}

TEST(FhirAlertsTest, EveryTransitionOfAnAlertKeepsItsResourceIds) {
  const AlertResources a = BuildAlertResources(Event(EventKind::kRaised));
  const AlertResources b = BuildAlertResources(Event(EventKind::kResolved));
  EXPECT_EQ(Find(a, "CommunicationRequest")->at("id"), Find(b, "CommunicationRequest")->at("id"));
  EXPECT_EQ(Find(a, "DetectedIssue")->at("id"), Find(b, "DetectedIssue")->at("id"));
  EXPECT_EQ(Find(b, "CommunicationRequest")->at("status"), "completed");
}

}  // namespace
}  // namespace healthtwin::feeds::fhir
