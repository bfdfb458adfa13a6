#include "services/feeds/hl7/mllp_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace healthtwin::feeds::hl7 {
namespace {

// Milliseconds from now to `deadline` for poll(2), rounded UP: truncating would let poll return
// up to a millisecond before the deadline and a timeout be declared early.
int64_t MillisUntil(std::chrono::steady_clock::time_point deadline) {
  return std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
}

std::string OpensslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "no OpenSSL error detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

// Blocks SIGPIPE in this thread for the scope and swallows one raised meanwhile (a peer that
// closed while we wrote), so the write returns EPIPE instead of killing the process.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~SigpipeGuard() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_;
  sigset_t old_;
};

bool IsIpAddress(const std::string& name) {
  in6_addr buf{};
  return inet_pton(AF_INET, name.c_str(), &buf) == 1 || inet_pton(AF_INET6, name.c_str(), &buf) == 1;
}

}  // namespace

struct MllpClient::TlsContext {
  SSL_CTX* ctx = nullptr;
  ~TlsContext() { SSL_CTX_free(ctx); }
};

MllpClient::MllpClient(MllpClientOptions options) : options_(std::move(options)) {}

MllpClient::~MllpClient() { Close(); }

absl::StatusOr<std::unique_ptr<MllpClient>> MllpClient::Create(MllpClientOptions options) {
  if (options.host.empty()) return absl::InvalidArgumentError("host: empty");
  if (options.port == 0) return absl::InvalidArgumentError("port: must be 1..65535");
  if (options.ack_timeout.count() <= 0) return absl::InvalidArgumentError("ack_timeout: must be positive");
  if (options.connect_timeout.count() <= 0) return absl::InvalidArgumentError("connect_timeout: must be positive");
  std::unique_ptr<MllpClient> client(new MllpClient(std::move(options)));
  const MllpClientOptions& o = client->options_;
  if (!o.tls) {
    if (!o.ca_file.empty() || !o.client_cert_file.empty()) {
      return absl::InvalidArgumentError("tls: CA or client certificate given but TLS is off");
    }
    return client;
  }
  if (o.ca_file.empty()) return absl::InvalidArgumentError("tls.ca_file: required with TLS");
  if (o.client_cert_file.empty() != o.client_key_file.empty()) {
    return absl::InvalidArgumentError("tls.client_cert_file/tls.client_key_file: give both or neither");
  }
  auto tls = std::make_unique<TlsContext>();
  tls->ctx = SSL_CTX_new(TLS_client_method());
  if (tls->ctx == nullptr) return absl::InternalError(absl::StrCat("SSL_CTX_new: ", OpensslError()));
  SSL_CTX_set_min_proto_version(tls->ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER, nullptr);
  SSL_CTX_set_mode(tls->ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  if (SSL_CTX_load_verify_locations(tls->ctx, o.ca_file.c_str(), nullptr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("tls.ca_file: cannot load '", o.ca_file, "' as PEM CA certificates: ", OpensslError()));
  }
  if (!o.client_cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(tls->ctx, o.client_cert_file.c_str()) != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("tls.client_cert_file: cannot load '", o.client_cert_file, "': ", OpensslError()));
    }
    if (SSL_CTX_use_PrivateKey_file(tls->ctx, o.client_key_file.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(tls->ctx) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("tls.client_key_file: cannot load '", o.client_key_file,
                                                     "' or it does not match the certificate: ", OpensslError()));
    }
  }
  client->tls_ = std::move(tls);
  return client;
}

void MllpClient::Close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);  // no close_notify: the connection is dropped after a failure or at exit
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  deframer_.reset();
}

absl::Status MllpClient::Connect(Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(options_.port);
  if (int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(absl::StrCat("resolve ", options_.host, ": ", gai_strerror(rc)));
  }
  std::string last_error = "no address";
  for (addrinfo* ai = res; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    int rc = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      pollfd p{fd, POLLOUT, 0};
      const auto left = MillisUntil(deadline);
      rc = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0)));
      if (rc == 1) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        rc = -1;
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      fd_ = fd;
    } else {
      last_error = std::strerror(errno);
      ::close(fd);
    }
  }
  freeaddrinfo(res);
  if (fd_ < 0) {
    return absl::UnavailableError(absl::StrCat("connect ", options_.host, ":", options_.port, ": ", last_error));
  }
  deframer_ = std::make_unique<MllpDeframer>(options_.max_ack_bytes);
  if (tls_) {
    if (absl::Status s = Handshake(deadline); !s.ok()) {
      Close();
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status MllpClient::Handshake(Clock::time_point deadline) {
  ssl_ = SSL_new(tls_->ctx);
  if (ssl_ == nullptr) return absl::InternalError(absl::StrCat("SSL_new: ", OpensslError()));
  SSL_set_fd(ssl_, fd_);
  const std::string& name = options_.tls_server_name.empty() ? options_.host : options_.tls_server_name;
  if (IsIpAddress(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl_, name.c_str());
    SSL_set1_host(ssl_, name.c_str());
  }
  for (;;) {
    const int rc = SSL_connect(ssl_);
    if (rc == 1) return absl::OkStatus();
    const int err = SSL_get_error(ssl_, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      const long verify = SSL_get_verify_result(ssl_);
      std::string why = verify != X509_V_OK ? X509_verify_cert_error_string(verify) : OpensslError();
      return absl::UnavailableError(
          absl::StrCat("TLS handshake with ", options_.host, ":", options_.port, " (", name, "): ", why));
    }
    pollfd p{fd_, static_cast<short>(err == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT), 0};
    const auto left = MillisUntil(deadline);
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) != 1) {
      return absl::UnavailableError(absl::StrCat("TLS handshake with ", options_.host, ":", options_.port,
                                                 ": timed out after ", options_.connect_timeout.count(), " ms"));
    }
  }
}

absl::Status MllpClient::WriteAll(std::string_view data, Clock::time_point deadline) {
  size_t done = 0;
  while (done < data.size()) {
    short want = POLLOUT;
    if (ssl_ != nullptr) {
      const int rc = SSL_write(ssl_, data.data() + done, static_cast<int>(data.size() - done));
      if (rc > 0) {
        done += static_cast<size_t>(rc);
        continue;
      }
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_WANT_READ) {
        want = POLLIN;
      } else if (err != SSL_ERROR_WANT_WRITE) {
        return absl::UnavailableError(absl::StrCat("TLS write: ", OpensslError()));
      }
    } else {
      const ssize_t rc = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (rc > 0) {
        done += static_cast<size_t>(rc);
        continue;
      }
      if (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return absl::UnavailableError(absl::StrCat("write: ", std::strerror(errno)));
      }
    }
    pollfd p{fd_, want, 0};
    const auto left = MillisUntil(deadline);
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) {
      return absl::DeadlineExceededError(absl::StrCat("write to ", options_.host, ":", options_.port, ": timed out"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> MllpClient::ReadSome(char* buf, size_t len, Clock::time_point deadline) {
  for (;;) {
    short want = POLLIN;
    if (ssl_ != nullptr) {
      const int rc = SSL_read(ssl_, buf, static_cast<int>(len));
      if (rc > 0) return static_cast<size_t>(rc);
      const int err = SSL_get_error(ssl_, rc);
      if (err == SSL_ERROR_ZERO_RETURN) return absl::UnavailableError("the receiver closed the connection");
      if (err == SSL_ERROR_WANT_WRITE) {
        want = POLLOUT;
      } else if (err != SSL_ERROR_WANT_READ) {
        return absl::UnavailableError(absl::StrCat("TLS read: connection lost (", OpensslError(), ")"));
      }
    } else {
      const ssize_t rc = ::recv(fd_, buf, len, 0);
      if (rc > 0) return static_cast<size_t>(rc);
      if (rc == 0) return absl::UnavailableError("the receiver closed the connection");
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        return absl::UnavailableError(absl::StrCat("read: ", std::strerror(errno)));
      }
    }
    pollfd p{fd_, want, 0};
    const auto left = MillisUntil(deadline);
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) == 0) {
      return absl::DeadlineExceededError(absl::StrCat("no ACK from ", options_.host, ":", options_.port, " within ",
                                                      options_.ack_timeout.count(), " ms"));
    }
  }
}

absl::StatusOr<Ack> MllpClient::SendConnected(std::string_view message, std::string_view control_id) {
  const Clock::time_point deadline = Clock::now() + options_.ack_timeout;
  if (absl::Status s = WriteAll(MllpFrame(message), deadline); !s.ok()) return s;
  char buf[4096];
  for (;;) {
    absl::StatusOr<std::optional<std::string>> frame = deframer_->Next();
    if (!frame.ok()) return frame.status();
    if (frame->has_value()) return ParseAck(**frame, control_id);
    absl::StatusOr<size_t> n = ReadSome(buf, sizeof buf, deadline);
    if (!n.ok()) return n.status();
    deframer_->Feed(std::string_view(buf, *n));
  }
}

absl::StatusOr<Ack> MllpClient::Send(std::string_view message, std::string_view control_id) {
  SigpipeGuard guard;
  if (fd_ < 0) {
    if (absl::Status s = Connect(Clock::now() + options_.connect_timeout); !s.ok()) return s;
  }
  absl::StatusOr<Ack> ack = SendConnected(message, control_id);
  if (!ack.ok()) Close();
  return ack;
}

}  // namespace healthtwin::feeds::hl7
