#include "services/feeds/enqueuer.h"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/feeds/batching.h"

namespace healthtwin::feeds {
namespace {

std::string Us(const std::string& column) {
  return absl::StrCat("(extract(epoch FROM ", column, ") * 1000000)::bigint");
}

// The feed's filters over a row of patient `patient` (SQL), with the feeds row as f.
std::string PatientFilter(const std::string& patient) {
  return absl::StrCat("(cardinality(f.patients) = 0 OR ", patient,
                      " = ANY (f.patients)) AND (f.care_team_of IS NULL OR EXISTS (SELECT 1 FROM care_team c"
                      " WHERE c.patient_id = ",
                      patient, " AND c.member = f.care_team_of))");
}

// Inserts one message; `numbered` (the subscription's counter) moves past the message's event
// numbers only when the row is written, so a conflict (the row exists) takes no numbers.
void InsertOutbox(pqxx::work& tx, const Feed& feed, const std::string& patient_id, const char* source_kind,
                  int64_t first_seq, int64_t last_seq, int64_t source_at_us, const std::string& message_id,
                  const std::string& payload, const EventNumbers& numbers, int64_t& numbered, int& written) {
  // The payload is text (migration 0022: HL7 v2 and FHIR JSON are text by construction), sent and
  // stored as it is, compressed by PostgreSQL with lz4.
  auto r = tx.exec_params(
      "INSERT INTO feed_outbox (feed_id, patient_id, source_kind, source_first_seq, source_last_seq, source_at,"
      " message_id, payload, first_event_number, last_event_number) VALUES ($1, $2, $3, $4, $5,"
      " timestamptz 'epoch' + $6::bigint * interval '1 microsecond', $7, $8,"
      " CASE WHEN $10::bigint > 0 THEN $9::bigint + 1 END, CASE WHEN $10::bigint > 0 THEN $9::bigint + $10 END)"
      " ON CONFLICT (feed_id, message_id) DO NOTHING",
      feed.feed_id, patient_id, source_kind, first_seq, last_seq, source_at_us, message_id, payload,
      numbers.before, numbers.count);
  written += static_cast<int>(r.affected_rows());
  if (r.affected_rows() > 0) numbered = numbers.before + numbers.count;
}

// Reads the rows of `sql` ($1 feed, $2 cursor, $3 limit; the sequence value first) between
// BeforeRead and AfterRead of `tracker`. Returns the rows and how far the cursor may move; rows
// past that point are read again next round.
struct Read {
  pqxx::result rows;
  int64_t next = 0;
  bool full = false;
};
Read ReadAfterCursor(pqxx::work& tx, common::GapTracker& tracker, const std::string& sql, int64_t feed_id,
                     int64_t cursor, int limit) {
  tracker.BeforeRead(tx);
  Read read;
  read.rows = tx.exec_params(sql, feed_id, cursor, limit);
  std::vector<int64_t> seqs;
  for (const auto& r : read.rows) seqs.push_back(r[0].as<int64_t>());
  read.next = tracker.AfterRead(tx, cursor, seqs);
  read.full = static_cast<int>(read.rows.size()) >= limit;
  return read;
}

}  // namespace

Enqueuer::Enqueuer(common::PgPool& pool, EncoderLookup encoders, EnqueueOptions options)
    : pool_(pool), encoders_(std::move(encoders)), options_(options) {}

Enqueuer::Trackers& Enqueuer::TrackersOf(const Feed& feed) {
  auto& slot = trackers_[feed.feed_id];
  if (!slot) {
    slot = std::make_unique<Trackers>(Trackers{common::GapTracker(absl::StrCat("feed-", feed.feed_id, "-alerts")),
                                               common::GapTracker(absl::StrCat("feed-", feed.feed_id, "-vitals"))});
  }
  return *slot;
}

absl::StatusOr<EnqueueResult> Enqueuer::RunOnce(const Feed& feed) {
  const MessageEncoder* encoder = encoders_ ? encoders_(feed) : nullptr;
  if (encoder == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("feed ", feed.config.name,
                                                      ": this build has no encoder for kind ",
                                                      std::string(registry::FeedKindName(feed.config.kind))));
  }
  Trackers& trackers = TrackersOf(feed);
  EnqueueResult result;
  absl::Status encode_error;
  auto status = pool_.WithTransaction("enqueue feed messages", [&](pqxx::work& tx) {
    result = {};
    encode_error = absl::OkStatus();
    // The cursor row, created at the current end of the sources the first time.
    // The event counters (migration 0018) are on the same row: numbers are taken under its lock.
    constexpr const char* kCursor =
        "SELECT alert_event_seq, vitals_seq, alert_events_numbered, vitals_events_numbered FROM feed_cursors"
        " WHERE feed_id = $1 FOR UPDATE";
    auto cursor = tx.exec_params(kCursor, feed.feed_id);
    if (cursor.empty()) {
      tx.exec_params(
          "INSERT INTO feed_cursors (feed_id, alert_event_seq, vitals_seq) SELECT $1,"
          " (SELECT coalesce(max(event_seq), 0) FROM alert_events), (SELECT coalesce(max(ingest_seq), 0) FROM vitals)"
          " ON CONFLICT (feed_id) DO NOTHING",
          feed.feed_id);
      cursor = tx.exec_params(kCursor, feed.feed_id);
    }
    int64_t alert_cursor = cursor[0][0].as<int64_t>();
    int64_t vitals_cursor = cursor[0][1].as<int64_t>();
    int64_t alerts_numbered = cursor[0][2].as<int64_t>();
    int64_t vitals_numbered = cursor[0][3].as<int64_t>();

    if (feed.config.send_alerts) {
      const Read read = ReadAfterCursor(
          tx, trackers.alerts,
          absl::StrCat(
              "SELECT e.event_seq, e.alert_id::text, e.kind, e.actor, ", Us("e.created_at"),
              ", a.patient_id, a.rule_id, a.priority, a.category, a.phase, a.latched, a.summary,"
              " a.peak_value, a.ucum_unit, (a.priority >= f.min_priority AND ",
              PatientFilter("a.patient_id"),
              "), coalesce(a.covers[1], ''),"
              " EXISTS (SELECT 1 FROM alert_acknowledgements k WHERE k.alert_id = e.alert_id"
              "         AND k.acknowledged_at <= e.created_at),"
              " EXISTS (SELECT 1 FROM alert_shelves s WHERE s.alert_id = e.alert_id AND s.shelved_at <= e.created_at"
              "         AND s.shelved_until > e.created_at"
              "         AND (s.unshelved_at IS NULL OR s.unshelved_at > e.created_at))"
              " FROM alert_events e JOIN alerts a ON a.alert_id = e.alert_id"
              " JOIN feeds f ON f.feed_id = $1 WHERE e.event_seq > $2 ORDER BY e.event_seq LIMIT $3"),
          feed.feed_id, alert_cursor, options_.max_alert_events_per_round);
      const int64_t next = read.next;
      result.more = result.more || read.full;
      for (const auto& r : read.rows) {
        AlertEventRow e;
        e.event_seq = r[0].as<int64_t>();
        if (e.event_seq > next) break;  // behind an unsettled gap: read again next round
        if (!r[14].as<bool>()) continue;
        e.alert_id = r[1].as<std::string>();
        e.kind = r[2].as<int>();
        e.actor = r[3].as<std::string>();
        e.event_at_us = r[4].as<int64_t>();
        e.patient_id = r[5].as<std::string>();
        e.rule_id = r[6].as<std::string>();
        e.priority = r[7].as<int>();
        e.category = r[8].as<int>();
        e.phase = r[9].as<int>();
        e.latched = r[10].as<bool>();
        e.summary = r[11].as<std::string>();
        e.peak_value = r[12].as<double>();
        e.ucum_unit = r[13].as<std::string>();
        e.covers = r[15].as<std::string>();
        e.any_acknowledgement = r[16].as<bool>();
        e.any_active_shelf = r[17].as<bool>();
        const std::string id = AlertMessageId(feed.feed_id, e.event_seq);
        EventNumbers numbers{alerts_numbered};
        auto payload = encoder->EncodeAlertEvent(feed, e, id, numbers);
        if (!payload.ok()) {
          encode_error = payload.status();
          throw std::runtime_error("encode");  // rolls the round back: nothing written, nothing moved
        }
        InsertOutbox(tx, feed, e.patient_id, "alert_event", e.event_seq, e.event_seq, e.event_at_us, id, *payload,
                     numbers, alerts_numbered, result.messages);
      }
      alert_cursor = next;
    }

    if (feed.config.send_vitals) {
      const Read read = ReadAfterCursor(
          tx, trackers.vitals,
          absl::StrCat("SELECT v.ingest_seq, v.patient_id, v.device_id, v.vital_type, v.value, v.ucum_unit, ",
                       Us("v.measured_at"), ", (", PatientFilter("v.patient_id"),
                       ") FROM vitals v JOIN feeds f ON f.feed_id = $1 WHERE v.ingest_seq > $2"
                       " ORDER BY v.ingest_seq LIMIT $3"),
          feed.feed_id, vitals_cursor, options_.max_vitals_per_round);
      const int64_t next = read.next;
      result.more = result.more || read.full;
      std::vector<VitalRow> passed;
      for (const auto& r : read.rows) {
        VitalRow v;
        v.ingest_seq = r[0].as<int64_t>();
        if (v.ingest_seq > next) break;
        if (!r[7].as<bool>()) continue;
        v.patient_id = r[1].as<std::string>();
        v.device_id = r[2].as<std::string>();
        v.vital_type = r[3].as<int>();
        v.value = r[4].as<double>();
        v.ucum_unit = r[5].as<std::string>();
        v.measured_at_us = r[6].as<int64_t>();
        passed.push_back(std::move(v));
      }
      for (const auto& batch : BatchVitalsByPatient(passed, options_.max_samples_per_message)) {
        const std::string id = VitalsMessageId(feed.feed_id, batch.front().ingest_seq, batch.back().ingest_seq);
        EventNumbers numbers{vitals_numbered};
        auto payload = encoder->EncodeVitals(feed, batch, id, numbers);
        if (!payload.ok()) {
          encode_error = payload.status();
          throw std::runtime_error("encode");
        }
        int64_t newest_us = 0;
        for (const auto& v : batch) newest_us = std::max(newest_us, v.measured_at_us);
        InsertOutbox(tx, feed, batch.front().patient_id, "vitals", batch.front().ingest_seq, batch.back().ingest_seq,
                     newest_us, id, *payload, numbers, vitals_numbered, result.messages);
      }
      vitals_cursor = next;
    }

    tx.exec_params(
        "UPDATE feed_cursors SET alert_event_seq = $2, vitals_seq = $3, alert_events_numbered = $4,"
        " vitals_events_numbered = $5, updated_at = now() WHERE feed_id = $1",
        feed.feed_id, alert_cursor, vitals_cursor, alerts_numbered, vitals_numbered);
    if (result.messages > 0) tx.exec("SELECT pg_notify('feed_outbox_new', '')");
  });
  if (!encode_error.ok()) return encode_error;
  if (!status.ok()) return status;
  return result;
}

}  // namespace healthtwin::feeds
