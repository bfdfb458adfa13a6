#include "services/ingest/pg_sample_store.h"

#include <charconv>

#include <pqxx/tablewriter>

namespace healthtwin::ingest {
namespace {

constexpr const char* kCreateStaging = R"sql(
  CREATE TEMP TABLE vitals_staging (
    device_id text NOT NULL, vital_type smallint NOT NULL, value double precision NOT NULL,
    ucum_unit text NOT NULL, measured_us bigint NOT NULL, received_us bigint,
    device_record_seq bigint NOT NULL, flags integer NOT NULL, bridge_id text NOT NULL
  ) ON COMMIT DELETE ROWS)sql";

constexpr const char* kMoveToVitals = R"sql(
  WITH moved AS (
    INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,
                        device_record_seq, flags, bridge_id)
    SELECT d.patient_id, s.device_id, s.vital_type, s.value, s.ucum_unit,
           timestamptz 'epoch' + s.measured_us * interval '1 microsecond',
           timestamptz 'epoch' + s.received_us * interval '1 microsecond',
           s.device_record_seq, s.flags, s.bridge_id
    FROM vitals_staging s JOIN devices d ON d.device_id = s.device_id AND d.patient_id IS NOT NULL
    ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING
    RETURNING 1)
  SELECT count(*) FROM moved)sql";

constexpr const char* kMoveToQuarantine = R"sql(
  WITH moved AS (
    INSERT INTO quarantine (device_id, vital_type, value, ucum_unit, measured_at, received_at,
                            device_record_seq, flags, bridge_id, reason)
    SELECT s.device_id, s.vital_type, s.value, s.ucum_unit,
           timestamptz 'epoch' + s.measured_us * interval '1 microsecond',
           timestamptz 'epoch' + s.received_us * interval '1 microsecond',
           s.device_record_seq, s.flags, s.bridge_id,
           CASE WHEN d.device_id IS NULL THEN 'unknown device' ELSE 'device not bound to a patient' END
    FROM vitals_staging s LEFT JOIN devices d ON d.device_id = s.device_id
    WHERE d.patient_id IS NULL
    ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING
    RETURNING 1)
  SELECT count(*) FROM moved)sql";

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
      pqxx::tablewriter copy(tx, "vitals_staging");
#pragma GCC diagnostic pop
      std::string line;
      for (const auto& s : samples) {
        line.clear();
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
    outcome.stored = tx.exec(kMoveToVitals)[0][0].as<uint32_t>();
    outcome.quarantined = tx.exec(kMoveToQuarantine)[0][0].as<uint32_t>();
    outcome.duplicates = static_cast<uint32_t>(samples.size()) - outcome.stored - outcome.quarantined;
    if (outcome.stored > 0) tx.exec("SELECT pg_notify('vitals_new', '')");
  });
  if (!status.ok()) return status;
  return outcome;
}

}  // namespace healthtwin::ingest
