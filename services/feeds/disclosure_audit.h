// Every message a receiver answered is a disclosure of its patient's data to a hospital system,
// and goes into the audit trail like any other access to patient data (issue 13, item 2): one
// record per message per answered attempt, written in the delivery batch's transaction, so it
// commits exactly when the outcome does. `healthtwin audit export --patient P --format fhir`
// therefore lists each delivery of P's data: the accounting of disclosures.
//
// A record is coded as a DICOM "Export" (DCM 110106; action R, as DICOM PS3.15 A.5.3 codes an
// export), subtype `feed.export`, purpose TREAT (a hospital feed serves the patient's care):
//  - agent: the feeds service as its certificate names it (DeliverOptions::agent), with the
//    receiver's address (the feed's target) as the network address;
//  - entity: the patient and `feed_message/<message id>` (the MSH-10 / Bundle.id the receiver
//    saw, so an auditor can match the receiver's log);
//  - outcome 0 when the receiver acknowledged it (HL7 AA/CA, HTTP 2xx); 4 when it answered and
//    did not accept it (AE/AR/CE/CR, an HTTP error status): the bytes reached it all the same.
// An attempt that got no answer at all (no connection, no ACK in time) is not recorded: whether
// anything arrived is unknown. The outbox row keeps its attempts and last error, and the resend
// under the same message id that is answered is recorded. A crash between the sends and the
// commit leaves no record and no outcome; the batch is resent and recorded then.
#pragma once

#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "services/common/tls/tls.h"
#include "services/feeds/feed.h"
#include "services/feeds/transport.h"

namespace healthtwin::feeds {

struct Disclosure {
  std::string patient_id;
  std::string message_id;
  SendResult::Outcome outcome = SendResult::Outcome::kRetry;
  std::string ack;
};

// True when the receiver answered the attempt, i.e. it is a disclosure to record.
bool IsDisclosure(const SendResult& result);

// The record's text: kind, feed, receiver and what it answered, e.g.
// `hl7v2-mllp feed "icu" to 10.0.0.5:2575: acknowledged (AA)`.
std::string DisclosureDetail(const Feed& feed, const Disclosure& disclosure);

// One audit record per disclosure, inside `tx` (the caller aborts `tx` if this throws). The
// records hold the audit chain's head until `tx` ends, so call it just before the commit.
void AuditDisclosures(pqxx::work& tx, const common::PeerIdentity& agent, const Feed& feed,
                      const std::vector<Disclosure>& disclosures);

}  // namespace healthtwin::feeds
