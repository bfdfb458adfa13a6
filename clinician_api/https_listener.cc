#include "clinician_api/https_listener.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/logging.h"
#include "services/common/tls/revocation.h"

namespace healthtwin::clinician {
namespace {

// httplib's ThreadPool queues without limit; this one makes the accept loop wait when
// `max_queued` connections are already waiting for a worker.
class BoundedPool final : public httplib::TaskQueue {
 public:
  BoundedPool(std::size_t workers, std::size_t max_queued) : max_queued_(max_queued) {
    for (std::size_t i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~BoundedPool() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mu_);
    // After shutdown the task still runs (it owns and closes the socket): workers drain the queue.
    space_.wait(lock, [&] { return queue_.size() < max_queued_ || stopping_; });
    queue_.push_back(std::move(fn));
    ready_.notify_one();
  }

  void shutdown() override {
    {
      std::lock_guard lock(mu_);
      if (stopping_ && threads_.empty()) return;
      stopping_ = true;
    }
    ready_.notify_all();
    space_.notify_all();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock lock(mu_);
        ready_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;  // stopping and drained
        fn = std::move(queue_.front());
        queue_.pop_front();
        space_.notify_one();
      }
      fn();
    }
  }

  const std::size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_, space_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

// Any fixed bytes do: OpenSSL only needs the context to be named so that it can resume
// sessions of verified clients (SSL_CTX_set_session_id_context(3)).
constexpr unsigned char kSessionIdContext[] = "healthtwin-clinician-https";

// OpenSSL cipher-list syntax (ciphers(1)): ECDHE key exchange with AES-GCM or ChaCha20-Poly1305.
constexpr char kTls12Ciphers[] = "ECDHE+AESGCM:ECDHE+CHACHA20";

}  // namespace

absl::StatusOr<std::unique_ptr<HttpsListener>> HttpsListener::Start(
    const common::TlsFiles& tls, const HttpsOptions& options, const std::function<void(httplib::Server&)>& routes) {
  if (auto material = common::LoadTlsMaterial(tls); !material.ok()) return material.status();
  std::unique_ptr<HttpsListener> listener(new HttpsListener());
  // The client CA argument makes httplib require and verify a client certificate
  // (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT).
  listener->server_ =
      std::make_unique<httplib::SSLServer>(tls.cert_path.c_str(), tls.key_path.c_str(), tls.ca_cert_path.c_str());
  auto& server = *listener->server_;
  if (!server.is_valid()) return absl::InvalidArgumentError("https: cannot load " + tls.cert_path + " into OpenSSL");
  SSL_CTX* ctx = server.ssl_context();
  // TLS 1.2 or later, and in TLS 1.2 only ECDHE with an AEAD cipher (every TLS 1.3 suite is
  // AEAD), as gRPC's ports offer: OpenSSL's default list also accepts CBC suites in TLS 1.2,
  // which the sslscan test (tests/process/tls_scan.h) found here.
  if (SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof(kSessionIdContext) - 1) != 1 ||
      SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return absl::InternalError("https: cannot configure the TLS context");
  }
  // The process's CRL checker, shared with the gRPC server so that its SIGHUP reload covers
  // this listener too (services/common/tls/revocation.h).
  auto revocation = common::RevocationChecker::ForFiles(tls);
  if (!revocation.ok()) return revocation.status();
  if (*revocation != nullptr) {
    auto attached = common::SslContextRevocation::Attach(ctx, *std::move(revocation));
    if (!attached.ok()) return absl::InternalError(absl::StrCat("https: ", attached.status().message()));
    listener->revocation_ = *std::move(attached);
  }
  server.new_task_queue = [w = options.workers, q = options.max_queued] { return new BoundedPool(w, q); };
  server.set_tcp_nodelay(true);  // headers and body are separate writes: no delayed-ACK stall per response
  server.set_payload_max_length(options.max_body_bytes);
  server.set_read_timeout(options.read_timeout_s, 0);
  server.set_write_timeout(options.write_timeout_s, 0);
  server.set_keep_alive_timeout(options.keep_alive_timeout_s);
  server.set_keep_alive_max_count(options.keep_alive_max_requests);
  routes(server);
  const int port = options.port == 0 ? server.bind_to_any_port(options.host) : options.port;
  if (options.port != 0 && !server.bind_to_port(options.host, options.port)) {
    return absl::UnavailableError("https: cannot bind " + options.host + ":" + std::to_string(options.port));
  }
  if (port <= 0) return absl::UnavailableError("https: cannot bind " + options.host + ":0");
  listener->port_ = port;
  listener->thread_ = std::thread([&server, &done = listener->listen_returned_] {
    server.listen_after_bind();
    done = true;
  });
  common::LogInfo("https.listening", {{"address", options.host},
                                      {"port", port},
                                      {"tls", "mutual"},
                                      {"crl", listener->revocation_ != nullptr ? tls.crl_path : std::string("off")}});
  return listener;
}

HttpsListener::~HttpsListener() { Stop(); }

void HttpsListener::Stop() {
  if (!thread_.joinable()) return;
  // httplib's stop() does nothing until the accept loop runs: wait for it (or for its end).
  while (!server_->is_running() && !listen_returned_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
  thread_.join();  // listen_after_bind returns once the pool has drained
  common::LogInfo("https.stopped");
}

absl::StatusOr<common::PeerIdentity> HttpsListener::PeerOf(const httplib::Request& req) {
  if (req.ssl == nullptr) return absl::UnauthenticatedError("no TLS session");
  // The handshake has verified the chain (SSL_VERIFY_FAIL_IF_NO_PEER_CERT); still check it.
  if (SSL_get_verify_result(req.ssl) != X509_V_OK) {
    return absl::UnauthenticatedError("client certificate not verified");
  }
  return common::PeerIdentityFromCertificate(SSL_get0_peer_certificate(req.ssl));
}

absl::StatusOr<common::Caller> HttpsListener::CallerOf(const httplib::Request& req) {
  auto identity = PeerOf(req);
  if (!identity.ok()) return identity.status();
  return common::Caller{*std::move(identity), "https:" + req.remote_addr + ":" + std::to_string(req.remote_port), ""};
}

std::string HttpsListener::ExceptionMessage(std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
  }
  return "unknown";
}

}  // namespace healthtwin::clinician
