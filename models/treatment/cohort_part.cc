#include "models/treatment/cohort_part.h"

#include <openssl/evp.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "models/treatment/treatment_json.h"

namespace healthtwin::models::treatment {
namespace {

using nlohmann::json;

constexpr int kFormat = 2;  // 2: the trial layer's columns (trial.h)

// One row's columns, in file order: doubles, then the 0/1 flags, then the last visit day.
constexpr double PatientRow::*kDoubles[] = {&PatientRow::age_years,
                                            &PatientRow::weight_kg,
                                            &PatientRow::drawn_sbp_mmhg,
                                            &PatientRow::drawn_dbp_mmhg,
                                            &PatientRow::drawn_heart_rate_bpm,
                                            &PatientRow::baseline_sbp_mmhg,
                                            &PatientRow::baseline_dbp_mmhg,
                                            &PatientRow::baseline_heart_rate_bpm,
                                            &PatientRow::end_sbp_mmhg,
                                            &PatientRow::end_dbp_mmhg,
                                            &PatientRow::end_heart_rate_bpm,
                                            &PatientRow::min_sbp_mmhg,
                                            &PatientRow::min_heart_rate_bpm,
                                            &PatientRow::weight_change_percent,
                                            &PatientRow::screen_sbp_mmhg,
                                            &PatientRow::office_baseline_sbp_mmhg,
                                            &PatientRow::office_baseline_dbp_mmhg,
                                            &PatientRow::office_end_sbp_mmhg,
                                            &PatientRow::office_end_dbp_mmhg,
                                            &PatientRow::doses_taken_fraction};
constexpr bool PatientRow::*kFlags[] = {&PatientRow::at_target,   &PatientRow::hypotension,  &PatientRow::bradycardia,
                                        &PatientRow::volume_loss, &PatientRow::extrapolated, &PatientRow::completed};

const json& Columns() {
  static const json kColumns = {"patient",
                                "arm",
                                "female",
                                "age_years",
                                "weight_kg",
                                "drawn_sbp_mmhg",
                                "drawn_dbp_mmhg",
                                "drawn_heart_rate_bpm",
                                "baseline_sbp_mmhg",
                                "baseline_dbp_mmhg",
                                "baseline_heart_rate_bpm",
                                "end_sbp_mmhg",
                                "end_dbp_mmhg",
                                "end_heart_rate_bpm",
                                "min_sbp_mmhg",
                                "min_heart_rate_bpm",
                                "weight_change_percent",
                                "screen_sbp_mmhg",
                                "office_baseline_sbp_mmhg",
                                "office_baseline_dbp_mmhg",
                                "office_end_sbp_mmhg",
                                "office_end_dbp_mmhg",
                                "doses_taken_fraction",
                                "at_target",
                                "hypotension",
                                "bradycardia",
                                "volume_loss",
                                "extrapolated",
                                "completed",
                                "last_visit_day"};
  return kColumns;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr) != 1) return "";
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

// SHA-256 of the document's canonical text without its own checksum field.
std::string ContentSha256(json doc) {
  doc.erase("content_sha256");
  return Sha256Hex(doc.dump());
}

json RowJson(const PatientRow& r) {
  json row = {r.patient, r.arm, r.sex == Sex::kFemale ? 1 : 0};
  for (double PatientRow::*f : kDoubles) row.push_back(r.*f);
  for (bool PatientRow::*f : kFlags) row.push_back(r.*f ? 1 : 0);
  row.push_back(r.last_visit_day);
  return row;
}

absl::Status Bad(absl::string_view what) { return absl::InvalidArgumentError(what); }

bool Flag(const json& v, bool* out) {
  if (!v.is_number_integer() || (v.get<int>() != 0 && v.get<int>() != 1)) return false;
  *out = v.get<int>() == 1;
  return true;
}

absl::StatusOr<PatientRow> RowOf(const json& row, int n_arms) {
  if (!row.is_array() || row.size() != Columns().size()) return Bad("a row has the wrong number of columns");
  PatientRow r;
  if (!row[0].is_number_integer() || !row[1].is_number_integer())
    return Bad("a row's patient or arm is not an integer");
  r.patient = row[0].get<int>();
  r.arm = row[1].get<int>();
  if (r.arm < 0 || r.arm >= n_arms)
    return Bad(absl::StrCat("row of patient ", r.patient, ": arm ", r.arm, " is not in the spec"));
  bool female = false;
  if (!Flag(row[2], &female)) return Bad(absl::StrCat("row of patient ", r.patient, ": female must be 0 or 1"));
  r.sex = female ? Sex::kFemale : Sex::kMale;
  std::size_t c = 3;
  for (double PatientRow::*f : kDoubles) {
    if (!row[c].is_number())
      return Bad(absl::StrCat("row of patient ", r.patient, ": ", Columns()[c].get<std::string>(), " is not a number"));
    r.*f = row[c++].get<double>();
  }
  for (bool PatientRow::*f : kFlags) {
    if (!Flag(row[c], &(r.*f)))
      return Bad(absl::StrCat("row of patient ", r.patient, ": ", Columns()[c].get<std::string>(), " must be 0 or 1"));
    ++c;
  }
  if (!row[c].is_number_integer() || row[c].get<int>() < 0)
    return Bad(absl::StrCat("row of patient ", r.patient, ": last_visit_day must be a non-negative integer"));
  r.last_visit_day = row[c].get<int>();
  return r;
}

absl::StatusOr<int> IntField(const json& doc, const char* object, const char* key) {
  const auto o = doc.find(object);
  if (o == doc.end() || !o->is_object()) return Bad(absl::StrCat(object, ": missing"));
  const auto v = o->find(key);
  if (v == o->end() || !v->is_number_integer()) return Bad(absl::StrCat(object, ".", key, ": must be an integer"));
  return v->get<int>();
}

absl::StatusOr<CohortPart> PartOf(const json& doc) {
  if (!doc.is_object() || doc.value("type", "") != "cohort_part")
    return Bad("not a cohort part file (type is not \"cohort_part\")");
  if (doc.value("format", 0) != kFormat) return Bad(absl::StrCat("format: this build reads format ", kFormat));
  if (!doc.contains("content_sha256") || doc["content_sha256"] != ContentSha256(doc)) {
    return Bad("content_sha256 does not match the content (the part was edited or damaged)");
  }
  CohortPart part;
  absl::StatusOr<CohortSpec> spec = ParseCohortSpec(doc.value("spec", json()).dump());
  if (!spec.ok()) return Bad(absl::StrCat("spec: ", spec.status().message()));
  part.spec = *std::move(spec);
  part.spec_sha256 = doc.value("spec_sha256", "");
  if (part.spec_sha256 != CohortSpecSha256(part.spec)) return Bad("spec_sha256 does not match the spec it carries");
  absl::StatusOr<int> index = IntField(doc, "shard", "index"), count = IntField(doc, "shard", "count");
  absl::StatusOr<int> begin = IntField(doc, "patients", "begin"), end = IntField(doc, "patients", "end");
  for (const auto* v : {&index, &count, &begin, &end}) {
    if (!v->ok()) return v->status();
  }
  part.shard.shard = {*index, *count};
  if (absl::Status s = ValidateCohortShard(part.spec, part.shard.shard); !s.ok()) return s;
  part.shard.range = CohortShardRange(part.spec.patients, part.shard.shard);
  if (part.shard.range.begin != *begin || part.shard.range.end != *end) {
    return Bad(absl::StrCat("patients ", *begin, "..", *end, " are not shard ", *index, "/", *count, "'s (",
                            part.shard.range.begin, "..", part.shard.range.end, ")"));
  }
  if (doc.value("columns", json()) != Columns()) return Bad("columns: not the columns of this build");
  const json& archetypes = doc.value("archetypes", json());
  if (!archetypes.is_array()) return Bad("archetypes: must be an array");
  for (const json& a : archetypes) {
    if (!a.is_number_integer()) return Bad("archetypes: must be integers");
    part.shard.archetypes.push_back(a.get<int>());
  }
  const json& rows = doc.value("rows", json());
  const int per_patient = part.spec.allocation == Allocation::kEveryArm ? static_cast<int>(part.spec.arms.size()) : 1;
  const std::size_t expected = static_cast<std::size_t>(*end - *begin) * per_patient;
  if (!rows.is_array() || rows.size() != expected) {
    return Bad(absl::StrCat("rows: expected ", expected, " rows for patients ", *begin, "..", *end));
  }
  part.shard.rows.reserve(expected);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    absl::StatusOr<PatientRow> r = RowOf(rows[i], static_cast<int>(part.spec.arms.size()));
    if (!r.ok()) return r.status();
    if (r->patient != *begin + static_cast<int>(i) / per_patient) {
      return Bad(absl::StrCat("rows[", i, "]: patient ", r->patient, " is out of order"));
    }
    part.shard.rows.push_back(*r);
  }
  return part;
}

}  // namespace

std::string CohortSpecSha256(const CohortSpec& spec) { return Sha256Hex(CohortSpecToJson(spec).dump()); }

std::string CohortPartText(const CohortSpec& spec, const CohortShardResult& part) {
  json rows = json::array();
  for (const PatientRow& r : part.rows) rows.push_back(RowJson(r));
  json doc = {{"type", "cohort_part"},
              {"format", kFormat},
              {"spec", CohortSpecToJson(spec)},
              {"spec_sha256", CohortSpecSha256(spec)},
              {"shard", {{"index", part.shard.index}, {"count", part.shard.count}}},
              {"patients", {{"begin", part.range.begin}, {"end", part.range.end}}},
              {"archetypes", part.archetypes},
              {"columns", Columns()},
              {"rows", std::move(rows)}};
  doc["content_sha256"] = ContentSha256(doc);
  return doc.dump() + "\n";
}

absl::StatusOr<CohortPart> ParseCohortPart(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Bad("not valid JSON (truncated or not a part file)");
  try {
    return PartOf(doc);
  } catch (const json::exception& e) {  // a field of the wrong type that value() would not take
    return Bad(absl::StrCat("malformed part: ", e.what()));
  }
}

absl::StatusOr<MergedCohort> MergeCohortParts(const std::vector<NamedPart>& named) {
  if (named.empty()) return Bad("no part files given");
  std::vector<CohortPart> parts;
  std::map<int, std::size_t> by_index;  // shard index -> position in `named`
  for (std::size_t i = 0; i < named.size(); ++i) {
    absl::StatusOr<CohortPart> p = ParseCohortPart(named[i].text);
    if (!p.ok()) return Bad(absl::StrCat(named[i].name, ": ", p.status().message()));
    const CohortShard s = p->shard.shard;
    if (!parts.empty()) {
      const CohortPart& first = parts.front();
      if (p->spec_sha256 != first.spec_sha256) {
        return Bad(absl::StrCat(named[i].name, ": a part of another spec (spec sha256 ", p->spec_sha256.substr(0, 12),
                                "..., ", named[0].name, " has ", first.spec_sha256.substr(0, 12), "...)"));
      }
      if (s.count != first.shard.shard.count) {
        return Bad(absl::StrCat(named[i].name, ": shard ", s.index, "/", s.count, " is of a ", s.count,
                                "-shard run, but ", named[0].name, " is of a ", first.shard.shard.count, "-shard run"));
      }
    }
    if (auto [it, fresh] = by_index.emplace(s.index, i); !fresh) {
      return Bad(absl::StrCat(named[i].name, ": shard ", s.index, "/", s.count, " again (also in ",
                              named[it->second].name, ")"));
    }
    parts.push_back(*std::move(p));
  }
  const int count = parts.front().shard.shard.count;
  const CohortSpec& spec = parts.front().spec;
  for (int k = 0; k < count; ++k) {
    if (by_index.count(k) == 0) {
      const PatientRange r = CohortShardRange(spec.patients, {k, count});
      return Bad(absl::StrCat("shard ", k, "/", count, " (patients ", r.begin, "..", r.end - 1, ") is missing: got ",
                              parts.size(), " of ", count, " parts"));
    }
  }
  MergedCohort m;
  m.spec = spec;
  m.shard_count = count;
  std::set<int> archetypes;
  for (const auto& [k, i] : by_index) {
    CohortShardResult& s = parts[i].shard;
    archetypes.insert(s.archetypes.begin(), s.archetypes.end());
    m.result.rows.insert(m.result.rows.end(), s.rows.begin(), s.rows.end());
  }
  m.result.archetypes_built = static_cast<int>(archetypes.size());
  m.result.arms = SummariseCohort(spec, m.result.rows);
  return m;
}

}  // namespace healthtwin::models::treatment
