// ISO/IEEE 11073-10101 (MDC) nomenclature for what healthtwin sends in IHE PCD messages:
// the metric code of each vital type with its MDC unit, and the alarm attributes of PCD-04.
// A numeric code is partition * 65536 + the code within the partition (11073-10101 clause
// A.3); every number, its REFID and its source are listed in services/feeds/hl7/README.md.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "services/common/vital_type.h"

namespace healthtwin::feeds::hl7 {

struct MdcCode {
  int code = 0;            // context-free numeric code, e.g. 147842
  std::string_view refid;  // e.g. "MDC_ECG_HEART_RATE"
};

struct MdcMetric {
  MdcCode metric;
  MdcCode unit;                // MDC_DIM_...
  std::string_view ucum_unit;  // the UCUM unit healthtwin stores values in
};

// nullopt for kUnspecified and unknown values.
std::optional<MdcMetric> MetricFor(common::VitalType type);

// "147842^MDC_ECG_HEART_RATE^MDC": an HL7 CWE with coding system MDC.
std::string AsCwe(const MdcCode& code);

// PCD-04 alarm attributes (IHE PCD TF Vol. 2 Rev 9.0, 3.4 / ACM supplement; numeric codes
// from 11073-10101 partition 1, object-oriented).
inline constexpr MdcCode kMdcEvtAlarm{196616, "MDC_EVT_ALARM"};
inline constexpr MdcCode kMdcAttrAlertSource{68480, "MDC_ATTR_ALERT_SOURCE"};
inline constexpr MdcCode kMdcAttrEventPhase{68481, "MDC_ATTR_EVENT_PHASE"};
inline constexpr MdcCode kMdcAttrAlarmState{68482, "MDC_ATTR_ALARM_STATE"};
inline constexpr MdcCode kMdcAttrAlarmInactivationState{68483, "MDC_ATTR_ALARM_INACTIVATION_STATE"};
inline constexpr MdcCode kMdcAttrAlarmPriority{68484, "MDC_ATTR_ALARM_PRIORITY"};
inline constexpr MdcCode kMdcAttrAlertType{68485, "MDC_ATTR_ALERT_TYPE"};
inline constexpr MdcCode kMdcAttrAlertText{68546, "MDC_ATTR_ALERT_TEXT"};

// Coding system for healthtwin's own codes (rule ids, NEWS2, technical inputs): HL7 reserves
// names beginning "99" for locally defined tables (HL7 v2.6 Table 0396).
inline constexpr char kLocalCodingSystem[] = "99HEALTHTWIN";

}  // namespace healthtwin::feeds::hl7
