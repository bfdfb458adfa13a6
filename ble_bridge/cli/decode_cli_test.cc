// Runs `healthtwin-bridge decode` as a process and checks stdout, stderr and the exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

namespace {

using nlohmann::json;

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

ProcessResult Decode(const std::string& characteristic, const std::string& hex) {
  // CTest runs each test as its own process, in parallel: one stderr file per process and call.
  static int calls = 0;
  const std::string err_file =
      ::testing::TempDir() + "decode_cli_stderr_" + std::to_string(getpid()) + "_" + std::to_string(calls++) + ".txt";
  const std::string cmd = std::string(HT_BRIDGE_BIN) + " decode --characteristic " + Quote(characteristic) + " --hex " +
                          Quote(hex) + " 2>" + Quote(err_file);
  ProcessResult run;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return run;
  std::array<char, 4096> buf;
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) run.out.append(buf.data(), n);
  const int status = pclose(p);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream f(err_file);
  std::stringstream ss;
  ss << f.rdbuf();
  run.err = ss.str();
  std::remove(err_file.c_str());
  return run;
}

int Lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

// [Nordic] BloodPressureMeasurementDataCallbackTest full vector.
TEST(DecodeCliTest, BloodPressurePrintsOneObject) {
  ProcessResult r = Decode("2A35", "1E 8A 00 58 00 78 00 00 00 04 11 14 29 3B 3C 00 01 27 00");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Lines(r.out), 1);
  EXPECT_TRUE(r.err.empty());
  json j = json::parse(r.out);
  EXPECT_EQ(j["systolic_mmhg"], 138.0);
  EXPECT_EQ(j["unit"], "mmHg");
  EXPECT_EQ(j["user_id"], 1);
  EXPECT_EQ(j["special"]["timestamp"], "Unknown");
}

TEST(DecodeCliTest, CuffErrorFrameIsNullWithNaN) {
  ProcessResult r = Decode("2A35", "00 FF 07 FF 07 FF 07");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json j = json::parse(r.out);
  EXPECT_TRUE(j["systolic"].is_null());
  EXPECT_EQ(j["special"]["systolic"], "NaN");
  EXPECT_EQ(r.out.find("2047"), std::string::npos);
}

TEST(DecodeCliTest, AbsentFlagsMeanAbsentKeys) {
  ProcessResult r = Decode("0x2a37", "00 55");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out), json::parse(R"({"heart_rate_bpm":85,"sensor_contact":null})"));
}

// ---------------------------------------------------------------------------------------------
// One vector per characteristic, decoded by hand from the layout in the Bluetooth SIG GATT
// Specification Supplement v5 (GSS; the section is named in each test) and compared with what
// the CLI prints: every key, integers exactly, medical floats (IEEE 11073-20601 SFLOAT: 4-bit
// exponent, 12-bit mantissa; FLOAT: 8-bit exponent, 24-bit mantissa; value = mantissa x
// 10^exponent) to the double nearest their decimal value, and converted units to the 3 decimals
// the CLI rounds them to. Multi-byte fields are little-endian.

// Exit 0, one line of JSON on stdout, nothing on stderr; the object (null when that fails).
// Tests index it non-const, so a missing key reads as null and fails the comparison.
json DecodeOk(const std::string& characteristic, const std::string& hex) {
  ProcessResult r = Decode(characteristic, hex);
  EXPECT_EQ(r.exit_code, 0) << characteristic << ": " << r.err;
  EXPECT_TRUE(r.err.empty()) << characteristic << ": " << r.err;
  EXPECT_EQ(Lines(r.out), 1) << characteristic << ": " << r.out;
  json j = json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(j.is_object()) << characteristic << ": " << r.out;
  return j.is_object() ? j : json();
}

std::set<std::string> Keys(const json& j) {
  std::set<std::string> keys;
  for (const auto& [key, value] : j.items()) keys.insert(key);
  return keys;
}

// Converted values are rounded to 3 decimals by the CLI.
constexpr double kRounded = 0.0005;
// 760 mmHg = 101.325 kPa (the standard atmosphere); 1 lb = 0.45359237 kg and 1 in = 0.0254 m
// exactly (international yard and pound, 1959).
constexpr double kMmHgPerKPa = 760.0 / 101.325;
constexpr double kKgPerLb = 0.45359237;
constexpr double kMPerIn = 0.0254;

// GSS 3.113 Heart Rate Measurement. Flags 0x1E: bit 0 = 0 HR is uint8; bits 1-2 = 0b11 sensor
// contact supported and detected; bit 3 Energy Expended (uint16, kJ) present; bit 4 RR-Interval
// (uint16, 1/1024 s) present. HR 0x55 = 85 bpm, EE 0x0032 = 50 kJ, RR 0x0021 = 33/1024 s.
TEST(DecodeCliValuesTest, HeartRateMeasurement) {
  json j = DecodeOk("2A37", "1E 55 32 00 21 00");
  EXPECT_EQ(Keys(j),
            (std::set<std::string>{"heart_rate_bpm", "sensor_contact", "energy_expended_kj", "rr_intervals_s"}));
  EXPECT_EQ(j["heart_rate_bpm"], 85);
  EXPECT_EQ(j["sensor_contact"], true);
  EXPECT_EQ(j["energy_expended_kj"], 50);
  ASSERT_EQ(j["rr_intervals_s"].size(), 1u);
  EXPECT_DOUBLE_EQ(j["rr_intervals_s"][0].get<double>(), 33.0 / 1024.0);
}

// GSS 3.31 Blood Pressure Measurement. Flags 0x15: bit 0 = 1 kPa; bit 1 = 0 no time stamp;
// bit 2 pulse rate present; bit 3 = 0 no user id; bit 4 measurement status present.
// Systolic SFLOAT 0xF0BD = 189 x 10^-1 = 18.9 kPa, diastolic 0x000B = 11 kPa, MAP 0xF09F =
// 159 x 10^-1 = 15.9 kPa, pulse 0x003C = 60 bpm. Status 0x0012: bit 0 = 0 no body movement,
// bit 1 = 1 cuff too loose, bit 2 = 0 no irregular pulse, bits 3-4 = 0b10 pulse rate below the
// lower limit, bit 5 = 0 proper position.
TEST(DecodeCliValuesTest, BloodPressureMeasurementInKpa) {
  json j = DecodeOk("2A35", "15 BD F0 0B 00 9F F0 3C 00 12 00");
  EXPECT_EQ(Keys(j),
            (std::set<std::string>{"unit", "systolic", "diastolic", "mean_arterial", "systolic_mmhg", "diastolic_mmhg",
                                   "mean_arterial_mmhg", "pulse_rate_bpm", "measurement_status"}));
  EXPECT_EQ(j["unit"], "kPa");
  EXPECT_DOUBLE_EQ(j["systolic"].get<double>(), 18.9);
  EXPECT_DOUBLE_EQ(j["diastolic"].get<double>(), 11.0);
  EXPECT_DOUBLE_EQ(j["mean_arterial"].get<double>(), 15.9);
  EXPECT_NEAR(j["systolic_mmhg"].get<double>(), 18.9 * kMmHgPerKPa, kRounded);
  EXPECT_NEAR(j["diastolic_mmhg"].get<double>(), 11.0 * kMmHgPerKPa, kRounded);
  EXPECT_NEAR(j["mean_arterial_mmhg"].get<double>(), 15.9 * kMmHgPerKPa, kRounded);
  EXPECT_DOUBLE_EQ(j["pulse_rate_bpm"].get<double>(), 60.0);
  EXPECT_EQ(j["measurement_status"], json::parse(R"({"raw": 18, "body_movement_detected": false,
      "cuff_too_loose": true, "irregular_pulse_detected": false, "pulse_rate_range": "below_lower_limit",
      "improper_measurement_position": false})"));
}

// GSS 3.128 Intermediate Cuff Pressure (the Blood Pressure Measurement layout). Flags 0x00:
// mmHg, nothing optional. Cuff pressure SFLOAT 0xF0D7 = 215 x 10^-1 = 21.5 mmHg; the diastolic
// and MAP fields are unused in this characteristic and not reported.
TEST(DecodeCliValuesTest, IntermediateCuffPressure) {
  json j = DecodeOk("2A36", "00 D7 F0 00 00 00 00");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"unit", "cuff_pressure", "cuff_pressure_mmhg"}));
  EXPECT_EQ(j["unit"], "mmHg");
  EXPECT_DOUBLE_EQ(j["cuff_pressure"].get<double>(), 21.5);
  EXPECT_DOUBLE_EQ(j["cuff_pressure_mmhg"].get<double>(), 21.5);
}

// GSS 3.172 PLX Spot-check Measurement. Flags 0x00: no time stamp, status fields or pulse
// amplitude index; bit 4 = 0 the device clock is set. SpO2 SFLOAT 0x0062 = 98 %, PR 0x0048 =
// 72 bpm.
TEST(DecodeCliValuesTest, PlxSpotCheck) {
  json j = DecodeOk("2A5E", "00 62 00 48 00");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"spo2_percent", "pulse_rate_bpm", "device_clock_not_set"}));
  EXPECT_DOUBLE_EQ(j["spo2_percent"].get<double>(), 98.0);
  EXPECT_DOUBLE_EQ(j["pulse_rate_bpm"].get<double>(), 72.0);
  EXPECT_EQ(j["device_clock_not_set"], false);
}

// GSS 3.171 PLX Continuous Measurement. Flags 0x03: SpO2PR-Fast (bit 0) and SpO2PR-Slow (bit 1)
// present. Normal 0x0062/0x0048 = 98 %/72 bpm, Fast 0x0061/0x004B = 97 %/75 bpm, Slow
// 0x0063/0x0046 = 99 %/70 bpm.
TEST(DecodeCliValuesTest, PlxContinuous) {
  json j = DecodeOk("2A5F", "03 62 00 48 00 61 00 4B 00 63 00 46 00");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"spo2_percent", "pulse_rate_bpm", "spo2_fast_percent",
                                            "pulse_rate_fast_bpm", "spo2_slow_percent", "pulse_rate_slow_bpm"}));
  EXPECT_DOUBLE_EQ(j["spo2_percent"].get<double>(), 98.0);
  EXPECT_DOUBLE_EQ(j["pulse_rate_bpm"].get<double>(), 72.0);
  EXPECT_DOUBLE_EQ(j["spo2_fast_percent"].get<double>(), 97.0);
  EXPECT_DOUBLE_EQ(j["pulse_rate_fast_bpm"].get<double>(), 75.0);
  EXPECT_DOUBLE_EQ(j["spo2_slow_percent"].get<double>(), 99.0);
  EXPECT_DOUBLE_EQ(j["pulse_rate_slow_bpm"].get<double>(), 70.0);
}

// GSS 3.216 Temperature Measurement. Flags 0x06: bit 0 = 0 Celsius, bit 1 time stamp present,
// bit 2 temperature type present. FLOAT 0xFE000EB0 = 3760 x 10^-2 = 37.60 C. Date Time (GSS
// 3.70): year 0x07DC = 2012, month 12, day 5, 11:50:27 (0x0B 0x32 0x1B). Type 0x04 = finger
// (1 armpit, 2 body, 3 ear, 4 finger, 5 GI tract, 6 mouth, 7 rectum, 8 toe, 9 tympanum).
TEST(DecodeCliValuesTest, TemperatureMeasurement) {
  json j = DecodeOk("2A1C", "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"unit", "temperature", "temperature_c", "timestamp", "temperature_type"}));
  EXPECT_EQ(j["unit"], "C");
  EXPECT_DOUBLE_EQ(j["temperature"].get<double>(), 37.6);
  EXPECT_DOUBLE_EQ(j["temperature_c"].get<double>(), 37.6);
  EXPECT_EQ(j["timestamp"], "2012-12-05T11:50:27");
  EXPECT_EQ(j["temperature_type"], "finger");
}

// GSS 3.129 Intermediate Temperature (the Temperature Measurement layout). Flags 0x01:
// Fahrenheit. FLOAT 0xFF0003DA = 986 x 10^-1 = 98.6 F = (98.6 - 32) x 5/9 = 37.0 C.
TEST(DecodeCliValuesTest, IntermediateTemperatureInFahrenheit) {
  json j = DecodeOk("2A1E", "01 DA 03 00 FF");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"unit", "temperature", "temperature_c"}));
  EXPECT_EQ(j["unit"], "F");
  EXPECT_DOUBLE_EQ(j["temperature"].get<double>(), 98.6);
  EXPECT_NEAR(j["temperature_c"].get<double>(), (98.6 - 32.0) * 5.0 / 9.0, kRounded);
}

// GSS 3.251 Weight Measurement. Flags 0x0F: bit 0 = 1 imperial (weight 0.01 lb, height 0.1 in),
// bit 1 time stamp, bit 2 user id, bit 3 BMI (0.1 kg/m2) and height present. Weight 0x3D54 =
// 15700 -> 157.00 lb; 2023-12-25T14:30:45; user 3; BMI 0x00F5 = 245 -> 24.5; height 0x02A8 =
// 680 -> 68.0 in.
TEST(DecodeCliValuesTest, WeightMeasurementImperial) {
  json j = DecodeOk("2A9D", "0F 54 3D E7 07 0C 19 0E 1E 2D 03 F5 00 A8 02");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"unit", "weight", "weight_kg", "timestamp", "user_id", "bmi", "height",
                                            "height_unit", "height_m"}));
  EXPECT_EQ(j["unit"], "lb");
  EXPECT_DOUBLE_EQ(j["weight"].get<double>(), 157.0);
  EXPECT_NEAR(j["weight_kg"].get<double>(), 157.0 * kKgPerLb, kRounded);
  EXPECT_EQ(j["timestamp"], "2023-12-25T14:30:45");
  EXPECT_EQ(j["user_id"], 3);
  EXPECT_DOUBLE_EQ(j["bmi"].get<double>(), 24.5);
  EXPECT_EQ(j["height_unit"], "in");
  EXPECT_DOUBLE_EQ(j["height"].get<double>(), 68.0);
  EXPECT_NEAR(j["height_m"].get<double>(), 68.0 * kMPerIn, kRounded);
}

// GSS 3.106 Glucose Measurement. Flags 0x1B: bit 0 time offset present, bit 1 type-sample
// location and concentration present, bit 2 = 0 concentration in kg/L, bit 3 sensor status
// annunciation present, bit 4 context information follows. Sequence 0x0001; base time
// 2019-02-27T11:10:30; offset sint16 0xFFFB = -5 min; concentration SFLOAT 0x001E = 30 kg/L
// (1 kg/L = 10^6 mg / 10 dL = 10^5 mg/dL, so 3,000,000 mg/dL: the vector tests the scale, not a
// physiological value); type-sample location 0x12: type (low nibble) 2 capillary plasma,
// location (high nibble) 1 finger; annunciation 0x0105 = 261.
TEST(DecodeCliValuesTest, GlucoseMeasurement) {
  json j = DecodeOk("2A18", "1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01");
  EXPECT_EQ(Keys(j), (std::set<std::string>{"sequence_number", "base_time", "time_offset_min", "unit", "concentration",
                                            "glucose_mg_dl", "type", "sample_location", "sensor_status_annunciation",
                                            "context_information_follows"}));
  EXPECT_EQ(j["sequence_number"], 1);
  EXPECT_EQ(j["base_time"], "2019-02-27T11:10:30");
  EXPECT_EQ(j["time_offset_min"], -5);
  EXPECT_EQ(j["unit"], "kg/L");
  EXPECT_DOUBLE_EQ(j["concentration"].get<double>(), 30.0);
  EXPECT_DOUBLE_EQ(j["glucose_mg_dl"].get<double>(), 30.0 * 1e5);
  EXPECT_EQ(j["type"], "capillary_plasma");
  EXPECT_EQ(j["sample_location"], "finger");
  EXPECT_EQ(j["sensor_status_annunciation"], 0x0105);
  EXPECT_EQ(j["context_information_follows"], true);
}

// GSS 3.107 Glucose Measurement Context. Flags 0xFF: carbohydrate, meal, tester-health,
// exercise, medication present, bit 5 = 1 medication in liters, HbA1c and extended flags
// present. Sequence 0x0000; extended flags 0xB3 = 179; carbohydrate id 3 dinner, SFLOAT 0x0064
// = 100 kg = 100,000 g; meal 4 casual; tester-health 0x12: tester (low nibble) 2 health care
// professional, health (high nibble) 1 minor health issues; exercise 0x003C = 60 s at 0x32 =
// 50 %; medication id 4 long acting insulin, SFLOAT 0xF4D2 = 1234 x 10^-1 = 123.4 L =
// 123,400 mL; HbA1c SFLOAT 0xF159 = 345 x 10^-1 = 34.5 %.
TEST(DecodeCliValuesTest, GlucoseMeasurementContext) {
  json j = DecodeOk("2A34", "FF 00 00 B3 03 64 00 04 12 3C 00 32 04 D2 F4 59 F1");
  EXPECT_EQ(Keys(j),
            (std::set<std::string>{"sequence_number", "extended_flags", "carbohydrate", "carbohydrate_g", "meal",
                                   "tester", "health", "exercise_duration_s", "exercise_intensity_percent",
                                   "medication", "medication_ml", "hba1c_percent"}));
  EXPECT_EQ(j["sequence_number"], 0);
  EXPECT_EQ(j["extended_flags"], 0xB3);
  EXPECT_EQ(j["carbohydrate"], "dinner");
  EXPECT_DOUBLE_EQ(j["carbohydrate_g"].get<double>(), 100.0 * 1000.0);
  EXPECT_EQ(j["meal"], "casual");
  EXPECT_EQ(j["tester"], "health_care_professional");
  EXPECT_EQ(j["health"], "minor_health_issues");
  EXPECT_EQ(j["exercise_duration_s"], 60);
  EXPECT_EQ(j["exercise_intensity_percent"], 50);
  EXPECT_EQ(j["medication"], "long_acting_insulin");
  EXPECT_NEAR(j["medication_ml"].get<double>(), 123.4 * 1000.0, kRounded);
  EXPECT_DOUBLE_EQ(j["hba1c_percent"].get<double>(), 34.5);
}

// GSS 3.27 Battery Level: uint8 percent. 0x64 = 100, 0x0F = 15.
TEST(DecodeCliValuesTest, BatteryLevel) {
  EXPECT_EQ(DecodeOk("2A19", "64"), json::parse(R"({"battery_percent": 100})"));
  EXPECT_EQ(DecodeOk("2A19", "0F"), json::parse(R"({"battery_percent": 15})"));
}

// GSS 3.186 Record Access Control Point. Op code 0x06 response code, operator 0x00 null,
// operand: request op code, then response code value. "01 01": report stored records (0x01),
// success (0x01); "01 06": the same request, no records found (0x06), so a swap of the two
// operand bytes shows.
TEST(DecodeCliValuesTest, RecordAccessControlPointResponse) {
  EXPECT_EQ(DecodeOk("2A52", "06 00 01 01"),
            json::parse(R"({"op_code": "response_code", "operator": "null", "request_op_code": "report_stored_records",
                            "response_code": "success", "response_code_value": 1})"));
  EXPECT_EQ(DecodeOk("2A52", "06 00 01 06"),
            json::parse(R"({"op_code": "response_code", "operator": "null", "request_op_code": "report_stored_records",
                            "response_code": "no_records_found", "response_code_value": 6})"));
}

// GSS 3.62 Current Time: Date Time 0x07E9 = 2025, 1, 15, 14:30:45; day of week 3 = Wednesday
// (1 Monday .. 7 Sunday; 2025-01-15 was a Wednesday); fractions256 0x21 = 33; adjust reason
// 0x01: bit 0 manual time update only.
TEST(DecodeCliValuesTest, CurrentTime) {
  EXPECT_EQ(DecodeOk("2A2B", "E9 07 01 0F 0E 1E 2D 03 21 01"),
            json::parse(R"({"date_time": "2025-01-15T14:30:45", "day_of_week": "wednesday", "fractions256": 33,
                            "adjust_reason": {"raw": 1, "manual_time_update": true,
                                              "external_reference_time_update": false,
                                              "change_of_time_zone": false, "change_of_dst": false}})"));
}

// GSS 3.146, 3.154, 3.200 and 3.96: UTF-8 strings without a terminator.
TEST(DecodeCliValuesTest, DeviceInformationStrings) {
  EXPECT_EQ(DecodeOk("2A29", "41 70 70 6C 65"), json::parse(R"({"manufacturer_name": "Apple"})"));
  EXPECT_EQ(DecodeOk("2A24", "42 50 2D 31"), json::parse(R"({"model_number": "BP-1"})"));
  EXPECT_EQ(DecodeOk("2A25", "30 30 31"), json::parse(R"({"serial_number": "001"})"));
  EXPECT_EQ(DecodeOk("00002a26-0000-1000-8000-00805f9b34fb", "31 2E 30"),
            json::parse(R"({"firmware_revision": "1.0"})"));
}

TEST(DecodeCliTest, InvalidInputsExitTwoWithOneLine) {
  struct Bad {
    const char* characteristic;
    const char* hex;
    const char* reason_part;
  };
  for (const Bad& b : {Bad{"2A35", "01 02 03 04 05 06", "length is 6 bytes"},  // [Nordic] too short
                       Bad{"2A37", "17 01 01", "RR"},                          // [Nordic] RR missing
                       Bad{"2A19", "65", "above 100"},                         // [Nordic] 101 %
                       Bad{"2A35", "1E 8A 0", "odd number of digits"},         // bad hex
                       Bad{"2A35", "ZZ", "not a hex digit"},                   // bad hex
                       Bad{"2A00", "00", "has no parser"},                     // unknown characteristic
                       Bad{"heart", "00", "not a characteristic UUID"}}) {
    ProcessResult r = Decode(b.characteristic, b.hex);
    EXPECT_EQ(r.exit_code, 2) << b.characteristic << " " << b.hex;
    EXPECT_TRUE(r.out.empty()) << r.out;
    EXPECT_EQ(Lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find(b.reason_part), std::string::npos) << r.err;
  }
}

TEST(DecodeCliTest, MissingOptionExitsTwo) {
  const std::string cmd = std::string(HT_BRIDGE_BIN) + " decode --hex 00 2>/dev/null";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
