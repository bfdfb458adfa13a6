#include "ble_bridge/bluez/gatt_uuids.h"

#include <gtest/gtest.h>

namespace healthtwin::ble {
namespace {

TEST(GattUuidsTest, FullUuidIsLowerCaseSigBase) {
  EXPECT_EQ(FullUuid(0x180D), "0000180d-0000-1000-8000-00805f9b34fb");
}

TEST(GattUuidsTest, ShortUuidRejectsVendorUuids) {
  EXPECT_EQ(ShortUuid("00002A37-0000-1000-8000-00805F9B34FB"), 0x2A37);
  EXPECT_EQ(ShortUuid("6e400001-b5a3-f393-e0a9-e50e24dcca9e"), std::nullopt);
  EXPECT_EQ(ShortUuid("2a37"), std::nullopt);
}

TEST(GattUuidsTest, HealthServicesAreRecognised) {
  EXPECT_TRUE(IsHealthService(FullUuid(0x1810)));
  EXPECT_FALSE(IsHealthService(FullUuid(0x180F)));  // battery service alone is not a health device
}

TEST(GattUuidsTest, OnlyMeasurementCharacteristicsAreNotified) {
  EXPECT_EQ(NotifiedCharacteristic(FullUuid(0x2A35)), Characteristic::kBloodPressureMeasurement);
  EXPECT_EQ(NotifiedCharacteristic(FullUuid(0x2A52)), std::nullopt);  // RACP is a control point
  EXPECT_EQ(NotifiedCharacteristic(FullUuid(0x2A29)), std::nullopt);  // device information is read
}

}  // namespace
}  // namespace healthtwin::ble
