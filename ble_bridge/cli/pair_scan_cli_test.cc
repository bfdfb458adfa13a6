// `healthtwin-bridge pair` and `scan` as an operator runs them: the real binary against a private
// dbus-daemon + dbusmock bluez5 (the harness's Device1.Pair calls the binary's agent over D-Bus).
// The passkey goes in on stdin through /bin/sh, since the test harness gives children /dev/null.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "ble_bridge/bluez/testing/mock_bluez.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::ble {
namespace {

using healthtwin::testing::Subprocess;
using std::chrono::seconds;
using testing::MockBluez;

const char* const kBridgeBin = HT_BRIDGE_BIN;
constexpr char kCuff[] = "AA:BB:CC:DD:EE:02";

struct Outcome {
  int code = -1;
  std::string out, err;
};

class PairScanCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto mock = MockBluez::Start();  // also points DBUS_SYSTEM_BUS_ADDRESS (inherited) at it
    ASSERT_TRUE(mock.ok()) << mock.status();
    mock_ = *std::move(mock);
    auto adapter = mock_->AddAdapter("hci0");
    ASSERT_TRUE(adapter.ok());
    auto cuff = mock_->AddDevice(*adapter, kCuff, "BP cuff", {0x1810});
    ASSERT_TRUE(cuff.ok());
    cuff_ = *cuff;
  }
  // Runs `sh -c "printf STDIN | exec bridge ARGS..."`.
  Outcome RunBridge(const std::string& stdin_text, const std::vector<std::string>& args) {
    std::vector<std::string> sh = {"-c", "printf '%s' \"$0\" | exec \"$@\"", stdin_text, kBridgeBin};
    sh.insert(sh.end(), args.begin(), args.end());
    auto p = Subprocess::Spawn("/bin/sh", sh);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return {};
    auto done = (*p)->Wait(seconds(30));
    EXPECT_TRUE(done.ok() && done->exited) << (done.ok() ? done->ToString() : done.status().ToString());
    return {done.ok() ? done->code : -1, (*p)->Stdout(), (*p)->Stderr()};
  }
  std::unique_ptr<MockBluez> mock_;
  std::string cuff_;
};

TEST_F(PairScanCliTest, PairJustWorksPrintsPairedAndTrusted) {
  Outcome o = RunBridge("", {"pair", kCuff, "--timeout-s", "2"});
  ASSERT_EQ(o.code, 0) << o.err;
  auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["address"], kCuff);
  EXPECT_EQ(j["paired"], true);
  EXPECT_EQ(j["trusted"], true);
  EXPECT_TRUE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Trusted"));
}

TEST_F(PairScanCliTest, PairWithPasskeyFromStdin) {
  ASSERT_TRUE(mock_->SetPairing(cuff_, MockBluez::PairingMode::kPasskey, 4321).ok());
  Outcome o = RunBridge("004321\n", {"pair", kCuff, "--passkey-stdin"});
  ASSERT_EQ(o.code, 0) << o.err;
  EXPECT_EQ(nlohmann::json::parse(o.out)["paired"], true);
  EXPECT_TRUE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Paired"));
}

TEST_F(PairScanCliTest, WrongPasskeyExitsOneWithOneClearLine) {
  ASSERT_TRUE(mock_->SetPairing(cuff_, MockBluez::PairingMode::kPasskey, 4321).ok());
  Outcome o = RunBridge("999999\n", {"pair", kCuff, "--passkey-stdin"});
  EXPECT_EQ(o.code, 1);
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << o.err;
  EXPECT_NE(o.err.find("wrong passkey"), std::string::npos) << o.err;
  EXPECT_TRUE(o.out.empty()) << o.out;
  EXPECT_FALSE(*mock_->GetBool(cuff_, "org.bluez.Device1", "Paired"));
}

TEST_F(PairScanCliTest, PromptedPasskeyThatIsNotDigitsNamesTheField) {
  ASSERT_TRUE(mock_->SetPairing(cuff_, MockBluez::PairingMode::kPasskey, 4321).ok());
  Outcome o = RunBridge("12ab\n", {"pair", kCuff});
  EXPECT_EQ(o.code, 1);
  EXPECT_NE(o.err.find("Enter the 6-digit passkey shown on AA:BB:CC:DD:EE:02"), std::string::npos) << o.err;
  EXPECT_NE(o.err.find("passkey: expected up to 6 digits, got '12ab'"), std::string::npos) << o.err;
}

TEST_F(PairScanCliTest, BadAddressExitsTwo) {
  Outcome o = RunBridge("", {"pair", "not-an-address"});
  EXPECT_EQ(o.code, 2);
  EXPECT_NE(o.err.find("address"), std::string::npos) << o.err;
}

TEST_F(PairScanCliTest, ScanJsonListsTheHealthDevice) {
  ASSERT_TRUE(mock_->AddDevice("/org/bluez/hci0", "AA:BB:CC:DD:EE:09", "headphones", {0x110B}).ok());
  Outcome o = RunBridge("", {"scan", "--seconds", "1", "--json"});
  ASSERT_EQ(o.code, 0) << o.err;
  ASSERT_EQ(std::count(o.out.begin(), o.out.end(), '\n'), 1) << o.out;
  auto j = nlohmann::json::parse(o.out);
  EXPECT_EQ(j["address"], kCuff);
  EXPECT_EQ(j["name"], "BP cuff");
  EXPECT_EQ(j["services"], nlohmann::json::array({"1810"}));
  EXPECT_EQ(j["paired"], false);
  EXPECT_EQ(j["rssi_dbm"], -60);
  EXPECT_EQ(j["binding"], "not_seen");

  Outcome table = RunBridge("", {"scan", "--seconds", "1"});
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_NE(table.out.find("ADDRESS"), std::string::npos);
  EXPECT_NE(table.out.find("AA:BB:CC:DD:EE:02   -60  no"), std::string::npos) << table.out;
}

}  // namespace
}  // namespace healthtwin::ble
