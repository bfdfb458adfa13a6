// Runs `healthtwin-bridge decode` as a process and checks stdout, stderr and the exit code.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
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

TEST(DecodeCliTest, EveryCharacteristicDecodesAVector) {
  const std::pair<const char*, const char*> vectors[] = {
      {"2A37", "1E 55 32 00 21 00"},
      {"2A35", "15 BD F0 0B 00 9F F0 3C 00 12 00"},
      {"2A36", "00 D7 F0 00 00 00 00"},
      {"2A5E", "00 62 00 48 00"},
      {"2A5F", "03 62 00 48 00 61 00 4B 00 63 00 46 00"},
      {"2A1C", "06 B0 0E 00 FE DC 07 0C 05 0B 32 1B 04"},
      {"2A1E", "01 DA 03 00 FF"},
      {"2A9D", "0F 54 3D E7 07 0C 19 0E 1E 2D 03 F5 00 A8 02"},
      {"2A18", "1B 01 00 E3 07 02 1B 0B 0A 1E FB FF 1E 00 12 05 01"},
      {"2A34", "FF 00 00 B3 03 64 00 04 12 3C 00 32 04 D2 F4 59 F1"},
      {"2A19", "64"},
      {"2A52", "06 00 01 01"},
      {"2A2B", "E9 07 01 0F 0E 1E 2D 03 21 01"},
      {"2A29", "41 70 70 6C 65"},
      {"2A24", "42 50 2D 31"},
      {"2A25", "30 30 31"},
      {"00002a26-0000-1000-8000-00805f9b34fb", "31 2E 30"},
  };
  for (const auto& [c, hex] : vectors) {
    ProcessResult r = Decode(c, hex);
    EXPECT_EQ(r.exit_code, 0) << c << ": " << r.err;
    EXPECT_TRUE(json::parse(r.out).is_object()) << c;
  }
  EXPECT_EQ(json::parse(Decode("2A19", "0F").out), json::parse(R"({"battery_percent":15})"));
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
