// HL7 v2.6 messages of IHE PCD (Technical Framework Vol. 2, Rev 9.0): ORU^R40 (PCD-04
// Report Alert) per alert event and ORU^R01 (PCD-01 Communicate PCD Data) per batch of one
// patient's vitals. Pure: no I/O, no clock; the same inputs always give the same bytes, so a
// resend of an outbox row is identical to the first send.
//
// There is no maintained C++ HL7 v2 library in Debian 12 (`apt-cache search hl7` lists only
// python3-hl7), so the encoding is ours; the tests let python3-hl7's parser judge it.
//
// Segments end with CR; the message ends with the CR of its last segment (no MLLP framing:
// see mllp.h). Every text that is not a code of ours goes through Escape().
//
// Errors: InvalidArgument naming the field (e.g. "alert.patient_id: empty").
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/feeds/hl7/views.h"

namespace healthtwin::feeds::hl7 {

// ORU^R40^ORU_R40 for one alert event. The alert identity is OBR-3 (filler order number,
// "<alert_id>^<sending application>"): the same in every transition of the alert, as PCD-04
// keys an alert's updates on the filler order number. OBR-2 (placer order number) is
// "<alert_id>-<event_seq>", unique per transition.
absl::StatusOr<std::string> EncodeOruR40(const AlertEventView& event, const MessageContext& context);

// ORU^R01^ORU_R01 for one patient's samples (all with the same patient_id, at least one):
// one OBR, then one MDC-coded OBX per sample with its own time (OBX-14) and device (OBX-18).
absl::StatusOr<std::string> EncodeOruR01(const std::vector<VitalSampleView>& samples, const MessageContext& context);

}  // namespace healthtwin::feeds::hl7
