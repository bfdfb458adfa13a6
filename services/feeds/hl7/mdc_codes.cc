#include "services/feeds/hl7/mdc_codes.h"

#include "absl/strings/str_cat.h"

namespace healthtwin::feeds::hl7 {
namespace {

// Units, partition 4 (MDC_PART_DIM). Sources: README.md "MDC codes".
constexpr MdcCode kDimBeatPerMin{264864, "MDC_DIM_BEAT_PER_MIN"};
constexpr MdcCode kDimRespPerMin{264928, "MDC_DIM_RESP_PER_MIN"};
constexpr MdcCode kDimMmHg{266016, "MDC_DIM_MMHG"};
constexpr MdcCode kDimPercent{262688, "MDC_DIM_PERCENT"};
constexpr MdcCode kDimDegC{268192, "MDC_DIM_DEGC"};
constexpr MdcCode kDimKiloG{263875, "MDC_DIM_KILO_G"};
constexpr MdcCode kDimMilliGPerDl{264274, "MDC_DIM_MILLI_G_PER_DL"};

}  // namespace

std::optional<MdcMetric> MetricFor(common::VitalType type) {
  using common::VitalType;
  // Metrics, partition 2 (MDC_PART_SCADA). Sources: README.md "MDC codes".
  switch (type) {
    case VitalType::kHeartRate:  // a chest strap measures the ECG-derived rate
      return MdcMetric{{147842, "MDC_ECG_HEART_RATE"}, kDimBeatPerMin, "/min"};
    case VitalType::kPulseRate:
      return MdcMetric{{149514, "MDC_PULS_RATE"}, kDimBeatPerMin, "/min"};
    case VitalType::kSystolicBp:
      return MdcMetric{{150021, "MDC_PRESS_BLD_NONINV_SYS"}, kDimMmHg, "mm[Hg]"};
    case VitalType::kDiastolicBp:
      return MdcMetric{{150022, "MDC_PRESS_BLD_NONINV_DIA"}, kDimMmHg, "mm[Hg]"};
    case VitalType::kMeanArterialBp:
      return MdcMetric{{150023, "MDC_PRESS_BLD_NONINV_MEAN"}, kDimMmHg, "mm[Hg]"};
    case VitalType::kSpo2:
      return MdcMetric{{150456, "MDC_PULS_OXIM_SAT_O2"}, kDimPercent, "%"};
    case VitalType::kBodyTemperature:
      return MdcMetric{{150364, "MDC_TEMP_BODY"}, kDimDegC, "Cel"};
    case VitalType::kBodyWeight:
      return MdcMetric{{188736, "MDC_MASS_BODY_ACTUAL"}, kDimKiloG, "kg"};
    case VitalType::kGlucose:
      return MdcMetric{{160184, "MDC_CONC_GLU_CAPILLARY_WHOLEBLOOD"}, kDimMilliGPerDl, "mg/dL"};
    case VitalType::kRespiratoryRate:
      return MdcMetric{{151562, "MDC_RESP_RATE"}, kDimRespPerMin, "/min"};
    case VitalType::kUnspecified:
      break;
  }
  return std::nullopt;
}

std::string AsCwe(const MdcCode& code) { return absl::StrCat(code.code, "^", std::string(code.refid), "^MDC"); }

}  // namespace healthtwin::feeds::hl7
