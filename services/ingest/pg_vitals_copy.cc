#include "services/ingest/pg_vitals_copy.h"

#include <optional>
#include <pqxx/subtransaction>
#include <pqxx/tablewriter>
#include <string>
#include <unordered_map>

#include "services/common/time_util.h"
#include "services/common/vital_type.h"
#include "services/ingest/pg_array_literal.h"
#include "services/ingest/pg_sample_store.h"

namespace healthtwin::ingest {
namespace {

// The batch's devices that are bound to a patient, with the binding time (unix us; NULL when
// unknown, which the staging rule does not hold against a sample) and whether bridge $2 is one
// of their gateways. pg_current_xact_id() gives the transaction its id before the COPY takes
// ingest_seq values, which the consumers' gap tracking relies on (common/gap_tracker.h).
constexpr const char* kLookUpDevices = R"sql(
  SELECT d.device_id, d.patient_id, (extract(epoch FROM d.bound_at) * 1000000)::bigint,
         EXISTS (SELECT 1 FROM device_gateways g WHERE g.device_id = d.device_id AND g.bridge_id = $2),
         pg_current_xact_id()
  FROM devices d WHERE d.device_id = ANY($1::text[]) AND d.patient_id IS NOT NULL)sql";

// 1970-01-01 and 10000-01-01 in unix microseconds: timestamps FormatUnixMicros writes as ISO 8601
// that PostgreSQL reads back exactly.
constexpr int64_t kFirstCopyableUs = 0;
constexpr int64_t kEndCopyableUs = 253'402'300'800'000'000;

bool Copyable(int64_t us) { return us >= kFirstCopyableUs && us < kEndCopyableUs; }

struct Binding {
  std::string patient_id;
  std::optional<int64_t> bound_at_us;
};

// The patient of each device whose samples may all go to vitals; empty when one may not.
std::optional<std::unordered_map<std::string, Binding>> Bindings(pqxx::work& tx, std::string_view bridge_id,
                                                                 const std::vector<ValidSample>& samples, int grace_s) {
  std::unordered_map<std::string, std::optional<Binding>> wanted;
  ArrayLiteral ids;
  for (const ValidSample& s : samples) {
    if (!Copyable(s.measured_at_us) || (s.received_at_us && !Copyable(*s.received_at_us))) return std::nullopt;
    if (wanted.try_emplace(s.device_id).second) ids.Text(s.device_id);
  }
  for (const auto& row : tx.exec_params(kLookUpDevices, ids.Done(), std::string(bridge_id))) {
    if (!row[3].as<bool>()) return std::nullopt;  // not this bridge's device
    Binding b{row[1].as<std::string>(), std::nullopt};
    if (!row[2].is_null()) b.bound_at_us = row[2].as<int64_t>();
    wanted[row[0].as<std::string>()] = std::move(b);
  }
  std::unordered_map<std::string, Binding> out;
  for (const ValidSample& s : samples) {
    const auto& b = wanted[s.device_id];
    if (!b) return std::nullopt;  // unknown or unbound device
    if (b->bound_at_us && s.measured_at_us < *b->bound_at_us - int64_t{grace_s} * 1'000'000) return std::nullopt;
  }
  for (auto& [id, b] : wanted) out.emplace(id, *std::move(b));
  return out;
}

void AppendNumber(std::string& line, auto v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest exact form for doubles
  line.append(buf, end);
}

}  // namespace

bool CopyStraightIntoVitals(pqxx::work& tx, std::string_view bridge_id, const std::vector<ValidSample>& samples,
                            int binding_clock_grace_s) {
  const auto bindings = Bindings(tx, bridge_id, samples, binding_clock_grace_s);
  if (!bindings) return false;
  const std::string bridge = CopyEscape(bridge_id);
  try {
    pqxx::subtransaction attempt(tx, "copy_into_vitals");
    {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"  // see PgSampleStore::StoreBatch
      static const std::vector<std::string> kColumns = {"patient_id", "device_id",   "vital_type",  "value",
                                                        "ucum_unit",  "measured_at", "received_at", "device_record_seq",
                                                        "flags",      "bridge_id"};
      pqxx::tablewriter copy(attempt, "vitals", kColumns.begin(), kColumns.end());
#pragma GCC diagnostic pop
      std::string line;
      for (const ValidSample& s : samples) {
        line = CopyEscape(bindings->at(s.device_id).patient_id);
        line += '\t';
        line += CopyEscape(s.device_id);
        line += '\t';
        AppendNumber(line, static_cast<int>(s.type));
        line += '\t';
        AppendNumber(line, s.value);
        line += '\t';
        line += common::CanonicalUnit(s.type);
        line += '\t';
        line += common::FormatUnixMicros(s.measured_at_us);
        line += '\t';
        line += s.received_at_us ? common::FormatUnixMicros(*s.received_at_us) : "\\N";
        line += '\t';
        AppendNumber(line, static_cast<int64_t>(s.device_record_seq));
        line += '\t';
        AppendNumber(line, s.flags);
        line += '\t';
        line += bridge;
        copy.write_raw_line(line);
      }
      copy.complete();
    }
    attempt.commit();
    return true;
  } catch (const pqxx::unique_violation&) {
    return false;  // rolled back to the savepoint: some key is already stored
  }
}

}  // namespace healthtwin::ingest
