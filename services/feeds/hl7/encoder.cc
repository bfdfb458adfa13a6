#include "services/feeds/hl7/encoder.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "services/feeds/hl7/escape.h"
#include "services/feeds/hl7/mdc_codes.h"

namespace healthtwin::feeds::hl7 {
namespace {

// Message profiles (MSH-21) as used in IHE PCD reference messages; README.md "Sources".
constexpr char kProfilePcd04[] = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.4.4^ISO";
constexpr char kProfilePcd01[] = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO";

// One segment: fields[0] is the segment id; Set(n, ...) sets field n (already escaped).
class Segment {
 public:
  explicit Segment(std::string id) { fields_.push_back(std::move(id)); }
  Segment& Set(size_t n, std::string value) {
    if (fields_.size() <= n) fields_.resize(n + 1);
    fields_[n] = std::move(value);
    return *this;
  }
  std::string ToString() const { return absl::StrJoin(fields_, "|") + "\r"; }

 private:
  std::vector<std::string> fields_;
};

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

// HL7 DTM in UTC with milliseconds, e.g. 20261206214400.123+0000. By hand rather than
// absl::FormatTime: one per OBX, and FormatTime was most of the cost of an ORU^R01.
std::string Dtm(int64_t unix_us) {
  const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixMicros(unix_us), absl::UTCTimeZone());
  const int64_t ms = ((unix_us % 1'000'000 + 1'000'000) % 1'000'000) / 1000;  // floor, also before 1970
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld%02d%02d%02d%02d%02d.%03lld+0000", static_cast<long long>(cs.year()),
                cs.month(), cs.day(), cs.hour(), cs.minute(), cs.second(), static_cast<long long>(ms));
  return buf;
}

// NM: decimal without exponent, shortest form that reads back as the same double.
std::string Number(double v) {
  char buf[400];
  const auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
  return std::string(buf, res.ptr);
}

bool IsControlIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

absl::Status ValidateContext(const MessageContext& context) {
  if (context.control_id.empty() || context.control_id.size() > 199) {
    return Invalid("context.control_id", "must have 1 to 199 characters");
  }
  for (char c : context.control_id) {
    if (!IsControlIdChar(c)) return Invalid("context.control_id", "only [A-Za-z0-9._-] are allowed");
  }
  if (context.created_at_us <= 0) return Invalid("context.created_at_us", "must be set");
  if (context.identity.sending_application.empty()) return Invalid("identity.sending_application", "empty");
  if (context.identity.processing_id != "P" && context.identity.processing_id != "D" &&
      context.identity.processing_id != "T") {
    return Invalid("identity.processing_id", "must be P, D or T");
  }
  return absl::OkStatus();
}

std::string Msh(const MessageContext& context, const std::string& type, const std::string& profile) {
  const FeedIdentity& id = context.identity;
  Segment msh("MSH");
  msh.Set(1, "^~\\&")  // MSH-1 is the field separator itself; this is MSH-2
      .Set(2, Escape(id.sending_application))
      .Set(3, Escape(id.sending_facility))
      .Set(4, Escape(id.receiving_application))
      .Set(5, Escape(id.receiving_facility))
      .Set(6, Dtm(context.created_at_us))
      .Set(8, std::string(type))
      .Set(9, context.control_id)
      .Set(10, id.processing_id)
      .Set(11, "2.6")
      .Set(17, "UNICODE UTF-8")
      .Set(20, std::string(profile));
  if (id.enhanced_ack) msh.Set(14, "AL").Set(15, "NE");
  // Field n of this vector is MSH-(n+1), because MSH-1 is the separator between "MSH" and
  // MSH-2.
  return msh.ToString();
}

std::string Pid(const std::string& patient_id) {
  // PID-3 (CX): id ^^^ assigning authority ^ identifier type code (PI: patient internal).
  return Segment("PID").Set(3, absl::StrCat(Escape(patient_id), "^^^HEALTHTWIN^PI")).ToString();
}

// PV1-2 patient class U (unknown, HL7 Table 0004): a home patient has no encounter.
std::string Pv1() { return Segment("PV1").Set(2, "U").ToString(); }

const char* PhaseText(EventPhase p) {
  switch (p) {
    case EventPhase::kStart:
      return "start";
    case EventPhase::kContinue:
      return "continue";
    case EventPhase::kEnd:
      return "end";
  }
  return "";
}
const char* StateText(AlarmState s) {
  switch (s) {
    case AlarmState::kActive:
      return "active";
    case AlarmState::kInactive:
      return "inactive";
    case AlarmState::kLatched:
      return "latched";
  }
  return "";
}
const char* InactivationText(InactivationState s) {
  switch (s) {
    case InactivationState::kEnabled:
      return "enabled";
    case InactivationState::kAcknowledged:
      return "alert-acknowledged";
    case InactivationState::kAudioPaused:
      return "audio-paused";
  }
  return "";
}
// IHE PCD alarm priority: PH high, PM medium, PL low (PCD TF Vol. 2, alarm priority table).
const char* PriorityCode(AlertPriority p) {
  switch (p) {
    case AlertPriority::kHigh:
      return "PH";
    case AlertPriority::kMedium:
      return "PM";
    case AlertPriority::kLow:
      return "PL";
  }
  return "";
}
// IHE PCD alert type: SP physiological, ST technical.
const char* AlertTypeCode(AlertCategory c) { return c == AlertCategory::kTechnical ? "ST" : "SP"; }

absl::Status ValidateEvent(const AlertEventView& e) {
  if (e.alert_id.empty()) return Invalid("alert.alert_id", "empty");
  if (e.patient_id.empty()) return Invalid("alert.patient_id", "empty");
  if (e.rule_id.empty()) return Invalid("alert.rule_id", "empty");
  if (e.event_seq <= 0) return Invalid("alert.event_seq", "must be positive");
  if (e.event_at_us <= 0) return Invalid("alert.event_at_us", "must be set");
  if (static_cast<int>(e.priority) < 1 || static_cast<int>(e.priority) > 3) {
    return Invalid("alert.priority", "must be LOW, MEDIUM or HIGH");
  }
  if (static_cast<int>(e.kind) < 1 || static_cast<int>(e.kind) > 11) return Invalid("alert.kind", "unknown kind");
  if (e.trigger) {
    if (e.trigger->type.empty()) return Invalid("alert.trigger.type", "empty");
    if (!std::isfinite(e.trigger->value)) return Invalid("alert.trigger.value", "not a finite number");
  }
  return absl::OkStatus();
}

// The code of the triggering observation: MDC for vital types, local otherwise.
std::string ObservationCwe(const TriggerObservation& t) {
  if (auto type = common::VitalTypeFromName(t.type)) {
    if (auto metric = MetricFor(*type)) return AsCwe(metric->metric);
  }
  return absl::StrCat(Escape(t.type), "^", Escape(t.type), "^", kLocalCodingSystem);
}

// OBX-6: the MDC unit when the value is in the metric's canonical unit, else UCUM.
std::string UnitCwe(const std::string& type_name, const std::string& ucum) {
  if (auto type = common::VitalTypeFromName(type_name)) {
    if (auto metric = MetricFor(*type); metric && metric->ucum_unit == ucum) return AsCwe(metric->unit);
  }
  if (ucum.empty()) return "";
  return absl::StrCat(Escape(ucum), "^", Escape(ucum), "^UCUM");
}

}  // namespace

absl::StatusOr<std::string> EncodeOruR40(const AlertEventView& e, const MessageContext& context) {
  if (auto s = ValidateContext(context); !s.ok()) return s;
  if (auto s = ValidateEvent(e); !s.ok()) return s;

  const std::string app = Escape(context.identity.sending_application);
  const std::string event_time = Dtm(e.event_at_us);
  std::string out = Msh(context, "ORU^R40^ORU_R40", kProfilePcd04) + Pid(e.patient_id) + Pv1();
  out += Segment("OBR")
             .Set(1, "1")
             .Set(2, absl::StrCat(Escape(e.alert_id), "-", e.event_seq, "^", app))
             .Set(3, absl::StrCat(Escape(e.alert_id), "^", app))
             .Set(4, AsCwe(kMdcEvtAlarm))
             .Set(7, event_time)
             .ToString();

  // OBX-8 interpretation codes carry priority and type on the event OBX, as PCD-04 does.
  const std::string interpretation = absl::StrCat(PriorityCode(e.priority), "~", AlertTypeCode(e.category));
  const std::string rule_cwe = absl::StrCat(Escape(e.rule_id), "^", Escape(e.rule_id), "^", kLocalCodingSystem);
  int set_id = 0;
  auto obx = [&](std::string type, const MdcCode& code, std::string value) {
    ++set_id;
    Segment s("OBX");
    s.Set(1, std::to_string(set_id))
        .Set(2, std::move(type))
        .Set(3, AsCwe(code))
        .Set(4, absl::StrCat("1.0.0.0.", set_id))
        .Set(5, std::move(value))
        .Set(11, "R")  // R: results entered, not verified (PCD-04 alarm OBX)
        .Set(14, event_time);
    return s;
  };
  out += obx("CWE", kMdcEvtAlarm, rule_cwe).Set(8, interpretation).ToString();
  out += obx("CWE", kMdcAttrAlertSource, e.trigger ? ObservationCwe(*e.trigger) : rule_cwe).ToString();
  out += obx("ST", kMdcAttrEventPhase, PhaseText(e.phase)).ToString();
  out += obx("ST", kMdcAttrAlarmState, StateText(e.alarm_state)).ToString();
  out += obx("ST", kMdcAttrAlarmInactivationState, InactivationText(e.inactivation)).ToString();
  out += obx("ST", kMdcAttrAlarmPriority, PriorityCode(e.priority)).ToString();
  out += obx("ST", kMdcAttrAlertType, AlertTypeCode(e.category)).ToString();
  out += obx("ST", kMdcAttrAlertText, Escape(e.text)).ToString();
  if (e.trigger) {
    const TriggerObservation& t = *e.trigger;
    ++set_id;
    out += Segment("OBX")
               .Set(1, std::to_string(set_id))
               .Set(2, "NM")
               .Set(3, ObservationCwe(t))
               .Set(4, absl::StrCat("1.0.0.0.", set_id))
               .Set(5, Number(t.value))
               .Set(6, UnitCwe(t.type, t.ucum_unit))
               // P (preliminary) marks a lower bound: an aggregate score with missing inputs.
               .Set(11, e.partial ? "P" : "F")
               .Set(14, Dtm(t.observed_at_us > 0 ? t.observed_at_us : e.event_at_us))
               .ToString();
  }
  return out;
}

absl::StatusOr<std::string> EncodeOruR01(const std::vector<VitalSampleView>& samples, const MessageContext& context) {
  if (auto s = ValidateContext(context); !s.ok()) return s;
  if (samples.empty()) return Invalid("samples", "empty batch");
  int64_t earliest_us = samples.front().measured_at_us;
  for (size_t i = 0; i < samples.size(); ++i) {
    const VitalSampleView& v = samples[i];
    const std::string field = absl::StrCat("samples[", i, "]");
    if (v.patient_id.empty()) return Invalid(field + ".patient_id", "empty");
    if (v.patient_id != samples.front().patient_id) {
      return Invalid(field + ".patient_id", "a batch holds one patient's samples");
    }
    auto metric = MetricFor(v.type);
    if (!metric) return Invalid(field + ".type", "unknown vital type");
    if (v.ucum_unit != metric->ucum_unit) {
      return Invalid(field + ".ucum_unit",
                     absl::StrCat("'", v.ucum_unit, "' is not the stored unit '", std::string(metric->ucum_unit), "'"));
    }
    if (!std::isfinite(v.value)) return Invalid(field + ".value", "not a finite number");
    if (v.measured_at_us <= 0) return Invalid(field + ".measured_at_us", "must be set");
    earliest_us = std::min(earliest_us, v.measured_at_us);
  }

  std::string out = Msh(context, "ORU^R01^ORU_R01", kProfilePcd01) + Pid(samples.front().patient_id) + Pv1();
  // OBR-4: 182777000 "monitoring of patient" (SNOMED CT), as PCD-01 uses for periodic data.
  out += Segment("OBR")
             .Set(1, "1")
             .Set(3, absl::StrCat(context.control_id, "^", Escape(context.identity.sending_application)))
             .Set(4, "182777000^monitoring of patient^SCT")
             .Set(7, Dtm(earliest_us))
             .ToString();
  for (size_t i = 0; i < samples.size(); ++i) {
    const VitalSampleView& v = samples[i];
    const MdcMetric metric = *MetricFor(v.type);
    out += Segment("OBX")
               .Set(1, std::to_string(i + 1))
               .Set(2, "NM")
               .Set(3, AsCwe(metric.metric))
               .Set(4, absl::StrCat("1.0.0.", i + 1))
               .Set(5, Number(v.value))
               .Set(6, AsCwe(metric.unit))
               .Set(11, "F")
               .Set(14, Dtm(v.measured_at_us))
               .Set(18, absl::StrCat(Escape(v.device_id), "^HEALTHTWIN"))
               .ToString();
  }
  return out;
}

}  // namespace healthtwin::feeds::hl7
