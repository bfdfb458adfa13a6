#include "services/feeds/hl7/alarm_status.h"

#include <gtest/gtest.h>

#include <vector>

#include "services/alerts/lifecycle/lifecycle.h"

namespace healthtwin::feeds::hl7 {
namespace {

TEST(AlarmStatusTest, RaisedStartsActiveAndEnabled) {
  const AlarmStatus s = StatusAfter(AlertEventKind::kRaised, LifecyclePhase::kActive, false, false);
  EXPECT_EQ(s.phase, EventPhase::kStart);
  EXPECT_EQ(s.state, AlarmState::kActive);
  EXPECT_EQ(s.inactivation, InactivationState::kEnabled);
}

TEST(AlarmStatusTest, AcknowledgedContinuesAcknowledged) {
  const AlarmStatus s = StatusAfter(AlertEventKind::kAcknowledged, LifecyclePhase::kActive, true, false);
  EXPECT_EQ(s.phase, EventPhase::kContinue);
  EXPECT_EQ(s.inactivation, InactivationState::kAcknowledged);
}

TEST(AlarmStatusTest, AShelfIsAudioPausedEvenAfterAnAcknowledgement) {
  EXPECT_EQ(StatusAfter(AlertEventKind::kShelved, LifecyclePhase::kActive, true, true).inactivation,
            InactivationState::kAudioPaused);
  EXPECT_EQ(StatusAfter(AlertEventKind::kUnshelved, LifecyclePhase::kActive, false, false).inactivation,
            InactivationState::kEnabled);
}

TEST(AlarmStatusTest, EndedLatchedAlertIsLatchedAndContinues) {
  const AlarmStatus s = StatusAfter(AlertEventKind::kEnded, LifecyclePhase::kEnded, false, false);
  EXPECT_EQ(s.phase, EventPhase::kContinue);
  EXPECT_EQ(s.state, AlarmState::kLatched);
}

TEST(AlarmStatusTest, ResolvedEndsInactive) {
  const AlarmStatus s = StatusAfter(AlertEventKind::kResolved, LifecyclePhase::kResolved, true, false);
  EXPECT_EQ(s.phase, EventPhase::kEnd);
  EXPECT_EQ(s.state, AlarmState::kInactive);
}

TEST(AlarmStatusTest, ReopenContinuesTheSameAlert) {
  const AlarmStatus s = StatusAfter(AlertEventKind::kReopened, LifecyclePhase::kActive, false, false);
  EXPECT_EQ(s.phase, EventPhase::kContinue);
  EXPECT_EQ(s.state, AlarmState::kActive);
}

// The event kinds and phases are the lifecycle's own types now; the feed service still reads
// them from PostgreSQL by number, so this keeps the numbers pinned to the stored values.
TEST(AlertEnumsTest, NumbersMatchTheAlertsService) {
  namespace lc = alerts::lifecycle;
  const std::vector<std::pair<AlertEventKind, lc::EventKind>> kinds = {
      {AlertEventKind::kRaised, lc::EventKind::kRaised},
      {AlertEventKind::kUpdated, lc::EventKind::kUpdated},
      {AlertEventKind::kEscalated, lc::EventKind::kEscalated},
      {AlertEventKind::kAcknowledged, lc::EventKind::kAcknowledged},
      {AlertEventKind::kShelved, lc::EventKind::kShelved},
      {AlertEventKind::kUnshelved, lc::EventKind::kUnshelved},
      {AlertEventKind::kSuppressed, lc::EventKind::kSuppressed},
      {AlertEventKind::kUnsuppressed, lc::EventKind::kUnsuppressed},
      {AlertEventKind::kEnded, lc::EventKind::kEnded},
      {AlertEventKind::kResolved, lc::EventKind::kResolved},
      {AlertEventKind::kReopened, lc::EventKind::kReopened},
  };
  for (const auto& [ours, theirs] : kinds) EXPECT_EQ(static_cast<int>(ours), static_cast<int>(theirs));
  EXPECT_EQ(static_cast<int>(LifecyclePhase::kActive), static_cast<int>(lc::Phase::kActive));
  EXPECT_EQ(static_cast<int>(LifecyclePhase::kEnded), static_cast<int>(lc::Phase::kEnded));
  EXPECT_EQ(static_cast<int>(LifecyclePhase::kResolved), static_cast<int>(lc::Phase::kResolved));
  EXPECT_EQ(static_cast<int>(AlertPriority::kHigh), static_cast<int>(alerts::Priority::kHigh));
  EXPECT_EQ(static_cast<int>(AlertPriority::kMedium), static_cast<int>(alerts::Priority::kMedium));
  EXPECT_EQ(static_cast<int>(AlertPriority::kLow), static_cast<int>(alerts::Priority::kLow));
  EXPECT_EQ(static_cast<int>(AlertCategory::kTechnical), static_cast<int>(alerts::AlarmCategory::kTechnical));
  EXPECT_EQ(static_cast<int>(AlertCategory::kPhysiological), static_cast<int>(alerts::AlarmCategory::kPhysiological));
}

}  // namespace
}  // namespace healthtwin::feeds::hl7
