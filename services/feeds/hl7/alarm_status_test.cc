#include "services/feeds/hl7/alarm_status.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace healthtwin::feeds::hl7
