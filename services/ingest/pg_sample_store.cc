#include "services/ingest/pg_sample_store.h"

#include <limits>
#include <map>
#include <optional>

namespace healthtwin::ingest {
namespace {

// libpqxx 6.4 has no std::optional parameters; NULL travels as this sentinel and NULLIF.
constexpr int64_t kNullMicros = std::numeric_limits<int64_t>::min();

constexpr const char* kInsertVital = R"sql(
  INSERT INTO vitals (patient_id, device_id, vital_type, value, ucum_unit, measured_at, received_at,
                      device_record_seq, flags, bridge_id)
  VALUES ($1, $2, $3, $4, $5,
          timestamptz 'epoch' + $6::bigint * interval '1 microsecond',
          timestamptz 'epoch' + NULLIF($7::bigint, $8::bigint) * interval '1 microsecond',
          $9, $10, $11)
  ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING)sql";

constexpr const char* kInsertQuarantine = R"sql(
  INSERT INTO quarantine (device_id, vital_type, value, ucum_unit, measured_at, received_at,
                          device_record_seq, flags, bridge_id, reason)
  VALUES ($1, $2, $3, $4,
          timestamptz 'epoch' + $5::bigint * interval '1 microsecond',
          timestamptz 'epoch' + NULLIF($6::bigint, $7::bigint) * interval '1 microsecond',
          $8, $9, $10, $11)
  ON CONFLICT (device_id, vital_type, measured_at, device_record_seq) DO NOTHING)sql";

}  // namespace

absl::StatusOr<StoreOutcome> PgSampleStore::StoreBatch(std::string_view bridge_id,
                                                       const std::vector<ValidSample>& samples) {
  StoreOutcome outcome;
  const std::string bridge(bridge_id);
  auto status = pool_.WithTransaction("store vitals batch", [&](pqxx::work& tx) {
    outcome = {};
    // Binding lookups, once per device in the batch.
    std::map<std::string, std::optional<std::string>> patient_of;
    for (const auto& s : samples) {
      if (patient_of.contains(s.device_id)) continue;
      auto r = tx.exec_params("SELECT patient_id FROM devices WHERE device_id = $1", s.device_id);
      if (r.empty()) {
        patient_of[s.device_id] = std::nullopt;
      } else if (r[0][0].is_null()) {
        patient_of[s.device_id] = std::string();
      } else {
        patient_of[s.device_id] = r[0][0].as<std::string>();
      }
    }
    for (const auto& s : samples) {
      const auto& patient = patient_of[s.device_id];
      const std::string unit(common::CanonicalUnit(s.type));
      const int64_t received = s.received_at_us.value_or(kNullMicros);
      const auto seq = static_cast<int64_t>(s.device_record_seq);
      if (patient && !patient->empty()) {
        auto r = tx.exec_params(kInsertVital, *patient, s.device_id, static_cast<int>(s.type), s.value, unit,
                                s.measured_at_us, received, kNullMicros, seq, static_cast<int64_t>(s.flags), bridge);
        if (r.affected_rows() == 1) {
          ++outcome.stored;
        } else {
          ++outcome.duplicates;
        }
      } else {
        const char* reason = patient ? "device not bound to a patient" : "unknown device";
        auto r = tx.exec_params(kInsertQuarantine, s.device_id, static_cast<int>(s.type), s.value, unit,
                                s.measured_at_us, received, kNullMicros, seq, static_cast<int64_t>(s.flags), bridge,
                                reason);
        if (r.affected_rows() == 1) {
          ++outcome.quarantined;
        } else {
          ++outcome.duplicates;
        }
      }
    }
    if (outcome.stored > 0) tx.exec("SELECT pg_notify('vitals_new', '')");
  });
  if (!status.ok()) return status;
  return outcome;
}

}  // namespace healthtwin::ingest
