// Sends HL7 messages to one receiver over MLLP, optionally inside TLS, one at a time, and
// returns each message's acknowledgement. Plain POSIX sockets and OpenSSL 3: the TLS is
// OpenSSL's (certificate chain and host name verified against the feed's CA), nothing of the
// protocol is hand-written beyond MLLP framing.
//
// Every failure (connect, TLS handshake, write, read, timeout, an ACK that does not parse or
// answers another message) closes the connection, so the next Send() reconnects and the
// caller resends the same message with the same MSH-10; a receiver can deduplicate it.
//
// Thread safety: none; one client per delivery worker. SIGPIPE is blocked in the calling
// thread while a Send() runs, so a peer that closes mid-write gives an error, not a signal.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "services/feeds/hl7/ack.h"
#include "services/feeds/hl7/mllp.h"

struct ssl_st;  // OpenSSL's SSL

namespace healthtwin::feeds::hl7 {

struct MllpClientOptions {
  std::string host;
  uint16_t port = 0;
  bool tls = false;
  std::string ca_file;           // PEM CA(s) that sign the receiver's certificate; required with tls
  std::string client_cert_file;  // optional: present our certificate (PEM chain) ...
  std::string client_key_file;   // ... with this key
  // The name the receiver's certificate must carry (SAN DNS or IP); empty: `host`.
  std::string tls_server_name;
  std::chrono::milliseconds connect_timeout{5000};  // TCP connect plus TLS handshake
  std::chrono::milliseconds ack_timeout{10000};     // from the first byte sent to the whole ACK
  size_t max_ack_bytes = 64 * 1024;
};

class MllpClient {
 public:
  // Validates the options and loads the TLS material. InvalidArgument naming the option
  // (e.g. "tls.ca_file: ...") when a file is missing or not what it should be.
  static absl::StatusOr<std::unique_ptr<MllpClient>> Create(MllpClientOptions options);
  ~MllpClient();
  MllpClient(const MllpClient&) = delete;
  MllpClient& operator=(const MllpClient&) = delete;

  // Sends one unframed HL7 message whose MSH-10 is `control_id` and waits for its ACK.
  // OK: the receiver's verdict (delivered / retry / rejected). Errors, all meaning "try again
  // later": Unavailable (cannot connect, TLS refused, connection lost), DeadlineExceeded (no
  // ACK within ack_timeout), InvalidArgument (the answer is not this message's ACK),
  // ResourceExhausted (the answer is longer than max_ack_bytes).
  absl::StatusOr<Ack> Send(std::string_view message, std::string_view control_id);

  bool connected() const { return fd_ >= 0; }
  void Close();

 private:
  struct TlsContext;
  using Clock = std::chrono::steady_clock;
  explicit MllpClient(MllpClientOptions options);

  absl::Status Connect(Clock::time_point deadline);
  absl::Status Handshake(Clock::time_point deadline);
  absl::Status WriteAll(std::string_view data, Clock::time_point deadline);
  absl::StatusOr<size_t> ReadSome(char* buf, size_t len, Clock::time_point deadline);
  absl::StatusOr<Ack> SendConnected(std::string_view message, std::string_view control_id);

  MllpClientOptions options_;
  std::unique_ptr<TlsContext> tls_;
  int fd_ = -1;
  ::ssl_st* ssl_ = nullptr;  // OpenSSL SSL of the current connection, when TLS
  std::unique_ptr<MllpDeframer> deframer_;
};

}  // namespace healthtwin::feeds::hl7
