// The FHIR receiver of healthtwin-feeds-bench: a light rest-hook endpoint in this process
// (cpp-httplib SSLServer on 127.0.0.1, mutual TLS: it presents a server certificate and
// requires a client certificate of the given CA, as a hospital endpoint of a real feed would).
// It answers every POST with 200 after a cheap look at the body (it must be a Bundle; its id
// and size are recorded), so what the bench measures is the feed, not a receiver's validation:
// the Node receiver of the tests (tests/peers/fhir_receiver.mjs) validates every resource and is
// far slower per Bundle.
//
// Thread-safe: the server's pool threads record; the bench reads the counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class SSLServer;
}

namespace healthtwin::feeds::bench {

struct ReceiverTls {
  std::string cert_path;  // the server certificate (its name must match the feed's host)
  std::string key_path;
  std::string client_ca_path;  // client certificates must chain to this CA
};

class LightHttpsReceiver {
 public:
  // Listens on 127.0.0.1, a free port; UNAVAILABLE when the certificate files cannot be used.
  static absl::StatusOr<std::unique_ptr<LightHttpsReceiver>> Start(const ReceiverTls& tls);
  ~LightHttpsReceiver();

  int port() const { return port_; }
  int64_t bundles() const { return bundles_.load(); }
  int64_t bytes() const { return bytes_.load(); }
  int64_t not_bundles() const { return not_bundles_.load(); }
  // TLS connections accepted (keep-alive reuse shows as far fewer connections than bundles).
  int64_t connections() const { return connections_.load(); }

 private:
  LightHttpsReceiver() = default;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<int64_t> bundles_{0};
  std::atomic<int64_t> bytes_{0};
  std::atomic<int64_t> not_bundles_{0};
  std::atomic<int64_t> connections_{0};
};

}  // namespace healthtwin::feeds::bench
