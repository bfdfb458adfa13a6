// Every transition of the alarm lifecycle, with the time passed in.
#include "services/alerts/lifecycle/lifecycle.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace healthtwin::alerts::lifecycle {
namespace {

constexpr int64_t kS = 1'000'000;
constexpr int64_t kT0 = 1'700'000'000 * kS;  // wall clock at the start of each test

Observation Hr(bool active, int64_t started_s, int64_t observed_s, double peak = 130,
               Priority priority = Priority::kHigh) {
  Observation o;
  o.patient_id = "pat-1";
  o.rule_id = "hr_high";
  o.priority = priority;
  o.active = active;
  o.condition_started_us = kT0 + started_s * kS;
  o.condition_ended_us = active ? 0 : kT0 + observed_s * kS;
  o.observed_us = kT0 + observed_s * kS;
  o.peak_value = peak;
  o.ucum_unit = "/min";
  o.duration_s = static_cast<double>(observed_s - started_s);
  o.summary = "Heart rate high";
  o.covers = {"heart_rate"};
  return o;
}

std::vector<EventKind> Kinds(const std::vector<Event>& events) {
  std::vector<EventKind> out;
  for (const auto& e : events) out.push_back(e.kind);
  return out;
}

// Raises an alert from `obs` at kT0 and gives it an id, as the store would.
Alert Raised(const Observation& obs, const Config& cfg = {}) {
  auto t = ApplyObservation(obs, nullptr, cfg, kT0);
  EXPECT_TRUE(t.ok()) << t.status();
  t->alert.alert_id = "alert-" + obs.rule_id;
  return t->alert;
}

TEST(LifecycleTest, AnActiveObservationRaisesAnAlertWithItsEvidenceAndTimer) {
  auto t = ApplyObservation(Hr(true, 0, 60), nullptr, Config{}, kT0 + 61 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->is_new);
  EXPECT_EQ(Kinds(t->events), std::vector{EventKind::kRaised});
  EXPECT_EQ(t->events[0].actor, "system");
  EXPECT_EQ(nlohmann::json::parse(t->events[0].detail_json).at("priority"), 3);
  EXPECT_EQ(t->alert.phase, Phase::kActive);
  EXPECT_TRUE(t->alert.latched);  // HIGH latches
  EXPECT_EQ(t->alert.tier, 1);
  EXPECT_EQ(t->alert.next_escalation_us, kT0 + 61 * kS + Config{}.escalate_high_us);
  EXPECT_EQ(t->alert.peak_value, 130);
  EXPECT_EQ(LegacyState(t->alert), 1);
}

TEST(LifecycleTest, AMediumAlertDoesNotLatchAndGetsTheMediumTimer) {
  auto t = ApplyObservation(Hr(true, 0, 60, 130, Priority::kMedium), nullptr, Config{}, kT0);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->alert.latched);
  EXPECT_EQ(t->alert.next_escalation_us, kT0 + 10 * kMinuteUs);
}

TEST(LifecycleTest, AnInactiveObservationWithoutEpisodeRaisesNothing) {
  Observation o = Hr(false, 0, 60);
  o.condition_started_us = 0;
  auto t = ApplyObservation(o, nullptr, Config{}, kT0);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->events.empty());
  EXPECT_FALSE(t->is_new);
}

TEST(LifecycleTest, AnObservationWithoutPatientIsRejectedNamingTheField) {
  Observation o = Hr(true, 0, 60);
  o.patient_id.clear();
  auto t = ApplyObservation(o, nullptr, Config{}, kT0);
  ASSERT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("patient_id"), std::string::npos);
}

TEST(LifecycleTest, RepeatingTheSameObservationChangesNothing) {
  Alert a = Raised(Hr(true, 0, 60));
  auto t = ApplyObservation(Hr(true, 0, 60), &a, Config{}, kT0 + kS);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->is_new);
  EXPECT_TRUE(t->events.empty());
}

TEST(LifecycleTest, AnOlderObservationIsIgnored) {
  Alert a = Raised(Hr(true, 0, 60));
  auto t = ApplyObservation(Hr(false, 0, 30), &a, Config{}, kT0 + kS);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->events.empty());
  EXPECT_EQ(t->alert.phase, Phase::kActive);
}

TEST(LifecycleTest, AContinuingConditionKeepsDurationCurrentWithoutAnEvent) {
  Alert a = Raised(Hr(true, 0, 60));
  auto t = ApplyObservation(Hr(true, 0, 90), &a, Config{}, kT0 + kS);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->events.empty());
  EXPECT_EQ(t->alert.duration_s, 90);
  EXPECT_EQ(t->alert.last_observed_us, kT0 + 90 * kS);
}

TEST(LifecycleTest, AWorseningConditionIsAnUpdatedEvent) {
  Alert a = Raised(Hr(true, 0, 60, 130, Priority::kMedium));
  auto t = ApplyObservation(Hr(true, 0, 90, 150, Priority::kHigh), &a, Config{}, kT0 + 30 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Kinds(t->events), std::vector{EventKind::kUpdated});
  auto detail = nlohmann::json::parse(t->events[0].detail_json);
  EXPECT_EQ(detail.at("priority_from"), 2);
  EXPECT_EQ(detail.at("priority_to"), 3);
  EXPECT_EQ(t->alert.peak_value, 150);
  EXPECT_TRUE(t->alert.latched);  // it became HIGH
  // The HIGH timer (2 min from now) is sooner than the MEDIUM one armed at the raise.
  EXPECT_EQ(t->alert.next_escalation_us, kT0 + 30 * kS + 2 * kMinuteUs);
}

TEST(LifecycleTest, ANonLatchedAlertResolvesWhenItsConditionEnds) {
  Alert a = Raised(Hr(true, 0, 60, 130, Priority::kMedium));
  auto t = ApplyObservation(Hr(false, 0, 120, 130, Priority::kMedium), &a, Config{}, kT0 + 120 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Kinds(t->events), (std::vector{EventKind::kEnded, EventKind::kResolved}));
  EXPECT_EQ(t->alert.phase, Phase::kResolved);
  EXPECT_EQ(t->alert.condition_ended_us, kT0 + 120 * kS);
  EXPECT_EQ(t->alert.next_escalation_us, 0);
  EXPECT_EQ(LegacyState(t->alert), 4);
}

TEST(LifecycleTest, AHighAlertLatchesAfterItsConditionEndsUntilAcknowledged) {
  Alert a = Raised(Hr(true, 0, 60));
  auto t = ApplyObservation(Hr(false, 0, 120), &a, Config{}, kT0 + 120 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Kinds(t->events), std::vector{EventKind::kEnded});
  EXPECT_EQ(t->alert.phase, Phase::kEnded);
  EXPECT_EQ(LegacyState(t->alert), 5);
  EXPECT_NE(t->alert.next_escalation_us, 0);  // still unacknowledged: still escalates
  auto acked = Acknowledge(t->alert, "nurse-1", "seen", kT0 + 130 * kS);
  EXPECT_EQ(Kinds(acked), (std::vector{EventKind::kAcknowledged, EventKind::kResolved}));
  EXPECT_EQ(t->alert.phase, Phase::kResolved);
}

TEST(LifecycleTest, AHighAlertAcknowledgedWhileActiveResolvesWhenItEnds) {
  Alert a = Raised(Hr(true, 0, 60));
  Acknowledge(a, "nurse-1", "", kT0 + kS);
  auto t = ApplyObservation(Hr(false, 0, 120), &a, Config{}, kT0 + 120 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Kinds(t->events), (std::vector{EventKind::kEnded, EventKind::kResolved}));
}

TEST(LifecycleTest, AnEpisodeSeenOnlyAfterItEndedIsRaisedAndEndedAtOnce) {
  auto t = ApplyObservation(Hr(false, 0, 120), nullptr, Config{}, kT0 + 300 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(Kinds(t->events), (std::vector{EventKind::kRaised, EventKind::kEnded}));
  EXPECT_EQ(t->alert.phase, Phase::kEnded);
}

TEST(LifecycleTest, AConfiguredLatchingRuleLatchesAtLowPriority) {
  Config cfg;
  cfg.latching_rules = {"hr_high"};
  auto t = ApplyObservation(Hr(false, 0, 0, 1, Priority::kLow), nullptr, cfg, kT0);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->alert.latched);
  EXPECT_EQ(t->alert.phase, Phase::kEnded);
}

TEST(LifecycleTest, AReTriggerWithinTheWindowReopensTheSameAlert) {
  Alert a = Raised(Hr(true, 0, 60, 130, Priority::kMedium));
  a = ApplyObservation(Hr(false, 0, 120, 130, Priority::kMedium), &a, Config{}, kT0 + 120 * kS)->alert;
  ASSERT_EQ(a.phase, Phase::kResolved);
  auto t = ApplyObservation(Hr(true, 300, 360, 140, Priority::kMedium), &a, Config{}, kT0 + 360 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->is_new);
  EXPECT_EQ(Kinds(t->events), (std::vector{EventKind::kReopened, EventKind::kUpdated}));
  EXPECT_EQ(nlohmann::json::parse(t->events[0].detail_json).at("gap_s"), 180.0);
  EXPECT_EQ(t->alert.phase, Phase::kActive);
  EXPECT_EQ(t->alert.condition_ended_us, 0);
  EXPECT_EQ(t->alert.condition_started_us, kT0);  // the episode keeps its identity
  EXPECT_EQ(t->alert.next_escalation_us, kT0 + 360 * kS + 10 * kMinuteUs);
}

TEST(LifecycleTest, AReTriggerAfterTheWindowRaisesANewAlert) {
  Alert a = Raised(Hr(true, 0, 60, 130, Priority::kMedium));
  a = ApplyObservation(Hr(false, 0, 120, 130, Priority::kMedium), &a, Config{}, kT0 + 120 * kS)->alert;
  auto t = ApplyObservation(Hr(true, 120 + 601, 800, 140, Priority::kMedium), &a, Config{}, kT0 + 800 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->is_new);
  EXPECT_EQ(Kinds(t->events), std::vector{EventKind::kRaised});
}

TEST(LifecycleTest, TheSameEndedEpisodeAgainChangesNothing) {
  Alert a = Raised(Hr(true, 0, 60));
  a = ApplyObservation(Hr(false, 0, 120), &a, Config{}, kT0 + 120 * kS)->alert;
  auto t = ApplyObservation(Hr(false, 0, 120), &a, Config{}, kT0 + 200 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->events.empty());
}

TEST(LifecycleTest, AnActiveVerdictNoNewerThanTheEndDoesNotReopen) {
  Alert a = Raised(Hr(true, 0, 60));
  a = ApplyObservation(Hr(false, 0, 90), &a, Config{}, kT0 + 100 * kS)->alert;
  // The same run re-evaluated without the reading that ended it: active, observed at its last
  // high reading, which is where the end was recorded.
  Observation again = Hr(true, 0, 90);
  auto t = ApplyObservation(again, &a, Config{}, kT0 + 200 * kS);
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->events.empty());
  EXPECT_EQ(t->alert.phase, Phase::kEnded);
  // Newer data showing the condition again does reopen it.
  again.observed_us += 30 * kS;
  EXPECT_EQ(Kinds(ApplyObservation(again, &a, Config{}, kT0 + 200 * kS)->events).front(), EventKind::kReopened);
}

TEST(LifecycleTest, AcknowledgementIsPerRecipientAndStopsEscalation) {
  Alert a = Raised(Hr(true, 0, 60));
  auto first = Acknowledge(a, "nurse-1", "on my way", kT0 + kS);
  EXPECT_EQ(Kinds(first), std::vector{EventKind::kAcknowledged});
  EXPECT_EQ(first[0].actor, "nurse-1");
  EXPECT_EQ(first[0].reason, "on my way");
  EXPECT_EQ(a.phase, Phase::kActive);  // the condition is not cleared
  EXPECT_EQ(a.next_escalation_us, 0);
  EXPECT_TRUE(Acknowledge(a, "nurse-1", "again", kT0 + 2 * kS).empty());
  EXPECT_EQ(Kinds(Acknowledge(a, "dr-2", "", kT0 + 3 * kS)), std::vector{EventKind::kAcknowledged});
  EXPECT_EQ(a.acknowledged_by.size(), 2u);
  EXPECT_EQ(LegacyState(a), 2);
}

TEST(LifecycleTest, EscalationMovesToTheNextTierWhenDueAndStaysAtTheLast) {
  Alert a = Raised(Hr(true, 0, 60));
  const std::vector<int> tiers = {1, 3, 2};
  EXPECT_TRUE(Tick(a, tiers, Config{}, kT0 + 119 * kS).empty());
  auto first = Tick(a, tiers, Config{}, kT0 + 120 * kS);
  EXPECT_EQ(Kinds(first), std::vector{EventKind::kEscalated});
  EXPECT_EQ(first[0].tier, 2);
  EXPECT_EQ(a.tier, 2);
  EXPECT_EQ(LegacyState(a), 3);
  EXPECT_EQ(a.next_escalation_us, kT0 + 240 * kS);
  EXPECT_EQ(Kinds(Tick(a, tiers, Config{}, kT0 + 240 * kS)), std::vector{EventKind::kEscalated});
  EXPECT_EQ(a.tier, 3);
  EXPECT_EQ(a.next_escalation_us, 0);  // the last tier keeps it
  EXPECT_TRUE(Tick(a, tiers, Config{}, kT0 + 3600 * kS).empty());
}

TEST(LifecycleTest, EscalationSkipsMissingTiers) {
  Alert a = Raised(Hr(true, 0, 60));
  Tick(a, {1, 3}, Config{}, kT0 + 120 * kS);
  EXPECT_EQ(a.tier, 3);
}

TEST(LifecycleTest, AnAcknowledgedAlertDoesNotEscalate) {
  Alert a = Raised(Hr(true, 0, 60));
  Acknowledge(a, "nurse-1", "", kT0 + kS);
  EXPECT_TRUE(Tick(a, {1, 2}, Config{}, kT0 + 600 * kS).empty());
  EXPECT_EQ(a.tier, 1);
}

TEST(LifecycleTest, ShelvingIsLimitedDisclosedAndExpires) {
  Alert a = Raised(Hr(true, 0, 60));
  auto too_long = Shelve(a, "nurse-1", 61 * kMinuteUs, "procedure", Config{}, kT0);
  ASSERT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_long.status().message().find("duration"), std::string::npos);
  EXPECT_EQ(Shelve(a, "nurse-1", 10 * kMinuteUs, "", Config{}, kT0).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto shelved = Shelve(a, "nurse-1", 10 * kMinuteUs, "dressing change", Config{}, kT0);
  ASSERT_TRUE(shelved.ok());
  EXPECT_EQ(Kinds(*shelved), std::vector{EventKind::kShelved});
  EXPECT_EQ(nlohmann::json::parse((*shelved)[0].detail_json).at("shelved_until_us"), kT0 + 10 * kMinuteUs);
  EXPECT_EQ(a.shelves.at("nurse-1").until_us, kT0 + 10 * kMinuteUs);
  EXPECT_EQ(a.phase, Phase::kActive);  // the visual state stays
  // Escalation waits for the shelf.
  EXPECT_EQ(a.next_escalation_us, kT0 + 10 * kMinuteUs);
  EXPECT_TRUE(Tick(a, {1, 2}, Config{}, kT0 + 5 * kMinuteUs).empty());
  auto expired = Tick(a, {1, 2}, Config{}, kT0 + 10 * kMinuteUs);
  EXPECT_EQ(Kinds(expired), (std::vector{EventKind::kUnshelved, EventKind::kEscalated}));
  EXPECT_TRUE(a.shelves.empty());
}

TEST(LifecycleTest, AResolvedAlertCannotBeShelved) {
  Alert a = Raised(Hr(false, 0, 60, 130, Priority::kMedium));
  ASSERT_EQ(a.phase, Phase::kResolved);
  EXPECT_EQ(Shelve(a, "nurse-1", kMinuteUs, "x", Config{}, kT0).status().code(), absl::StatusCode::kFailedPrecondition);
}

Config SuppressingConfig() {
  Config cfg;
  cfg.suppresses["news2_high"] = {"heart_rate", "spo2"};
  return cfg;
}

Alert News2(Priority p = Priority::kHigh) {
  Observation o = Hr(true, 0, 60, 7, p);
  o.rule_id = "news2_high";
  o.covers = {"news2"};
  return Raised(o);
}

TEST(LifecycleTest, AHigherPriorityAlertWhoseRuleCoversItSuppressesALowerOne) {
  const Config cfg = SuppressingConfig();
  Alert hr = Raised(Hr(true, 0, 60, 130, Priority::kMedium));
  Alert news = News2();
  auto held = UpdateSuppression(hr, {news}, cfg, kT0 + kS);
  EXPECT_EQ(Kinds(held), std::vector{EventKind::kSuppressed});
  EXPECT_EQ(hr.suppressed_by, news.alert_id);
  EXPECT_EQ(hr.next_escalation_us, 0);
  EXPECT_EQ(LegacyState(hr), 6);
  EXPECT_TRUE(UpdateSuppression(hr, {news}, cfg, kT0 + 2 * kS).empty());  // idempotent

  news = ApplyObservation(
             [] {
               Observation o = Hr(false, 0, 120, 7);
               o.rule_id = "news2_high";
               return o;
             }(),
             &news, cfg, kT0 + 120 * kS)
             ->alert;
  auto released = UpdateSuppression(hr, {news}, cfg, kT0 + 120 * kS);
  EXPECT_EQ(Kinds(released), std::vector{EventKind::kUnsuppressed});
  EXPECT_TRUE(hr.suppressed_by.empty());
  EXPECT_EQ(hr.next_escalation_us, kT0 + 120 * kS + 10 * kMinuteUs);
}

TEST(LifecycleTest, NoSuppressionByEqualPriorityOrUncoveredPhysiology) {
  const Config cfg = SuppressingConfig();
  Alert hr = Raised(Hr(true, 0, 60, 130, Priority::kHigh));
  EXPECT_TRUE(UpdateSuppression(hr, {News2(Priority::kHigh)}, cfg, kT0).empty());
  Observation temp = Hr(true, 0, 60, 39, Priority::kLow);
  temp.rule_id = "temp_high";
  temp.covers = {"temperature"};
  Alert t = Raised(temp);
  EXPECT_TRUE(UpdateSuppression(t, {News2()}, cfg, kT0).empty());
}

TEST(LifecycleTest, ASuppressedAlertDoesNotEscalate) {
  const Config cfg = SuppressingConfig();
  Alert hr = Raised(Hr(true, 0, 60, 130, Priority::kMedium));
  UpdateSuppression(hr, {News2()}, cfg, kT0);
  EXPECT_TRUE(Tick(hr, {1, 2}, cfg, kT0 + 3600 * kS).empty());
  EXPECT_EQ(hr.tier, 1);
}

}  // namespace
}  // namespace healthtwin::alerts::lifecycle
