// Which BLE services the bridge looks for and which characteristics it subscribes to.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "ble_bridge/parsers/decoder.h"

namespace healthtwin::ble {

// Heart Rate, Blood Pressure, Pulse Oximeter, Health Thermometer, Weight Scale, Glucose.
inline constexpr std::array<uint16_t, 6> kHealthServiceUuids16 = {0x180D, 0x1810, 0x1822, 0x1809, 0x181D, 0x1808};

// Characteristics that carry measurements by notification or indication; the bridge calls
// StartNotify on each one a device exposes.
inline constexpr std::array<Characteristic, 11> kNotifiedCharacteristics = {
    Characteristic::kHeartRateMeasurement,     Characteristic::kBloodPressureMeasurement,
    Characteristic::kIntermediateCuffPressure, Characteristic::kPlxSpotCheckMeasurement,
    Characteristic::kPlxContinuousMeasurement, Characteristic::kTemperatureMeasurement,
    Characteristic::kIntermediateTemperature,  Characteristic::kWeightMeasurement,
    Characteristic::kGlucoseMeasurement,       Characteristic::kGlucoseMeasurementContext,
    Characteristic::kBatteryLevel,
};

// "0000180d-0000-1000-8000-00805f9b34fb": BlueZ always spells UUIDs in full, in lower case.
std::string FullUuid(uint16_t uuid16);
// The 16-bit value of a SIG base UUID (any case), or nullopt for a vendor UUID or garbage.
std::optional<uint16_t> ShortUuid(absl::string_view uuid);
bool IsHealthService(absl::string_view uuid);
// The characteristic when `uuid` is one of kNotifiedCharacteristics.
std::optional<Characteristic> NotifiedCharacteristic(absl::string_view uuid);

}  // namespace healthtwin::ble
