#include "tests/harness/dev_cert.h"

#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>

#include "absl/strings/str_cat.h"

namespace healthtwin::testing {
namespace {

namespace fs = std::filesystem;

template <auto Free>
struct FreeWith {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
template <typename T, auto Free>
using Owned = std::unique_ptr<T, FreeWith<Free>>;
using Bio = Owned<BIO, BIO_free>;

absl::Status Fail(const std::string& step) {
  return absl::InternalError(absl::StrCat("issuing a certificate: ", step));
}

bool AddExtension(X509* cert, X509* ca, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca, cert, nullptr, nullptr, 0);
  Owned<X509_EXTENSION, X509_EXTENSION_free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  return ext != nullptr && X509_add_ext(cert, ext.get(), -1) == 1;
}

}  // namespace

absl::Status IssueDevCertificate(const std::string& pki_dir, const std::string& out_dir,
                                 const DevCertificateSpec& spec) {
  const fs::path ca_pem = fs::path(pki_dir) / "ca.pem";
  const fs::path ca_key_pem = fs::path(pki_dir) / "ca.key";
  Bio ca_in(BIO_new_file(ca_pem.c_str(), "r"));
  Owned<X509, X509_free> ca(ca_in ? PEM_read_bio_X509(ca_in.get(), nullptr, nullptr, nullptr) : nullptr);
  if (!ca) return absl::NotFoundError(absl::StrCat("cannot read the CA certificate ", ca_pem.string()));
  Bio ca_key_in(BIO_new_file(ca_key_pem.c_str(), "r"));
  Owned<EVP_PKEY, EVP_PKEY_free> ca_key(ca_key_in ? PEM_read_bio_PrivateKey(ca_key_in.get(), nullptr, nullptr, nullptr)
                                                  : nullptr);
  if (!ca_key) return absl::NotFoundError(absl::StrCat("cannot read the CA key ", ca_key_pem.string()));

  Owned<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
  Owned<X509, X509_free> cert(X509_new());
  if (!key || !cert) return Fail("EC P-256 key generation");
  Owned<BIGNUM, BN_free> serial(BN_new());
  if (!serial || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return Fail("random serial");
  }
  X509_NAME* subject = X509_get_subject_name(cert.get());
  for (const auto& [field, value] :
       {std::pair<const char*, std::string>{"O", "healthtwin"}, {"OU", spec.role}, {"CN", spec.name}}) {
    if (X509_NAME_add_entry_by_txt(subject, field, MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(value.c_str()),
                                   -1, -1, 0) != 1) {
      return Fail(absl::StrCat("subject field ", field));
    }
  }
  if (X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(cert.get()), spec.not_before_offset_s) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), spec.not_after_offset_s) == nullptr ||
      X509_set_pubkey(cert.get(), key.get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get())) != 1 ||
      !AddExtension(cert.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") ||
      !AddExtension(cert.get(), ca.get(), NID_key_usage, "critical,digitalSignature") ||
      !AddExtension(cert.get(), ca.get(), NID_ext_key_usage, "clientAuth") ||
      !AddExtension(cert.get(), ca.get(), NID_authority_key_identifier, "keyid:always") ||
      X509_sign(cert.get(), ca_key.get(), EVP_sha256()) <= 0) {
    return Fail("building or signing the certificate");
  }

  const fs::path cert_out = fs::path(out_dir) / (spec.name + ".pem");
  const fs::path key_out = fs::path(out_dir) / (spec.name + ".key");
  Bio cert_file(BIO_new_file(cert_out.c_str(), "w"));
  if (!cert_file || PEM_write_bio_X509(cert_file.get(), cert.get()) != 1) {
    return absl::InternalError(absl::StrCat("cannot write ", cert_out.string()));
  }
  const mode_t old_mask = umask(077);  // the key is the owner's only, as the script makes them
  Bio key_file(BIO_new_file(key_out.c_str(), "w"));
  umask(old_mask);
  if (!key_file || PEM_write_bio_PrivateKey(key_file.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(absl::StrCat("cannot write ", key_out.string()));
  }
  return absl::OkStatus();
}

}  // namespace healthtwin::testing
