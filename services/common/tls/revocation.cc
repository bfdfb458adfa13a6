#include "services/common/tls/revocation.h"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/common/tls/pem_internal.h"

namespace healthtwin::common {
namespace {

using tls_internal::Asn1TimeText;
using tls_internal::NameOneLine;
using tls_internal::OpenSslErrorText;

struct CrlDeleter {
  void operator()(X509_CRL* crl) const { X509_CRL_free(crl); }
};

// Upper-case hex without leading zeros, as `openssl x509 -serial` and BN_bn2hex print it.
std::string SerialHex(const ASN1_INTEGER* serial) {
  std::unique_ptr<BIGNUM, decltype(&BN_free)> bn(ASN1_INTEGER_to_BN(serial, nullptr), &BN_free);
  if (bn == nullptr) return "";
  char* hex = BN_bn2hex(bn.get());
  std::string text = hex != nullptr ? hex : "";
  OPENSSL_free(hex);
  return text;
}

std::string NameDer(const X509_NAME* name) {
  const unsigned char* der = nullptr;
  size_t size = 0;
  if (X509_NAME_get0_der(name, &der, &size) != 1) return "";
  return std::string(reinterpret_cast<const char*>(der), size);
}

// Seconds since the epoch, or nullopt-like -1 for an unreadable time.
int64_t UnixSeconds(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return -1;
  return static_cast<int64_t>(timegm(&parts));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RevocationList>> RevocationList::Load(const std::string& crl_path,
                                                                           const std::string& ca_cert_path,
                                                                           int64_t now_unix_s) {
  ERR_clear_error();
  absl::StatusOr<std::string> pem = tls_internal::ReadTlsFile(crl_path, "CRL");
  if (!pem.ok()) return pem.status();
  absl::StatusOr<std::string> ca_pem = tls_internal::ReadTlsFile(ca_cert_path, "CA bundle");
  if (!ca_pem.ok()) return ca_pem.status();
  absl::StatusOr<std::vector<tls_internal::OwnedX509>> cas =
      tls_internal::ParsePemCertificates(*ca_pem, ca_cert_path, "CA bundle");
  if (!cas.ok()) return cas.status();

  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem->data(), static_cast<int>(pem->size())), &BIO_free);
  std::unique_ptr<X509_CRL, CrlDeleter> crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (crl == nullptr) {
    const std::string detail = OpenSslErrorText();
    ERR_clear_error();
    return absl::InvalidArgumentError(absl::StrCat("CRL file '", crl_path, "' holds no PEM X.509 CRL: ", detail));
  }

  std::shared_ptr<RevocationList> list(new RevocationList());
  list->path_ = crl_path;
  const X509_NAME* issuer = X509_CRL_get_issuer(crl.get());
  list->issuer_ = NameOneLine(issuer);
  list->issuer_der_ = NameDer(issuer);

  // The signer: a CA of the bundle with the CRL's issuer name whose key verifies the signature.
  bool issuer_known = false;
  bool signature_ok = false;
  for (const tls_internal::OwnedX509& ca : *cas) {
    if (X509_NAME_cmp(X509_get_subject_name(ca.get()), issuer) != 0) continue;
    issuer_known = true;
    EVP_PKEY* key = X509_get0_pubkey(ca.get());
    if (key != nullptr && X509_CRL_verify(crl.get(), key) == 1) {
      signature_ok = true;
      break;
    }
  }
  ERR_clear_error();
  if (!issuer_known) {
    return absl::InvalidArgumentError(absl::StrCat("CRL file '", crl_path, "' is issued by '", list->issuer_,
                                                   "', which is not a CA of the CA bundle '", ca_cert_path, "'"));
  }
  if (!signature_ok) {
    return absl::InvalidArgumentError(absl::StrCat("CRL file '", crl_path, "' names issuer '", list->issuer_,
                                                   "' but its signature does not verify with that CA's key in '",
                                                   ca_cert_path, "'"));
  }

  const ASN1_TIME* last = X509_CRL_get0_lastUpdate(crl.get());
  const ASN1_TIME* next = X509_CRL_get0_nextUpdate(crl.get());
  if (next == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "CRL file '", crl_path, "' has no nextUpdate; healthtwin needs one to tell a current CRL from a stale one"));
  }
  list->last_update_unix_s_ = UnixSeconds(last);
  list->next_update_unix_s_ = UnixSeconds(next);
  if (list->last_update_unix_s_ < 0 || list->next_update_unix_s_ < 0) {
    return absl::InvalidArgumentError(absl::StrCat("CRL file '", crl_path, "' has an unreadable validity period"));
  }
  const std::string window = absl::StrCat("lastUpdate ", Asn1TimeText(last), ", nextUpdate ", Asn1TimeText(next));
  if (list->next_update_unix_s_ <= now_unix_s) {
    return absl::FailedPreconditionError(absl::StrCat("CRL file '", crl_path, "' expired (", window,
                                                      "); reissue it with deploy/pki/revoke.sh --crl-only"));
  }
  if (list->last_update_unix_s_ > now_unix_s) {
    return absl::FailedPreconditionError(absl::StrCat("CRL file '", crl_path, "' is not valid yet (", window, ")"));
  }

  const STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const X509_REVOKED* entry = sk_X509_REVOKED_value(revoked, i);
    list->revoked_serials_hex_.insert(SerialHex(X509_REVOKED_get0_serialNumber(entry)));
  }
  return std::shared_ptr<const RevocationList>(std::move(list));
}

bool RevocationList::IsRevoked(const X509* cert) const {
  if (cert == nullptr) return false;
  if (NameDer(X509_get_issuer_name(cert)) != issuer_der_) return false;
  return revoked_serials_hex_.contains(SerialHex(X509_get0_serialNumber(cert)));
}

absl::StatusOr<std::shared_ptr<RevocationChecker>> RevocationChecker::Create(const TlsFiles& files) {
  absl::StatusOr<std::shared_ptr<const RevocationList>> list =
      RevocationList::Load(files.crl_path, files.ca_cert_path, std::time(nullptr));
  if (!list.ok()) return list.status();
  std::shared_ptr<RevocationChecker> checker(new RevocationChecker());
  checker->files_ = files;
  checker->list_ = *std::move(list);
  return checker;
}

absl::StatusOr<std::shared_ptr<RevocationChecker>> RevocationChecker::ForFiles(const TlsFiles& files) {
  if (files.crl_path.empty()) return std::shared_ptr<RevocationChecker>();
  // Weak entries: a checker lives as long as a server or listener uses it, so a later server
  // with the same paths (tests) loads the file afresh.
  static std::mutex registry_mu;
  static std::map<std::pair<std::string, std::string>, std::weak_ptr<RevocationChecker>> registry;
  std::lock_guard<std::mutex> lock(registry_mu);
  auto& slot = registry[{files.crl_path, files.ca_cert_path}];
  if (std::shared_ptr<RevocationChecker> shared = slot.lock()) return shared;
  absl::StatusOr<std::shared_ptr<RevocationChecker>> checker = Create(files);
  if (checker.ok()) slot = *checker;
  return checker;
}

absl::Status RevocationChecker::Reload() {
  absl::StatusOr<std::shared_ptr<const RevocationList>> list =
      RevocationList::Load(files_.crl_path, files_.ca_cert_path, std::time(nullptr));
  if (!list.ok()) return list.status();
  std::lock_guard<std::mutex> lock(mu_);
  list_ = *std::move(list);
  return absl::OkStatus();
}

std::shared_ptr<const RevocationList> RevocationChecker::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return list_;
}

void RevocationChecker::OnRefused(std::function<void(const absl::Status&)> observer) {
  auto shared = std::make_shared<const std::function<void(const absl::Status&)>>(std::move(observer));
  std::lock_guard<std::mutex> lock(mu_);
  on_refused_ = std::move(shared);
}

absl::Status RevocationChecker::Check(const X509* cert) const {
  std::shared_ptr<const RevocationList> list;
  std::shared_ptr<const std::function<void(const absl::Status&)>> observer;
  {
    std::lock_guard<std::mutex> lock(mu_);
    list = list_;
    observer = on_refused_;
  }
  if (!list->IsRevoked(cert)) return absl::OkStatus();
  absl::Status refused = absl::UnauthenticatedError(
      absl::StrCat("client certificate '", NameOneLine(X509_get_subject_name(cert)), "' serial ",
                   SerialHex(X509_get0_serialNumber(cert)), " is revoked (CRL '", list->path(), "')"));
  if (observer != nullptr && *observer) (*observer)(refused);
  return refused;
}

}  // namespace healthtwin::common
