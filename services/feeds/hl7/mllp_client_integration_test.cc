// MllpClient and the encoder against a real HL7 v2 receiver: python3-hl7's MLLP server
// (tests/peers/hl7_mllp_peer.py) on real sockets, with TLS from the development PKI made by
// the real script. What the peer's hl7.parse made of each message is read back from the JSON
// lines it records.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "services/feeds/hl7/encoder.h"
#include "services/feeds/hl7/mllp_client.h"
#include "services/feeds/test_peers.h"
#include "tests/harness/subprocess.h"

namespace healthtwin::feeds::hl7 {
namespace {

using healthtwin::testing::PollUntil;
using healthtwin::testing::ReadFileOrEmpty;
using healthtwin::testing::Subprocess;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kNasty[] = "P|1^x~y\\z&w";
constexpr char kNastyText[] = "HR > 120 /min | peak ^ 142 ~ check & call \\ now";
constexpr int64_t kT0 = 1'780'000'000'000'000;

class Hl7PeerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ht-hl7-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = new std::filesystem::path(pattern);
    ASSERT_NO_FATAL_FAILURE(feeds::testing_peers::MakeDevPkis(HT_PKI_SCRIPT, *dir_));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // Starts the peer with extra flags and waits for its port.
  void StartPeer(std::vector<std::string> flags) {
    static int n = 0;
    const std::string base = (*dir_ / ("peer" + std::to_string(++n))).string();
    port_file_ = base + ".port";
    record_ = base + ".jsonl";
    std::vector<std::string> args = {HT_HL7_PEER, "--port-file", port_file_, "--record", record_};
    args.insert(args.end(), flags.begin(), flags.end());
    auto peer = Subprocess::Spawn("/usr/bin/python3", args);
    ASSERT_TRUE(peer.ok()) << peer.status();
    peer_ = std::move(*peer);
    ASSERT_TRUE(PollUntil([&] { return !ReadFileOrEmpty(port_file_).empty() || !peer_->Running(); }, 20s));
    ASSERT_TRUE(peer_->Running()) << peer_->Stderr();
    port_ = static_cast<uint16_t>(std::stoi(ReadFileOrEmpty(port_file_)));
  }

  std::vector<json> Received() const { return feeds::testing_peers::ReadJsonLines(record_); }

  MllpClientOptions Options() const {
    MllpClientOptions o;
    o.host = "127.0.0.1";
    o.port = port_;
    o.ack_timeout = 5s;
    return o;
  }

  // TLS trusting `ca_file` and expecting the receiver to be named `server_name`.
  MllpClientOptions TlsOptions(const std::string& ca_file, const std::string& server_name) const {
    MllpClientOptions o = Options();
    o.tls = true;
    o.ca_file = ca_file;
    o.tls_server_name = server_name;
    return o;
  }

  std::unique_ptr<MllpClient> Client(MllpClientOptions o) const {
    auto client = MllpClient::Create(std::move(o));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  static MessageContext Context(const std::string& control_id, bool enhanced = false) {
    MessageContext c;
    c.identity = {"HEALTHTWIN", "HOME", "ENGINE", "GENERAL", enhanced, "P"};
    c.control_id = control_id;
    c.created_at_us = kT0;
    return c;
  }

  static std::string AlertMessage(const std::string& control_id, bool enhanced = false) {
    AlertEventView e;
    e.alert_id = "al-1";
    e.event_seq = 1;
    e.event_at_us = kT0;
    e.patient_id = kNasty;
    e.rule_id = "hr_high";
    e.priority = AlertPriority::kHigh;
    e.text = kNastyText;
    e.trigger = TriggerObservation{"heart_rate", 142, "/min", kT0};
    auto msg = EncodeOruR40(e, Context(control_id, enhanced));
    EXPECT_TRUE(msg.ok()) << msg.status();
    return msg.value_or("");
  }

  std::string Pki(const std::string& file) const { return (*dir_ / "pki" / file).string(); }
  std::string ForeignPki(const std::string& file) const { return (*dir_ / "pki-foreign" / file).string(); }

  static std::filesystem::path* dir_;
  std::unique_ptr<Subprocess> peer_;
  std::string port_file_;
  std::string record_;
  uint16_t port_ = 0;
};
std::filesystem::path* Hl7PeerTest::dir_ = nullptr;

TEST_F(Hl7PeerTest, OruR40ArrivesParsedWithItsAlarmSetAndSpecialCharactersIntact) {
  StartPeer({});
  auto client = Client(Options());
  auto ack = client->Send(AlertMessage("r40-1"), "r40-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->outcome, AckOutcome::kDelivered);
  EXPECT_EQ(ack->code, "AA");

  const auto got = Received();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0]["parsed"].get<bool>()) << got[0].dump();
  EXPECT_EQ(got[0]["message_type"], "ORU^R40^ORU_R40");
  EXPECT_EQ(got[0]["control_id"], "r40-1");
  EXPECT_EQ(got[0]["patient_id"], kNasty);
  EXPECT_EQ(got[0]["alert_text"], kNastyText);
  EXPECT_EQ(got[0]["obr3"], "al-1");
  std::vector<std::string> codes;
  for (const auto& obx : got[0]["obx"]) codes.push_back(obx["code"]);
  EXPECT_EQ(codes, (std::vector<std::string>{"196616", "68480", "68481", "68482", "68483", "68484", "68485", "68546",
                                             "147842"}));
  EXPECT_EQ(got[0]["obx"][8]["value"], "142");
  EXPECT_EQ(got[0]["obx"][8]["unit"], "MDC_DIM_BEAT_PER_MIN");
  EXPECT_EQ(got[0]["obx"][5]["value"], "PH");
}

TEST_F(Hl7PeerTest, OruR01ArrivesWithMdcCodesAndUnits) {
  StartPeer({});
  using common::VitalType;
  std::vector<VitalSampleView> samples = {
      {kNasty, "strap", VitalType::kHeartRate, 72, "/min", kT0},
      {kNasty, "cuff", VitalType::kSystolicBp, 121, "mm[Hg]", kT0},
      {kNasty, "cuff", VitalType::kDiastolicBp, 79, "mm[Hg]", kT0},
      {kNasty, "oxi", VitalType::kSpo2, 97, "%", kT0},
      {kNasty, "thermo", VitalType::kBodyTemperature, 36.85, "Cel", kT0},
      {kNasty, "scale", VitalType::kBodyWeight, 81.4, "kg", kT0},
  };
  auto msg = EncodeOruR01(samples, Context("r01-1"));
  ASSERT_TRUE(msg.ok()) << msg.status();
  auto ack = Client(Options())->Send(*msg, "r01-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->outcome, AckOutcome::kDelivered);

  const auto got = Received();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0]["parsed"].get<bool>()) << got[0].dump();
  EXPECT_EQ(got[0]["message_type"], "ORU^R01^ORU_R01");
  EXPECT_EQ(got[0]["control_id"], "r01-1");
  EXPECT_EQ(got[0]["patient_id"], kNasty);
  const std::vector<std::tuple<std::string, std::string, std::string>> want = {
      {"147842", "72", "MDC_DIM_BEAT_PER_MIN"}, {"150021", "121", "MDC_DIM_MMHG"},
      {"150022", "79", "MDC_DIM_MMHG"},         {"150456", "97", "MDC_DIM_PERCENT"},
      {"150364", "36.85", "MDC_DIM_DEGC"},      {"188736", "81.4", "MDC_DIM_KILO_G"},
  };
  ASSERT_EQ(got[0]["obx"].size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[0]["obx"][i]["code"], std::get<0>(want[i]));
    EXPECT_EQ(got[0]["obx"][i]["value"], std::get<1>(want[i]));
    EXPECT_EQ(got[0]["obx"][i]["unit"], std::get<2>(want[i]));
  }
}

TEST_F(Hl7PeerTest, ABatchOfThousandSamplesArrivesWhole) {
  StartPeer({});
  std::vector<VitalSampleView> samples;
  for (int i = 0; i < 1000; ++i) {
    samples.push_back({"p-1", "strap", common::VitalType::kHeartRate, 60.0 + i % 50, "/min", kT0 + i * 1'000'000});
  }
  auto msg = EncodeOruR01(samples, Context("big-1"));
  ASSERT_TRUE(msg.ok()) << msg.status();
  ASSERT_GT(msg->size(), 64u * 1024);  // past asyncio's default stream limit
  auto ack = Client(Options())->Send(*msg, "big-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->outcome, AckOutcome::kDelivered);
  const auto got = Received();
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0]["obx"].size(), 1000u);
  EXPECT_EQ(got[0]["obx"][999]["value"], "109");
}

TEST_F(Hl7PeerTest, AeIsRetryAndArIsAPermanentRejectionWithTheReceiversText) {
  StartPeer({"--answer-script", "AE,AR"});
  auto client = Client(Options());
  auto first = client->Send(AlertMessage("c-1"), "c-1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->outcome, AckOutcome::kRetry);
  EXPECT_EQ(first->text, "test peer answered AE");
  auto second = client->Send(AlertMessage("c-1"), "c-1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, AckOutcome::kRejected);
  EXPECT_EQ(second->code, "AR");
  auto third = client->Send(AlertMessage("c-2"), "c-2");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->outcome, AckOutcome::kDelivered);
}

TEST_F(Hl7PeerTest, EnhancedModeCommitAcceptIsDelivered) {
  StartPeer({"--answer-script", "CE,CR,CA"});
  auto client = Client(Options());
  std::vector<AckOutcome> outcomes;
  for (const char* id : {"e-1", "e-2", "e-3"}) {
    auto ack = client->Send(AlertMessage(id, /*enhanced=*/true), id);
    ASSERT_TRUE(ack.ok()) << ack.status();
    outcomes.push_back(ack->outcome);
  }
  EXPECT_EQ(outcomes, (std::vector<AckOutcome>{AckOutcome::kRetry, AckOutcome::kRejected, AckOutcome::kDelivered}));
  EXPECT_TRUE(Received()[0]["enhanced"].get<bool>());
}

TEST_F(Hl7PeerTest, NoAnswerIsATimeoutAndTheResendGoesOverANewConnection) {
  StartPeer({"--answer-script", "none,AA"});
  MllpClientOptions o = Options();
  o.ack_timeout = 700ms;
  auto client = Client(o);
  const auto started = std::chrono::steady_clock::now();
  auto first = client->Send(AlertMessage("t-1"), "t-1");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kDeadlineExceeded) << first.status();
  EXPECT_GE(std::chrono::steady_clock::now() - started, 700ms);
  EXPECT_FALSE(client->connected());
  auto second = client->Send(AlertMessage("t-1"), "t-1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, AckOutcome::kDelivered);
  const auto got = Received();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0]["control_id"], got[1]["control_id"]);
  ASSERT_TRUE(PollUntil([&] { return peer_->Stdout().find("closed") != std::string::npos; }, 5s));
}

TEST_F(Hl7PeerTest, APeerThatClosesIsUnavailableAndTheNextSendReconnects) {
  StartPeer({"--answer-script", "close,AA"});
  auto client = Client(Options());
  auto first = client->Send(AlertMessage("x-1"), "x-1");
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable) << first.status();
  auto second = client->Send(AlertMessage("x-1"), "x-1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, AckOutcome::kDelivered);
}

TEST_F(Hl7PeerTest, TheModeFileChangesTheAnswersOfARunningPeer) {
  const std::string mode_file = (*dir_ / "mode").string();
  StartPeer({"--mode-file", mode_file});
  auto client = Client(Options());
  auto first = client->Send(AlertMessage("m-1"), "m-1");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->outcome, AckOutcome::kDelivered);
  std::ofstream(mode_file) << "AR\n";
  auto second = client->Send(AlertMessage("m-2"), "m-2");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, AckOutcome::kRejected);
  std::filesystem::remove(mode_file);
  auto third = client->Send(AlertMessage("m-3"), "m-3");
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_EQ(third->outcome, AckOutcome::kDelivered);
}

// The peer judges: what hl7.parse refuses is recorded as unparsed and answered AR (without
// our MSH-10, which it could not read), so the client reports an ACK for another message.
TEST_F(Hl7PeerTest, WhatHl7ParseRefusesIsRecordedAndNotAcknowledged) {
  StartPeer({});
  auto ack = Client(Options())->Send("not an HL7 message\r", "u-1");
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kInvalidArgument) << ack.status();
  const auto got = Received();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0]["parsed"].get<bool>());
}

TEST_F(Hl7PeerTest, AnAckInPiecesAfterStrayBytesIsRead) {
  StartPeer({"--answer-script", "split"});
  auto ack = Client(Options())->Send(AlertMessage("p-1"), "p-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->outcome, AckOutcome::kDelivered);
}

TEST_F(Hl7PeerTest, AnAckForAnotherMessageIsAnErrorAndTheClientReconnects) {
  StartPeer({"--answer-script", "wrong-id,AA"});
  auto client = Client(Options());
  auto first = client->Send(AlertMessage("w-1"), "w-1");
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("MSA-2 'not-w-1'"), std::string::npos) << first.status();
  EXPECT_FALSE(client->connected());
  auto second = client->Send(AlertMessage("w-1"), "w-1");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->outcome, AckOutcome::kDelivered);
}

TEST_F(Hl7PeerTest, NobodyListeningIsUnavailable) {
  StartPeer({});
  MllpClientOptions o = Options();
  peer_.reset();  // kills the peer: its port is now closed
  auto ack = Client(o)->Send(AlertMessage("d-1"), "d-1");
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kUnavailable) << ack.status();
}

TEST_F(Hl7PeerTest, TlsWithTheDevPkiAndAClientCertificateDelivers) {
  StartPeer({"--tls-cert", Pki("alerts.pem"), "--tls-key", Pki("alerts.key"), "--tls-client-ca", Pki("ca.pem")});
  MllpClientOptions o = TlsOptions(Pki("ca.pem"), "alerts");
  o.client_cert_file = Pki("cli-admin.pem");
  o.client_key_file = Pki("cli-admin.key");
  auto ack = Client(o)->Send(AlertMessage("s-1"), "s-1");
  ASSERT_TRUE(ack.ok()) << ack.status();
  EXPECT_EQ(ack->outcome, AckOutcome::kDelivered);
  ASSERT_EQ(Received().size(), 1u);
  EXPECT_EQ(Received()[0]["patient_id"], kNasty);
}

TEST_F(Hl7PeerTest, TlsRefusesAReceiverCertificateFromAForeignCa) {
  StartPeer({"--tls-cert", ForeignPki("foreign-server.pem"), "--tls-key", ForeignPki("foreign-server.key")});
  auto ack = Client(TlsOptions(Pki("ca.pem"), "foreign-server"))->Send(AlertMessage("f-1"), "f-1");
  ASSERT_FALSE(ack.ok());
  EXPECT_EQ(ack.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(ack.status().message().find("certificate"), std::string::npos) << ack.status();
  EXPECT_TRUE(Received().empty());
}

TEST_F(Hl7PeerTest, TlsRefusesAReceiverWhoseCertificateNamesAnotherHost) {
  StartPeer({"--tls-cert", Pki("alerts.pem"), "--tls-key", Pki("alerts.key")});
  auto ack = Client(TlsOptions(Pki("ca.pem"), "twin"))->Send(AlertMessage("n-1"), "n-1");
  ASSERT_FALSE(ack.ok());
  EXPECT_NE(ack.status().message().find("mismatch"), std::string::npos) << ack.status();
  EXPECT_TRUE(Received().empty());
}

TEST_F(Hl7PeerTest, CreateRejectsACaFileThatIsNotACertificate) {
  MllpClientOptions o;
  o.host = "127.0.0.1";
  o.port = 1;
  o.tls = true;
  o.ca_file = HT_HL7_PEER;
  auto client = MllpClient::Create(o);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("tls.ca_file"), std::string::npos) << client.status();
}

}  // namespace
}  // namespace healthtwin::feeds::hl7
