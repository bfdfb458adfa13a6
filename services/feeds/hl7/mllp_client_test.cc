#include "services/feeds/hl7/mllp_client.h"

#include <gtest/gtest.h>

namespace healthtwin::feeds::hl7 {
namespace {

MllpClientOptions Valid() {
  MllpClientOptions o;
  o.host = "127.0.0.1";
  o.port = 2575;
  return o;
}

void ExpectRejectedNaming(const MllpClientOptions& o, const std::string& field) {
  auto client = MllpClient::Create(o);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find(field), std::string::npos) << client.status();
}

TEST(MllpClientCreateTest, AcceptsPlainTcpWithoutConnecting) {
  auto client = MllpClient::Create(Valid());
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_FALSE((*client)->connected());
}

TEST(MllpClientCreateTest, RejectsAnEmptyHostAndPortZero) {
  MllpClientOptions o = Valid();
  o.host = "";
  ExpectRejectedNaming(o, "host");
  o = Valid();
  o.port = 0;
  ExpectRejectedNaming(o, "port");
}

TEST(MllpClientCreateTest, RejectsNonPositiveTimeouts) {
  MllpClientOptions o = Valid();
  o.ack_timeout = std::chrono::milliseconds(0);
  ExpectRejectedNaming(o, "ack_timeout");
  o = Valid();
  o.connect_timeout = std::chrono::milliseconds(-1);
  ExpectRejectedNaming(o, "connect_timeout");
}

TEST(MllpClientCreateTest, RejectsTlsMaterialWithoutTls) {
  MllpClientOptions o = Valid();
  o.ca_file = "/etc/ssl/certs/ca-certificates.crt";
  ExpectRejectedNaming(o, "TLS is off");
}

TEST(MllpClientCreateTest, TlsNeedsACaFile) {
  MllpClientOptions o = Valid();
  o.tls = true;
  ExpectRejectedNaming(o, "tls.ca_file");
}

TEST(MllpClientCreateTest, TlsRejectsAMissingCaFile) {
  MllpClientOptions o = Valid();
  o.tls = true;
  o.ca_file = "/nonexistent/ca.pem";
  ExpectRejectedNaming(o, "tls.ca_file");
}

TEST(MllpClientCreateTest, ClientCertificateNeedsItsKey) {
  MllpClientOptions o = Valid();
  o.tls = true;
  o.ca_file = "/nonexistent/ca.pem";
  o.client_cert_file = "/nonexistent/me.pem";
  ExpectRejectedNaming(o, "tls.client_cert_file/tls.client_key_file");
}

}  // namespace
}  // namespace healthtwin::feeds::hl7
