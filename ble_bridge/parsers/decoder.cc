#include "ble_bridge/parsers/decoder.h"

#include <cctype>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace healthtwin::ble {
namespace {

template <typename T>
absl::StatusOr<Decoded> Wrap(Characteristic c, absl::StatusOr<T> parsed) {
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(CharacteristicShortUuid(c), " ", CharacteristicName(c), ": ", parsed.status().message()));
  }
  return Decoded{c, GattValue(std::move(*parsed))};
}

bool AllHex(absl::string_view s) {
  for (char ch : s) {
    if (!std::isxdigit(static_cast<unsigned char>(ch))) return false;
  }
  return !s.empty();
}

}  // namespace

absl::string_view CharacteristicName(Characteristic c) {
  switch (c) {
    case Characteristic::kTemperatureMeasurement:
      return "temperature_measurement";
    case Characteristic::kIntermediateTemperature:
      return "intermediate_temperature";
    case Characteristic::kGlucoseMeasurement:
      return "glucose_measurement";
    case Characteristic::kBatteryLevel:
      return "battery_level";
    case Characteristic::kModelNumberString:
      return "model_number_string";
    case Characteristic::kSerialNumberString:
      return "serial_number_string";
    case Characteristic::kFirmwareRevisionString:
      return "firmware_revision_string";
    case Characteristic::kManufacturerNameString:
      return "manufacturer_name_string";
    case Characteristic::kCurrentTime:
      return "current_time";
    case Characteristic::kGlucoseMeasurementContext:
      return "glucose_measurement_context";
    case Characteristic::kBloodPressureMeasurement:
      return "blood_pressure_measurement";
    case Characteristic::kIntermediateCuffPressure:
      return "intermediate_cuff_pressure";
    case Characteristic::kHeartRateMeasurement:
      return "heart_rate_measurement";
    case Characteristic::kRecordAccessControlPoint:
      return "record_access_control_point";
    case Characteristic::kPlxSpotCheckMeasurement:
      return "plx_spot_check_measurement";
    case Characteristic::kPlxContinuousMeasurement:
      return "plx_continuous_measurement";
    case Characteristic::kWeightMeasurement:
      return "weight_measurement";
  }
  return "unknown";
}

std::string CharacteristicShortUuid(Characteristic c) { return absl::StrFormat("%04X", static_cast<uint16_t>(c)); }

absl::StatusOr<Characteristic> ParseCharacteristicUuid(absl::string_view uuid) {
  std::string s = absl::AsciiStrToLower(absl::StripAsciiWhitespace(uuid));
  absl::string_view v = s;
  static constexpr absl::string_view kBaseSuffix = "-0000-1000-8000-00805f9b34fb";
  if (v.size() == 36 && absl::EndsWith(v, kBaseSuffix) && absl::StartsWith(v, "0000")) {
    v = v.substr(4, 4);
  } else if (absl::StartsWith(v, "0x")) {
    v.remove_prefix(2);
  }
  if (v.size() != 4 || !AllHex(v)) {
    return absl::InvalidArgumentError(absl::StrCat("'", uuid,
                                                   "' is not a characteristic UUID (expected e.g. 2A35, 0x2A35 or "
                                                   "00002a35-0000-1000-8000-00805f9b34fb)"));
  }
  const auto number = static_cast<uint16_t>(std::stoul(std::string(v), nullptr, 16));
  for (Characteristic c : kAllCharacteristics) {
    if (static_cast<uint16_t>(c) == number) return c;
  }
  return absl::NotFoundError(absl::StrCat("characteristic ", absl::AsciiStrToUpper(v), " has no parser"));
}

absl::StatusOr<Decoded> Decode(Characteristic c, std::span<const uint8_t> value) {
  switch (c) {
    case Characteristic::kHeartRateMeasurement:
      return Wrap(c, ParseHeartRateMeasurement(value));
    case Characteristic::kBloodPressureMeasurement:
      return Wrap(c, ParseBloodPressureMeasurement(value));
    case Characteristic::kIntermediateCuffPressure:
      return Wrap(c, ParseIntermediateCuffPressure(value));
    case Characteristic::kPlxSpotCheckMeasurement:
      return Wrap(c, ParsePlxSpotCheckMeasurement(value));
    case Characteristic::kPlxContinuousMeasurement:
      return Wrap(c, ParsePlxContinuousMeasurement(value));
    case Characteristic::kTemperatureMeasurement:
    case Characteristic::kIntermediateTemperature:
      return Wrap(c, ParseTemperatureMeasurement(value));
    case Characteristic::kWeightMeasurement:
      return Wrap(c, ParseWeightMeasurement(value));
    case Characteristic::kGlucoseMeasurement:
      return Wrap(c, ParseGlucoseMeasurement(value));
    case Characteristic::kGlucoseMeasurementContext:
      return Wrap(c, ParseGlucoseMeasurementContext(value));
    case Characteristic::kBatteryLevel:
      return Wrap(c, ParseBatteryLevel(value));
    case Characteristic::kRecordAccessControlPoint:
      return Wrap(c, ParseRacp(value));
    case Characteristic::kCurrentTime:
      return Wrap(c, ParseCurrentTime(value));
    case Characteristic::kManufacturerNameString:
    case Characteristic::kModelNumberString:
    case Characteristic::kSerialNumberString:
    case Characteristic::kFirmwareRevisionString:
      return Wrap(c, ParseDeviceInfoString(value));
  }
  return absl::InvalidArgumentError(absl::StrCat("characteristic ", static_cast<int>(c), " has no parser"));
}

std::size_t GattDecoder::Index(Characteristic c) {
  for (std::size_t i = 0; i < kAllCharacteristics.size(); ++i) {
    if (kAllCharacteristics[i] == c) return i;
  }
  // A value outside the enum is a caller's bug; one bad caller must not take down the bridge.
  return kAllCharacteristics.size();
}

absl::StatusOr<Decoded> GattDecoder::Decode(Characteristic c, std::span<const uint8_t> value) {
  auto decoded = ble::Decode(c, value);
  auto& counters = counters_[Index(c)];
  (decoded.ok() ? counters.accepted : counters.rejected).fetch_add(1, std::memory_order_relaxed);
  return decoded;
}

}  // namespace healthtwin::ble
