// The decode JSON contract (MISSION.md "ble_bridge"), checked object by object.
#include "ble_bridge/parsers/json.h"

#include <gtest/gtest.h>

#include "ble_bridge/parsers/test_util.h"

namespace healthtwin::ble {
namespace {

using nlohmann::json;
using testing::V;

json DecodeJson(Characteristic c, const char* hex) {
  auto d = Decode(c, V(hex));
  if (!d.ok()) return json{{"error", std::string(d.status().message())}};
  return ToJson(*d);
}

// [Nordic] HR uint8 vector.
TEST(JsonContractTest, HeartRate) {
  EXPECT_EQ(DecodeJson(Characteristic::kHeartRateMeasurement, "1E 55 32 00 21 00"),
            json::parse(R"({"heart_rate_bpm":85,"sensor_contact":true,"energy_expended_kj":50,
                            "rr_intervals_s":[0.0322265625]})"));
  // Not supported: sensor_contact is null (not a special value); optional keys absent.
  EXPECT_EQ(DecodeJson(Characteristic::kHeartRateMeasurement, "00 55"),
            json::parse(R"({"heart_rate_bpm":85,"sensor_contact":null})"));
}

// [Nordic] BP full vector (year unknown -> timestamp null with special "Unknown").
TEST(JsonContractTest, BloodPressureFull) {
  EXPECT_EQ(
      DecodeJson(Characteristic::kBloodPressureMeasurement, "1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00"),
      json::parse(R"({"unit":"mmHg","systolic":138.0,"diastolic":88.0,"mean_arterial":120.0,
                            "systolic_mmhg":138.0,"diastolic_mmhg":88.0,"mean_arterial_mmhg":120.0,
                            "timestamp":null,"pulse_rate_bpm":60.0,"user_id":1,
                            "measurement_status":{"raw":39,"body_movement_detected":true,"cuff_too_loose":true,
                              "irregular_pulse_detected":true,"pulse_rate_range":"within_range",
                              "improper_measurement_position":true},
                            "special":{"timestamp":"Unknown"}})"));
}

// [Nordic] BP in kPa: the mmHg keys are converted (x 760/101.325) and rounded to 3 decimals.
TEST(JsonContractTest, BloodPressureKpa) {
  json j = DecodeJson(Characteristic::kBloodPressureMeasurement, "15 BD F0 0B 00 9F F0 3C 00 12 00");
  EXPECT_EQ(j["unit"], "kPa");
  EXPECT_EQ(j["systolic"], 18.9);
  EXPECT_EQ(j["systolic_mmhg"], 141.762);
  EXPECT_EQ(j["diastolic_mmhg"], 82.507);
  EXPECT_EQ(j["mean_arterial_mmhg"], 119.26);
  EXPECT_FALSE(j.contains("timestamp"));
  EXPECT_FALSE(j.contains("user_id"));
  EXPECT_FALSE(j.contains("special"));
}

// The naive-parser trap: a cuff error frame is NaN, never 2047 mmHg.
TEST(JsonContractTest, BloodPressureCuffErrorFrameIsNullNot2047) {
  json j = DecodeJson(Characteristic::kBloodPressureMeasurement, "00 FF 07 FF 07 FF 07");
  for (const char* k :
       {"systolic", "diastolic", "mean_arterial", "systolic_mmhg", "diastolic_mmhg", "mean_arterial_mmhg"}) {
    EXPECT_TRUE(j[k].is_null()) << k;
    EXPECT_EQ(j["special"][k], "NaN") << k;
  }
  EXPECT_EQ(j.dump().find("2047"), std::string::npos);
}

TEST(JsonContractTest, BloodPressureUnknownUserAndOtherSpecials) {
  // flags 0x0C: pulse + user id; MAP is +INF, pulse is NRes, user 0xFF.
  json j = DecodeJson(Characteristic::kBloodPressureMeasurement, "0C 78 00 50 00 FE 07 00 08 FF");
  EXPECT_EQ(j["special"], json::parse(R"({"mean_arterial":"+INF","mean_arterial_mmhg":"+INF",
                                          "pulse_rate_bpm":"NRes","user_id":"Unknown"})"));
  EXPECT_EQ(j["systolic"], 120.0);
}

TEST(JsonContractTest, IntermediateCuffPressure) {
  EXPECT_EQ(DecodeJson(Characteristic::kIntermediateCuffPressure, "00 D7 F0 00 00 00 00"),
            json::parse(R"({"unit":"mmHg","cuff_pressure":21.5,"cuff_pressure_mmhg":21.5})"));
}

TEST(JsonContractTest, PlxSpotCheckAndContinuous) {
  EXPECT_EQ(DecodeJson(Characteristic::kPlxSpotCheckMeasurement, "00 62 00 48 00"),
            json::parse(R"({"spo2_percent":98.0,"pulse_rate_bpm":72.0,"device_clock_not_set":false})"));
  json nan = DecodeJson(Characteristic::kPlxContinuousMeasurement, "00 FF 07 48 00");
  EXPECT_TRUE(nan["spo2_percent"].is_null());
  EXPECT_EQ(nan["special"], json::parse(R"({"spo2_percent":"NaN"})"));
}

// [Nordic] temperature vector, and 98.6 F.
TEST(JsonContractTest, Temperature) {
  EXPECT_EQ(DecodeJson(Characteristic::kTemperatureMeasurement, "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04"),
            json::parse(R"({"temperature":37.6,"unit":"C","temperature_c":37.6,
                            "timestamp":"2012-12-05T11:50:27","temperature_type":"finger"})"));
  EXPECT_EQ(DecodeJson(Characteristic::kIntermediateTemperature, "01 DA 03 00 FF"),
            json::parse(R"({"temperature":98.6,"unit":"F","temperature_c":37.0})"));
}

// [bluetooth-sig-python] weight vectors.
TEST(JsonContractTest, Weight) {
  EXPECT_EQ(DecodeJson(Characteristic::kWeightMeasurement, "0C B0 36 05 F5 00 D6 06"),
            json::parse(R"({"weight":70.0,"unit":"kg","weight_kg":70.0,"user_id":5,"bmi":24.5,
                            "height":1.75,"height_unit":"m","height_m":1.75})"));
  json lb = DecodeJson(Characteristic::kWeightMeasurement, "01 54 3D");
  EXPECT_EQ(lb["weight"], 157.0);
  EXPECT_EQ(lb["unit"], "lb");
  EXPECT_EQ(lb["weight_kg"], 71.214);
  EXPECT_EQ(DecodeJson(Characteristic::kWeightMeasurement, "00 FF FF"),
            json::parse(R"({"weight":null,"unit":"kg","weight_kg":null,
              "special":{"weight":"MeasurementUnsuccessful","weight_kg":"MeasurementUnsuccessful"}})"));
}

// [Nordic] glucose vector, and 95 mg/dL / 5.5 mmol/L.
TEST(JsonContractTest, Glucose) {
  EXPECT_EQ(DecodeJson(Characteristic::kGlucoseMeasurement, "1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01"),
            json::parse(R"({"sequence_number":1,"base_time":"2019-02-27T11:10:30","time_offset_min":-5,
                            "concentration":30.0,"unit":"kg/L","glucose_mg_dl":3000000.0,
                            "type":"capillary_plasma","sample_location":"finger",
                            "sensor_status_annunciation":261,"context_information_follows":true})"));
  json mg = DecodeJson(Characteristic::kGlucoseMeasurement, "02 07 00 E8 07 03 0F 07 1E 00 5F B0 11");
  EXPECT_EQ(mg["glucose_mg_dl"], 95.0);
  EXPECT_EQ(mg["concentration"], 0.00095);
  EXPECT_FALSE(mg.contains("glucose_mmol_l"));
  json mmol = DecodeJson(Characteristic::kGlucoseMeasurement, "06 08 00 E8 07 03 0F 07 1E 00 37 C0 11");
  EXPECT_EQ(mmol["glucose_mmol_l"], 5.5);
  EXPECT_EQ(mmol["unit"], "mol/L");
  EXPECT_FALSE(mmol.contains("glucose_mg_dl"));
  json none = DecodeJson(Characteristic::kGlucoseMeasurement, "00 2A 00 E8 07 03 0F 07 1E 00");
  for (const char* k :
       {"concentration", "unit", "glucose_mg_dl", "glucose_mmol_l", "type", "sample_location", "time_offset_min"}) {
    EXPECT_FALSE(none.contains(k)) << k;
  }
}

TEST(JsonContractTest, GlucoseContext) {
  json j = DecodeJson(Characteristic::kGlucoseMeasurementContext, "FF 00 00 B3 03 64 00 04 12 3C 00 32 04 D2 F4 59 F1");
  EXPECT_EQ(j["carbohydrate"], "dinner");
  EXPECT_EQ(j["carbohydrate_g"], 100000.0);
  EXPECT_EQ(j["medication_ml"], 123400.0);
  EXPECT_EQ(j["hba1c_percent"], 34.5);
  json overrun = DecodeJson(Characteristic::kGlucoseMeasurementContext, "08 01 00 FF FF 32");
  EXPECT_TRUE(overrun["exercise_duration_s"].is_null());
  EXPECT_EQ(overrun["special"]["exercise_duration_s"], "Overrun");
}

TEST(JsonContractTest, BatteryRacpCurrentTimeAndStrings) {
  EXPECT_EQ(DecodeJson(Characteristic::kBatteryLevel, "64"), json::parse(R"({"battery_percent":100})"));
  EXPECT_EQ(DecodeJson(Characteristic::kRecordAccessControlPoint, "01 03 01 34 12"),
            json::parse(R"({"op_code":"report_stored_records","operator":"greater_than_or_equal_to",
                            "filter_type":"sequence_number","operand":[4660]})"));
  EXPECT_EQ(DecodeJson(Characteristic::kRecordAccessControlPoint, "06 00 01 06"),
            json::parse(R"({"op_code":"response_code","operator":"null","request_op_code":"report_stored_records",
                            "response_code":"no_records_found","response_code_value":6})"));
  json t = DecodeJson(Characteristic::kCurrentTime, "E9 07 01 0F 0E 1E 2D 03 21 01");
  EXPECT_EQ(t["date_time"], "2025-01-15T14:30:45");
  EXPECT_EQ(t["day_of_week"], "wednesday");
  EXPECT_EQ(t["adjust_reason"]["manual_time_update"], true);
  EXPECT_EQ(DecodeJson(Characteristic::kManufacturerNameString, "41 70 70 6C 65 20 49 6E 63 2E"),
            json::parse(R"({"manufacturer_name":"Apple Inc."})"));
  EXPECT_EQ(DecodeJson(Characteristic::kFirmwareRevisionString, "31 2E 30 00 00"),
            json::parse(R"({"firmware_revision":"1.0"})"));
}

// Every special value anywhere in any object is null with a reason: a property the fuzzers check too.
TEST(JsonContractTest, EveryNullHasAReasonUnlessSensorContact) {
  json j = DecodeJson(Characteristic::kPlxContinuousMeasurement,
                      "1F 01 08 02 08 FF 07 FE 07 FF 07 FF 07 00 00 00 00 00 FF 07");
  ASSERT_FALSE(j.contains("error")) << j;
  for (auto& [k, v] : j.items()) {
    if (v.is_null()) {
      EXPECT_TRUE(j["special"].contains(k)) << k;
    }
  }
  EXPECT_EQ(j["special"]["spo2_percent"], "Reserved");
  EXPECT_EQ(j["special"]["pulse_rate_bpm"], "-INF");
}

}  // namespace
}  // namespace healthtwin::ble
