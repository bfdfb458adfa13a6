#include "services/feeds/hl7/alarm_status.h"

namespace healthtwin::feeds::hl7 {

AlarmStatus StatusAfter(AlertEventKind kind, LifecyclePhase phase, bool any_acknowledgement, bool any_active_shelf) {
  AlarmStatus s;
  s.phase = kind == AlertEventKind::kRaised     ? EventPhase::kStart
            : kind == AlertEventKind::kResolved ? EventPhase::kEnd
                                                : EventPhase::kContinue;
  switch (phase) {
    case LifecyclePhase::kActive:
      s.state = AlarmState::kActive;
      break;
    case LifecyclePhase::kEnded:
      s.state = AlarmState::kLatched;
      break;
    case LifecyclePhase::kResolved:
      s.state = AlarmState::kInactive;
      break;
  }
  s.inactivation = any_active_shelf      ? InactivationState::kAudioPaused
                   : any_acknowledgement ? InactivationState::kAcknowledged
                                         : InactivationState::kEnabled;
  return s;
}

}  // namespace healthtwin::feeds::hl7
