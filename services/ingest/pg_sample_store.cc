#include "services/ingest/pg_sample_store.h"

#include <charconv>

#include <pqxx/tablewriter>

#include "services/common/logging.h"

namespace healthtwin::ingest {
namespace {

constexpr const char* kCreateStaging = R"sql(
  CREATE TEMP TABLE vitals_staging (
    idx integer NOT NULL, device_id text NOT NULL, vital_type smallint NOT NULL, value double precision NOT NULL,
    ucum_unit text NOT NULL, measured_us bigint NOT NULL, received_us bigint,
    device_record_seq bigint NOT NULL, flags integer NOT NULL, bridge_id text NOT NULL,
    patient_id text, reason text
  ) ON COMMIT DELETE ROWS)sql";

// Decides where each staged sample goes. A sample reaches a patient's vitals only when its
// device is bound to that patient, the sending bridge is one of the device's gateways, and it
// was measured after the binding (less kBindingClockGraceS, which absorbs the device clocks
// that the bridge corrects on connect: a cuff that is 45 s slow must not lose its first
// reading). Everything else keeps a reason and goes to quarantine. $1 is the grace in seconds.
constexpr const char* kClassify = R"sql(
  UPDATE vitals_staging s SET patient_id = d.patient_id, reason = CASE
      WHEN d.device_id IS NULL THEN 'unknown device'
      WHEN d.patient_id IS NULL THEN 'device not bound to a patient'
      WHEN NOT EXISTS (SELECT 1 FROM device_gateways g WHERE g.device_id = s.device_id AND g.bridge_id = s.bridge_id)
        THEN 'gateway not bound to the device'
      WHEN timestamptz 'epoch' + s.measured_us * interval '1 microsecond' < d.bound_at - $1::integer * interval '1 second'
        THEN 'measured before the device was bound'
    END
  FROM vitals_staging s2 LEFT JOIN devices d ON d.device_id = s2.device_id
  WHERE s.idx = s2.idx)sql";

// Runs after the COPY into vitals_staging, which gives the transaction its id before the
// INSERT takes ingest_seq values: the consumers' gap tracking relies on every writer of
// vitals having one by then (common/gap_tracker.h).
constexpr const char* kMoveToVitals = R"sql(
  WITH moved AS (
    INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,
                        device_record_seq, flags, bridge_id)
    SELECT s.patient_id, s.device_id, s.vital_type, s.value, s.ucum_unit,
           timestamptz 'epoch' + s.measured_us * interval '1 microsecond',
           timestamptz 'epoch' + s.received_us * interval '1 microsecond',
           s.device_record_seq, s.flags, s.bridge_id
    FROM vitals_staging s WHERE s.reason IS NULL
    ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING
    RETURNING 1)
  SELECT count(*) FROM moved)sql";

// Quarantines the samples that have a reason, at most as many new ones as the room left in the
// bridge's quarantine ($1, the bound, less what bridge $2 holds unreleased; counted only when a
// sample needs quarantine, since the filter that reads it runs only then). A sample already
// held counts as a duplicate, never as refused. The second column lists the staging positions
// of the new samples that did not fit.
constexpr const char* kMoveToQuarantine = R"sql(
  WITH fresh AS (
    SELECT s.*, timestamptz 'epoch' + s.measured_us * interval '1 microsecond' AS measured_at,
           row_number() OVER (ORDER BY s.idx) AS n
    FROM vitals_staging s
    WHERE s.reason IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM quarantine q WHERE q.device_id = s.device_id AND q.vital_type = s.vital_type
        AND q.measured_at = timestamptz 'epoch' + s.measured_us * interval '1 microsecond'
        AND q.device_record_seq = s.device_record_seq)),
  room AS (
    SELECT greatest(0, $1::bigint - count(*)) AS n FROM quarantine WHERE bridge_id = $2 AND released_at IS NULL),
  moved AS (
    INSERT INTO quarantine (device_id, vital_type, value, ucum_unit, measured_at, received_at,
                            device_record_seq, flags, bridge_id, reason)
    SELECT f.device_id, f.vital_type, f.value, f.ucum_unit, f.measured_at,
           timestamptz 'epoch' + f.received_us * interval '1 microsecond',
           f.device_record_seq, f.flags, f.bridge_id, f.reason
    FROM fresh f WHERE f.n <= (SELECT n FROM room)
    ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING
    RETURNING 1)
  SELECT (SELECT count(*) FROM moved),
         coalesce((SELECT array_to_string(array_agg(idx ORDER BY idx), ',') FROM fresh WHERE n > (SELECT n FROM room)), ''))sql";

// One technical event per device that this bridge forwarded without being its gateway, for the
// alerts service to raise with the device's patient (technical_events in migration 0005).
constexpr const char* kRecordForeignGateway = R"sql(
  INSERT INTO technical_events (kind, bridge_id, device_id, patient_id, sample_count)
  SELECT 'foreign_gateway', $1, s.device_id, s.patient_id, count(*)::integer FROM vitals_staging s
  WHERE s.reason = 'gateway not bound to the device' GROUP BY s.device_id, s.patient_id)sql";

void AppendInt(std::string& line, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  line.append(buf, end);
}

void AppendDouble(std::string& line, double v) {
  // Shortest representation that round-trips exactly.
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  line.append(buf, end);
}

}  // namespace

std::string CopyEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
  return out;
}

void PgSampleStore::PrepareConnection(pqxx::connection& conn) {
  pqxx::nontransaction tx(conn);
  tx.exec(kCreateStaging);
}

absl::StatusOr<StoreOutcome> PgSampleStore::StoreBatch(std::string_view bridge_id,
                                                       const std::vector<ValidSample>& samples) {
  StoreOutcome outcome;
  const std::string bridge = CopyEscape(bridge_id);
  auto status = pool_.WithTransaction("store vitals batch", [&](pqxx::work& tx) {
    outcome = {};
    {
      // pqxx::tablewriter is deprecated in libpqxx 6.4 in favour of stream_to, but stream_to
      // keeps write_raw_line private and has no NULL for a single column; tablewriter is the
      // one public way to send pre-formatted COPY lines.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      static const std::vector<std::string> kColumns = {"idx",         "device_id",   "vital_type",
                                                        "value",       "ucum_unit",   "measured_us",
                                                        "received_us", "device_record_seq", "flags",
                                                        "bridge_id"};
      pqxx::tablewriter copy(tx, "vitals_staging", kColumns.begin(), kColumns.end());
#pragma GCC diagnostic pop
      std::string line;
      for (std::size_t i = 0; i < samples.size(); ++i) {
        const auto& s = samples[i];
        line.clear();
        AppendInt(line, static_cast<int64_t>(i));
        line += '\t';
        line += CopyEscape(s.device_id);
        line += '\t';
        AppendInt(line, static_cast<int>(s.type));
        line += '\t';
        AppendDouble(line, s.value);
        line += '\t';
        line += common::CanonicalUnit(s.type);
        line += '\t';
        AppendInt(line, s.measured_at_us);
        line += '\t';
        if (s.received_at_us) {
          AppendInt(line, *s.received_at_us);
        } else {
          line += "\\N";
        }
        line += '\t';
        AppendInt(line, static_cast<int64_t>(s.device_record_seq));  // <= kMaxDeviceRecordSeq (validated)
        line += '\t';
        AppendInt(line, s.flags);
        line += '\t';
        line += bridge;
        copy.write_raw_line(line);
      }
      copy.complete();
    }
    tx.exec_params(kClassify, limits_.binding_clock_grace_s);
    outcome.stored = tx.exec(kMoveToVitals)[0][0].as<uint32_t>();

    auto q = tx.exec_params(kMoveToQuarantine, limits_.max_pending_quarantine_per_bridge, std::string(bridge_id));
    outcome.quarantined = q[0][0].as<uint32_t>();
    for (double idx : common::ParseNumberList(q[0][1].as<std::string>())) {
      outcome.refused_quarantine_full.push_back(static_cast<std::size_t>(idx));
    }
    tx.exec_params(kRecordForeignGateway, std::string(bridge_id));
    if (!outcome.refused_quarantine_full.empty()) {
      tx.exec_params("INSERT INTO technical_events (kind, bridge_id, sample_count) VALUES ('quarantine_full', $1, $2)",
                     std::string(bridge_id), static_cast<int>(outcome.refused_quarantine_full.size()));
    }
    outcome.duplicates = static_cast<uint32_t>(samples.size() - outcome.refused_quarantine_full.size()) -
                         outcome.stored - outcome.quarantined;
    if (outcome.stored > 0) tx.exec("SELECT pg_notify('vitals_new', '')");
  });
  if (!status.ok()) return status;
  if (!outcome.refused_quarantine_full.empty()) {
    common::LogError("ingest.quarantine_full", {{"bridge", std::string(bridge_id)},
                                               {"refused", outcome.refused_quarantine_full.size()},
                                               {"limit", limits_.max_pending_quarantine_per_bridge}});
  }
  return outcome;
}

}  // namespace healthtwin::ingest
