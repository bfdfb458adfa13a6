// Shared by ingest (which attaches samples to patients) and the registry (which releases
// quarantined samples): the one rule for when a device's measurement belongs to its patient.
#pragma once

namespace healthtwin::common {

// How long before its binding a device's measurement may be and still count as the patient's.
// Device clocks run slow or fast until the bridge writes Current Time on connect (the simulated
// cuff starts 45 s behind; ingest flags skew over 60 s), so a strict bound would quarantine the
// first readings of a device bound just before it connects. Ten minutes keeps the readings of a
// previous wearer, taken before the device changed hands, out of the new patient's record.
inline constexpr int kBindingClockGraceS = 600;

}  // namespace healthtwin::common
