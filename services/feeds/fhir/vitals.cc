#include "services/feeds/fhir/vitals.h"

#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "services/feeds/fhir/codes.h"
#include "services/feeds/fhir/ids.h"

namespace healthtwin::feeds::fhir {
namespace {

using common::VitalType;
using nlohmann::json;

json Coding(std::string_view system, std::string_view code, std::string_view display) {
  return json{{"system", system}, {"code", code}, {"display", display}};
}

json Quantity(double value, std::string_view ucum) {
  return json{{"value", value}, {"unit", ucum}, {"system", kUcumSystem}, {"code", ucum}};
}

// The parts every vital-signs Observation shares (R4 vitalsigns profile: status, category
// vital-signs, subject 1..1, effective[x] 1..1).
json VitalSignsBase(std::string_view id, std::string_view profile, json code, const VitalSample& s) {
  json o = {
      {"resourceType", "Observation"},
      {"id", id},
      {"meta", {{"profile", json::array({profile})}}},
      {"status", "final"},
      {"category",
       json::array({json{{"coding", json::array({Coding(kObservationCategorySystem, "vital-signs", "Vital Signs")})},
                         {"text", "Vital Signs"}}})},
      {"code", std::move(code)},
      {"subject", Reference("Patient", PatientId(s.patient_id))},
      {"effectiveDateTime", FhirInstant(s.measured_at_us)}};
  if (!s.device_id.empty()) o["device"] = Reference("Device", DeviceId(s.device_id));
  return o;
}

json BpComponent(std::string_view loinc, std::string_view display, const VitalSample* half) {
  json c = {{"code", {{"coding", json::array({Coding(kLoincSystem, loinc, display)})}}}};
  if (half != nullptr) {
    c["valueQuantity"] = Quantity(half->value, "mm[Hg]");
  } else {
    c["dataAbsentReason"] = {{"coding", json::array({Coding(kDataAbsentReasonSystem, "unknown", "Unknown")})}};
  }
  return c;
}

json BpPanel(const VitalSample* systolic, const VitalSample* diastolic) {
  const VitalSample& any = systolic != nullptr ? *systolic : *diastolic;
  json code = {
      {"coding", json::array({Coding(kLoincSystem, kBpPanelLoinc, "Blood pressure panel with all children optional")})},
      {"text", "Blood pressure"}};
  json o = VitalSignsBase(
      BpObservationId(systolic != nullptr ? systolic->ingest_seq : 0, diastolic != nullptr ? diastolic->ingest_seq : 0),
      kBpProfile, std::move(code), any);
  o["component"] = json::array({BpComponent(kSystolicLoinc, "Systolic blood pressure", systolic),
                                BpComponent(kDiastolicLoinc, "Diastolic blood pressure", diastolic)});
  return o;
}

}  // namespace

json Reference(std::string_view type, std::string_view id) {
  return json{{"reference", std::string(type) + "/" + std::string(id)}};
}

json BuildPatient(std::string_view patient_id) {
  return json{{"resourceType", "Patient"}, {"id", PatientId(patient_id)}};
}

json BuildDevice(std::string_view device_id, std::string_view patient_id) {
  return json{{"resourceType", "Device"},
              {"id", DeviceId(device_id)},
              {"identifier", json::array({json{{"system", "urn:healthtwin:device-id"}, {"value", device_id}}})},
              {"patient", Reference("Patient", PatientId(patient_id))}};
}

std::optional<json> BuildVitalObservation(std::string_view id, const VitalSample& s) {
  const auto coding = SingleVitalCoding(s.type);
  if (!coding || s.ucum_unit != coding->ucum) return std::nullopt;
  json codings = json::array({Coding(kLoincSystem, coding->loinc, coding->display)});
  if (!coding->extra_loinc.empty()) codings.push_back(Coding(kLoincSystem, coding->extra_loinc, coding->extra_display));
  json o = VitalSignsBase(id, coding->profile, json{{"coding", std::move(codings)}, {"text", coding->display}}, s);
  o["valueQuantity"] = Quantity(s.value, coding->ucum);
  return o;
}

VitalObservations BuildVitalObservations(std::span<const VitalSample> samples) {
  VitalObservations out;
  // BP halves by (patient, device, measured_at): indexes of unpaired systolic/diastolic rows.
  using Key = std::tuple<std::string, std::string, int64_t>;
  std::map<Key, std::vector<size_t>> open_systolic, open_diastolic;
  // partner[i]: the index of the other half of sample i's panel, or -1.
  std::vector<long> partner(samples.size(), -1);
  for (size_t i = 0; i < samples.size(); ++i) {
    const VitalSample& s = samples[i];
    const bool systolic = s.type == VitalType::kSystolicBp;
    if (!systolic && s.type != VitalType::kDiastolicBp) continue;
    if (s.ucum_unit != "mm[Hg]") continue;
    const Key key{s.patient_id, s.device_id, s.measured_at_us};
    auto& others = systolic ? open_diastolic[key] : open_systolic[key];
    if (!others.empty()) {
      partner[i] = static_cast<long>(others.front());
      partner[others.front()] = static_cast<long>(i);
      others.erase(others.begin());
    } else {
      (systolic ? open_systolic[key] : open_diastolic[key]).push_back(i);
    }
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    const VitalSample& s = samples[i];
    if (s.type == VitalType::kSystolicBp || s.type == VitalType::kDiastolicBp) {
      if (s.ucum_unit != "mm[Hg]") {
        ++out.skipped_unit_mismatch;
        continue;
      }
      // A pair is emitted once, at its first row.
      if (partner[i] >= 0 && static_cast<size_t>(partner[i]) < i) continue;
      const VitalSample* other = partner[i] >= 0 ? &samples[partner[i]] : nullptr;
      const bool systolic = s.type == VitalType::kSystolicBp;
      out.observations.push_back(systolic ? BpPanel(&s, other) : BpPanel(other, &s));
      out.first_ingest_seq.push_back(s.ingest_seq);
      out.measured_at_us.push_back(s.measured_at_us);
      continue;
    }
    if (!SingleVitalCoding(s.type)) {
      ++out.skipped_without_profile;
      continue;
    }
    auto o = BuildVitalObservation(VitalObservationId(s.ingest_seq), s);
    if (!o) {
      ++out.skipped_unit_mismatch;
      continue;
    }
    out.observations.push_back(std::move(*o));
    out.first_ingest_seq.push_back(s.ingest_seq);
    out.measured_at_us.push_back(s.measured_at_us);
  }
  return out;
}

}  // namespace healthtwin::feeds::fhir
