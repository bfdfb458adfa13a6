#include "services/common/tls/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/create_channel.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "services/common/tls/pem_internal.h"

namespace healthtwin::common {
namespace {

// Real PEM bundles are a few KiB; the cap stops a path such as /dev/zero from
// eating memory before we notice it is not PEM.
constexpr size_t kMaxPemBytes = 1 << 20;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
struct EvpPkeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct X509StoreFree {
  void operator()(X509_STORE* store) const { X509_STORE_free(store); }
};
struct X509StoreCtxFree {
  void operator()(X509_STORE_CTX* ctx) const { X509_STORE_CTX_free(ctx); }
};
struct X509StackFree {
  // The stack holds borrowed pointers; the certificates are owned elsewhere.
  void operator()(STACK_OF(X509) * stack) const { sk_X509_free(stack); }
};

using UniqueBio = std::unique_ptr<BIO, BioFree>;
using UniqueX509 = std::unique_ptr<X509, X509Free>;
using UniqueEvpPkey = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;

// OpenSSL reports through a per-thread queue. Leaving entries behind would
// make a later, unrelated OpenSSL call on this thread (gRPC's included) look
// as if it had failed.
class OpenSslErrorQueueGuard {
 public:
  OpenSslErrorQueueGuard() { ERR_clear_error(); }
  ~OpenSslErrorQueueGuard() { ERR_clear_error(); }
  OpenSslErrorQueueGuard(const OpenSslErrorQueueGuard&) = delete;
  OpenSslErrorQueueGuard& operator=(const OpenSslErrorQueueGuard&) = delete;
};

std::string LastOpenSslError() {
  const unsigned long code = ERR_peek_last_error();
  if (code == 0) return "no detail from OpenSSL";
  char text[256];
  ERR_error_string_n(code, text, sizeof(text));
  return text;
}

absl::StatusOr<std::string> ReadPemFile(const std::string& path, absl::string_view part) {
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", part, " path given"));
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    return absl::NotFoundError(absl::StrCat("cannot open ", part, " file '", path,
                                            "': ", std::generic_category().message(error)));
  }
  std::string contents;
  char buffer[4096];
  size_t n = 0;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) {
    contents.append(buffer, n);
    if (contents.size() > kMaxPemBytes) break;
  }
  const int error = errno;
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) {
    return absl::NotFoundError(absl::StrCat("cannot read ", part, " file '", path,
                                            "': ", std::generic_category().message(error)));
  }
  if (contents.size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(absl::StrCat(part, " file '", path, "' is larger than ",
                                                   kMaxPemBytes, " bytes; not a PEM file"));
  }
  return contents;
}

UniqueBio MemoryBio(const std::string& pem) {
  return UniqueBio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// All certificates in `pem`, in file order; at least one.
absl::StatusOr<std::vector<UniqueX509>> ParseCertificates(const std::string& pem,
                                                          const std::string& path,
                                                          absl::string_view part) {
  UniqueBio bio = MemoryBio(pem);
  std::vector<UniqueX509> certs;
  while (true) {
    UniqueX509 cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (cert == nullptr) {
      const unsigned long code = ERR_peek_last_error();
      const bool at_end =
          ERR_GET_LIB(code) == ERR_LIB_PEM && ERR_GET_REASON(code) == PEM_R_NO_START_LINE;
      if (at_end && !certs.empty()) break;
      return absl::InvalidArgumentError(
          absl::StrCat(part, " file '", path, "' ",
                       certs.empty() ? "holds no PEM certificate" : "holds an unparsable PEM block",
                       ": ", LastOpenSslError()));
    }
    certs.push_back(std::move(cert));
  }
  ERR_clear_error();
  return certs;
}

// Never prompt on a terminal for a passphrase: services run unattended.
int RefusePassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

absl::StatusOr<UniqueEvpPkey> ParsePrivateKey(const std::string& pem, const std::string& path) {
  UniqueBio bio = MemoryBio(pem);
  UniqueEvpPkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &RefusePassphrase, nullptr));
  if (key == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("private key file '", path,
                     "' holds no unencrypted PEM private key: ", LastOpenSslError()));
  }
  return key;
}

std::string FormatAsn1Time(const ASN1_TIME* time) {
  std::tm parts{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &parts) != 1) return "(unreadable date)";
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string SubjectOneLine(const X509* cert) {
  char text[512];
  X509_NAME_oneline(X509_get_subject_name(cert), text, sizeof(text));
  return text;
}

std::string ValidityText(const X509* cert) {
  return absl::StrCat("valid from ", FormatAsn1Time(X509_get0_notBefore(cert)), " until ",
                      FormatAsn1Time(X509_get0_notAfter(cert)));
}

absl::Status CheckCurrentlyValid(const X509* cert, const std::string& path) {
  const int after_cmp = X509_cmp_current_time(X509_get0_notAfter(cert));
  const int before_cmp = X509_cmp_current_time(X509_get0_notBefore(cert));
  if (after_cmp == 0 || before_cmp == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate file '", path, "' has an unreadable validity period"));
  }
  if (after_cmp < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate file '", path, "' expired: notAfter ",
                     FormatAsn1Time(X509_get0_notAfter(cert)), " (", ValidityText(cert), ")"));
  }
  if (before_cmp > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("certificate file '", path, "' is not valid yet: ", ValidityText(cert),
                     ", notAfter ", FormatAsn1Time(X509_get0_notAfter(cert))));
  }
  return absl::OkStatus();
}

// Checks that `leaf`, helped by any intermediates from the same file, chains
// to one of `cas`.
absl::Status CheckChainsToCa(X509* leaf, const std::vector<UniqueX509>& intermediates,
                             const std::vector<UniqueX509>& cas, const TlsFiles& files) {
  std::unique_ptr<X509_STORE, X509StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, X509StoreCtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), X509StackFree> untrusted(sk_X509_new_null());
  if (store == nullptr || ctx == nullptr || untrusted == nullptr) {
    return absl::ResourceExhaustedError("OpenSSL could not allocate a certificate store");
  }
  for (const UniqueX509& ca : cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) {
      return absl::InvalidArgumentError(absl::StrCat("CA bundle file '", files.ca_cert_path,
                                                     "' cannot be used: ", LastOpenSslError()));
    }
  }
  for (const UniqueX509& cert : intermediates) sk_X509_push(untrusted.get(), cert.get());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1) {
    return absl::InternalError(absl::StrCat("X509_STORE_CTX_init: ", LastOpenSslError()));
  }
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();

  const int error = X509_STORE_CTX_get_error(ctx.get());
  if (error == X509_V_ERR_CERT_HAS_EXPIRED || error == X509_V_ERR_CERT_NOT_YET_VALID) {
    // The leaf passed its own date check, so a CA or intermediate is at fault.
    const X509* culprit = X509_STORE_CTX_get_current_cert(ctx.get());
    return absl::FailedPreconditionError(
        absl::StrCat("the chain of certificate file '", files.cert_path, "' holds '",
                     culprit ? SubjectOneLine(culprit) : "?", "' which ",
                     error == X509_V_ERR_CERT_HAS_EXPIRED ? "expired" : "is not valid yet",
                     ": notAfter ", culprit ? FormatAsn1Time(X509_get0_notAfter(culprit)) : "?"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("certificate file '", files.cert_path, "' is not signed by CA bundle '",
                   files.ca_cert_path, "': ", X509_verify_cert_error_string(error)));
}

// The UTF-8 values of every `nid` entry in `name`, in order.
std::vector<std::string> NameEntries(const X509_NAME* name, int nid) {
  std::vector<std::string> values;
  for (int i = X509_NAME_get_index_by_NID(name, nid, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, nid, i)) {
    unsigned char* utf8 = nullptr;
    const int length =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, i)));
    if (length < 0) {
      // Keep a placeholder so that an undecodable entry fails the callers'
      // checks instead of silently vanishing from the subject.
      values.emplace_back();
      continue;
    }
    values.emplace_back(reinterpret_cast<const char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
  }
  return values;
}

Role RoleFromOrganizationalUnits(const std::vector<std::string>& units) {
  // Several OUs make the role ambiguous; fail closed rather than pick one.
  if (units.size() != 1) return Role::kUnknown;
  for (Role role : {Role::kService, Role::kBridge, Role::kClinician, Role::kNurse,
                    Role::kResearcher, Role::kAdmin}) {
    if (units.front() == RoleName(role)) return role;
  }
  return Role::kUnknown;
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files) {
  OpenSslErrorQueueGuard error_queue;
  TlsMaterial material;
  {
    absl::StatusOr<std::string> ca = ReadPemFile(files.ca_cert_path, "CA bundle");
    if (!ca.ok()) return ca.status();
    absl::StatusOr<std::string> cert = ReadPemFile(files.cert_path, "certificate");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPemFile(files.key_path, "private key");
    if (!key.ok()) return key.status();
    material = TlsMaterial{*std::move(ca), *std::move(cert), *std::move(key)};
  }

  absl::StatusOr<std::vector<UniqueX509>> cas =
      ParseCertificates(material.ca_cert_pem, files.ca_cert_path, "CA bundle");
  if (!cas.ok()) return cas.status();
  absl::StatusOr<std::vector<UniqueX509>> chain =
      ParseCertificates(material.cert_pem, files.cert_path, "certificate");
  if (!chain.ok()) return chain.status();
  absl::StatusOr<UniqueEvpPkey> key = ParsePrivateKey(material.key_pem, files.key_path);
  if (!key.ok()) return key.status();

  UniqueX509 leaf = std::move(chain->front());
  chain->erase(chain->begin());
  if (X509_check_private_key(leaf.get(), key->get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("private key file '", files.key_path,
                                                   "' does not match certificate file '",
                                                   files.cert_path, "'"));
  }
  if (absl::Status valid = CheckCurrentlyValid(leaf.get(), files.cert_path); !valid.ok()) {
    return valid;
  }
  if (absl::Status chained = CheckChainsToCa(leaf.get(), *chain, *cas, files); !chained.ok()) {
    return chained;
  }
  return material;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files) {
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  if (!material.ok()) return material.status();
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = std::move(material->ca_cert_pem);
  options.pem_key_cert_pairs.push_back(
      {std::move(material->key_pem), std::move(material->cert_pem)});
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::SslServerCredentials(options);
  if (credentials == nullptr) {
    return absl::InternalError("gRPC refused to create server TLS credentials");
  }
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files) {
  absl::StatusOr<TlsMaterial> material = LoadTlsMaterial(files);
  if (!material.ok()) return material.status();
  grpc::SslCredentialsOptions options;
  // Never empty after LoadTlsMaterial, so gRPC never falls back to the
  // system roots.
  options.pem_root_certs = std::move(material->ca_cert_pem);
  options.pem_private_key = std::move(material->key_pem);
  options.pem_cert_chain = std::move(material->cert_pem);
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::SslCredentials(options);
  if (credentials == nullptr) {
    return absl::InternalError("gRPC refused to create channel TLS credentials");
  }
  return credentials;
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakePeerChannel(const std::string& address, const TlsFiles& tls,
                                                               const std::string& expected_peer,
                                                               grpc::ChannelArguments args) {
  if (expected_peer.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("no expected peer identity given for ", address,
                                                   "; a client must name the service it dials (e.g. 'ingest')"));
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials = MakeChannelCredentials(tls);
  if (!credentials.ok()) return credentials.status();
  // gRPC verifies the server certificate's SAN against this name instead of
  // the dialled host, so "127.0.0.1" or "localhost" (names every service
  // could claim) never decide who we talk to.
  args.SetSslTargetNameOverride(expected_peer);
  // Calls spread over every address the target resolves to (dns:///name:port of a Kubernetes
  // headless Service gives one per replica): gRPC keeps a connection for its life, so the default
  // pick_first would send every call to one replica. For host:port of one address it is the same.
  args.SetLoadBalancingPolicyName("round_robin");
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30'000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5'000);
  return grpc::CreateCustomChannel(address, *credentials, args);
}

bool IsPeerNameMismatch(const grpc::Status& status) {
  // gRPC 1.51 reports this only as UNAVAILABLE with this text.
  return status.error_code() == grpc::StatusCode::UNAVAILABLE &&
         status.error_message().find("is not in peer certificate") != std::string::npos;
}

absl::StatusOr<PeerIdentity> PeerIdentityFromAuthContext(const grpc::AuthContext& auth_context) {
  OpenSslErrorQueueGuard error_queue;
  if (!auth_context.IsPeerAuthenticated()) {
    return absl::UnauthenticatedError(
        "peer is not authenticated; a client certificate from the healthtwin CA is required");
  }
  const std::vector<grpc::string_ref> pems =
      auth_context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (pems.empty()) {
    return absl::UnauthenticatedError("peer presented no X.509 certificate");
  }
  const std::string pem(pems.front().data(), pems.front().size());
  UniqueBio bio = MemoryBio(pem);
  UniqueX509 cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot parse the peer certificate from gRPC: ", LastOpenSslError()));
  }
  return PeerIdentityFromCertificate(cert.get());
}

absl::StatusOr<PeerIdentity> IdentityFromCertificatePem(std::string_view cert_pem) {
  OpenSslErrorQueueGuard error_queue;
  const std::string pem(cert_pem);  // the BIO reads this buffer in place
  UniqueBio bio = MemoryBio(pem);
  UniqueX509 cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (cert == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("cannot parse the certificate: ", LastOpenSslError()));
  }
  return PeerIdentityFromCertificate(cert.get());
}

absl::StatusOr<PeerIdentity> PeerIdentityFromCertificate(const X509* cert) {
  if (cert == nullptr) {
    return absl::UnauthenticatedError(
        "peer presented no certificate; a client certificate from the healthtwin CA is required");
  }
  const X509_NAME* subject = X509_get_subject_name(cert);
  std::vector<std::string> common_names = NameEntries(subject, NID_commonName);
  if (common_names.size() != 1 || common_names.front().empty() ||
      common_names.front().find('\0') != std::string::npos) {
    return absl::UnauthenticatedError(
        absl::StrCat("peer certificate '", SubjectOneLine(cert), "' does not carry exactly one usable CN"));
  }
  const std::vector<std::string> units = NameEntries(subject, NID_organizationalUnitName);

  PeerIdentity identity;
  identity.common_name = std::move(common_names.front());
  identity.role = RoleFromOrganizationalUnits(units);
  identity.role_name = absl::StrJoin(units, ",");
  return identity;
}

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kUnknown:
      return "unknown";
    case Role::kService:
      return "service";
    case Role::kBridge:
      return "bridge";
    case Role::kClinician:
      return "clinician";
    case Role::kNurse:
      return "nurse";
    case Role::kResearcher:
      return "researcher";
    case Role::kAdmin:
      return "admin";
  }
  return "unknown";
}

}  // namespace healthtwin::common

namespace healthtwin::common::tls_internal {

void X509Deleter::operator()(X509* cert) const { X509_free(cert); }

absl::StatusOr<std::string> ReadTlsFile(const std::string& path, absl::string_view part) {
  return ReadPemFile(path, part);
}

absl::StatusOr<std::vector<OwnedX509>> ParsePemCertificates(const std::string& pem, const std::string& path,
                                                            absl::string_view part) {
  absl::StatusOr<std::vector<UniqueX509>> certs = ParseCertificates(pem, path, part);
  if (!certs.ok()) return certs.status();
  std::vector<OwnedX509> owned;
  for (UniqueX509& cert : *certs) owned.emplace_back(cert.release());
  return owned;
}

std::string OpenSslErrorText() { return LastOpenSslError(); }

std::string Asn1TimeText(const ASN1_TIME* time) { return FormatAsn1Time(time); }

std::string NameOneLine(const X509_NAME* name) {
  char text[512];
  X509_NAME_oneline(name, text, sizeof(text));
  return text;
}

}  // namespace healthtwin::common::tls_internal
