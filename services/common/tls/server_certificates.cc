#include "services/common/tls/server_certificates.h"

#include <fcntl.h>
#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::common {
namespace {

// gRPC's file watcher polls at most this often (its floor in 1.51).
constexpr unsigned int kRefreshIntervalS = 1;

// A new memory file holding `contents`, stamped with `mtime_s`: gRPC re-reads the key and
// certificate until both modification times (whole seconds) stay put across its read, so a
// fresh, strictly later stamp is what lets it tell an old pair from a new one.
absl::StatusOr<int> MemoryFile(const char* name, const std::string& contents, int64_t mtime_s) {
  const int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) {
    return absl::InternalError(
        absl::StrCat("memfd_create for the TLS ", name, ": ", std::generic_category().message(errno)));
  }
  size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = errno;
      ::close(fd);
      return absl::InternalError(
          absl::StrCat("writing the TLS ", name, " to memory: ", std::generic_category().message(error)));
    }
    written += static_cast<size_t>(n);
  }
  const timespec times[2] = {{mtime_s, 0}, {mtime_s, 0}};
  ::futimens(fd, times);
  return fd;
}

// Refuses, after the TLS stack has verified the chain, a client certificate the CRL lists.
class RevocationVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit RevocationVerifier(std::shared_ptr<RevocationChecker> checker) : checker_(std::move(checker)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> /*callback*/, grpc::Status* sync_status) override {
    const grpc::string_ref pem = request->peer_cert();
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                                                     &X509_free);
    ERR_clear_error();
    if (cert == nullptr) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no parsable client certificate");
      return true;
    }
    const absl::Status checked = checker_->Check(cert.get());
    *sync_status = checked.ok() ? grpc::Status::OK
                                : grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(checked.message()));
    return true;  // Synchronous: a set lookup.
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* /*request*/) override {}

 private:
  std::shared_ptr<RevocationChecker> checker_;
};

}  // namespace

absl::StatusOr<CertificateInfo> DescribeCertificate(const std::string& cert_pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())),
                                                &BIO_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), &X509_free);
  ERR_clear_error();
  if (cert == nullptr) return absl::InvalidArgumentError("certificate PEM does not parse");
  CertificateInfo info;
  char subject[512];
  X509_NAME_oneline(X509_get_subject_name(cert.get()), subject, sizeof(subject));
  info.subject = subject;
  std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr),
                                                     &BN_free);
  if (serial != nullptr) {
    char* hex = BN_bn2hex(serial.get());
    info.serial_hex = hex;
    OPENSSL_free(hex);
  }
  std::tm parts{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert.get()), &parts) != 1) {
    return absl::InvalidArgumentError("certificate has an unreadable notAfter");
  }
  info.not_after_unix_s = static_cast<int64_t>(timegm(&parts));
  return info;
}

int64_t DaysLeft(const CertificateInfo& cert, int64_t now_unix_s) {
  const int64_t seconds = cert.not_after_unix_s - now_unix_s;
  // Round towards minus infinity so that "0 days" means "expires within a day".
  return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

absl::StatusOr<std::unique_ptr<ServerCertificates>> ServerCertificates::Create(const TlsFiles& files) {
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  if (!material.ok()) return material.status();

  absl::StatusOr<std::shared_ptr<RevocationChecker>> revocation = RevocationChecker::ForFiles(files);
  if (!revocation.ok()) return revocation.status();

  std::unique_ptr<ServerCertificates> certs(new ServerCertificates());
  certs->files_ = files;
  certs->revocation_ = *std::move(revocation);
  if (absl::Status s = certs->Publish(*material); !s.ok()) return s;

  // The provider reads the staged files once, synchronously, before returning.
  auto path = [](int fd) { return absl::StrCat("/proc/self/fd/", fd); };
  certs->provider_ = std::make_shared<grpc::experimental::FileWatcherCertificateProvider>(
      path(certs->fds_[kKey]), path(certs->fds_[kCert]), path(certs->fds_[kCa]), kRefreshIntervalS);
  grpc::experimental::TlsServerCredentialsOptions options(certs->provider_);
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_cert_request_type(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  if (certs->revocation_ != nullptr) {
    options.set_certificate_verifier(
        grpc::experimental::ExternalCertificateVerifier::Create<RevocationVerifier>(certs->revocation_));
  }
  certs->credentials_ = grpc::experimental::TlsServerCredentials(options);
  if (certs->credentials_ == nullptr) {
    return absl::InternalError("gRPC refused to create server TLS credentials");
  }
  return certs;
}

ServerCertificates::~ServerCertificates() {
  // Stop the watcher thread before its files disappear.
  credentials_.reset();
  provider_.reset();
  for (int fd : fds_) {
    if (fd >= 0) ::close(fd);
  }
}

absl::Status ServerCertificates::Reload() {
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files_);
  absl::Status status = material.ok() ? Publish(*material) : material.status();
  if (revocation_ != nullptr) {
    absl::Status crl = revocation_->Reload();
    if (status.ok()) status = crl;
  }
  return status;
}

CertificateInfo ServerCertificates::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

absl::Status ServerCertificates::Publish(const TlsMaterial& material) {
  absl::StatusOr<CertificateInfo> info = DescribeCertificate(material.cert_pem);
  if (!info.ok()) return info.status();
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t mtime_s = std::max<int64_t>(std::time(nullptr), published_mtime_s_ + 1);
  const std::string* contents[kFiles] = {&material.ca_cert_pem, &material.key_pem, &material.cert_pem};
  const char* names[kFiles] = {"CA bundle", "private key", "certificate"};
  int fresh[kFiles] = {-1, -1, -1};
  for (int i = 0; i < kFiles; ++i) {
    absl::StatusOr<int> fd = MemoryFile(names[i], *contents[i], mtime_s);
    if (!fd.ok()) {
      for (int j = 0; j < i; ++j) ::close(fresh[j]);
      return fd.status();
    }
    fresh[i] = *fd;
  }
  for (int i = 0; i < kFiles; ++i) {
    if (fds_[i] < 0) {
      fds_[i] = fresh[i];  // The first publication fixes the descriptor numbers gRPC watches.
    } else {
      // Atomically points the watched number at the new file: a reader opens either the old
      // content or the new, never a half-written one.
      ::dup3(fresh[i], fds_[i], O_CLOEXEC);
      ::close(fresh[i]);
    }
  }
  published_mtime_s_ = mtime_s;
  current_ = *std::move(info);
  return absl::OkStatus();
}

}  // namespace healthtwin::common
