// Mutual TLS for every healthtwin gRPC connection, and the caller identity it
// yields.
//
// Each process holds one certificate from the healthtwin CA (see
// deploy/pki/README.md). Servers require and verify a client certificate
// chained to that CA; clients trust only that CA. The subject's CN names the
// caller and its OU names the role, so handlers authorise on the verified
// certificate and never on anything the caller merely asserts.
//
// All functions are thread-safe and keep no state between calls.

#pragma once

#include <grpcpp/channel.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/support/channel_arguments.h>
#include <grpcpp/support/status.h>
#include <openssl/types.h>  // X509

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace healthtwin::common {

// Where this process finds its TLS material on disk.
struct TlsFiles {
  std::string ca_cert_path;  // PEM bundle of the CA(s) we trust.
  std::string cert_path;     // PEM: our certificate, then any intermediates.
  std::string key_path;      // PEM: unencrypted private key for cert_path.
  // PEM CRL of the CA (deploy/pki/revoke.sh). Optional: empty turns revocation checking off.
  // Servers only (ServerCertificates, the HTTPS listener); LoadTlsMaterial does not read it.
  // The initialiser lets `{ca, cert, key}` leave it out without -Wmissing-field-initializers.
  std::string crl_path = {};
};

// The three files' contents, exactly as read, once they have passed
// LoadTlsMaterial's checks.
struct TlsMaterial {
  std::string ca_cert_pem;
  std::string cert_pem;
  std::string key_pem;
};

// Reads the three files and checks them now, so that a misconfigured process
// fails at startup with a message that names the bad file, rather than later
// with an opaque handshake error on every connection.
//
// Errors:
//   NotFound           a file is missing or unreadable; the message names the
//                      path and its part ("certificate", "private key",
//                      "CA bundle").
//   InvalidArgument    a path is empty, a file is not parsable PEM (encrypted
//                      keys count as unparsable), the key does not match the
//                      certificate, or the certificate does not chain to the
//                      CA bundle; the message names the file.
//   FailedPrecondition the certificate, or a CA in its chain, has expired or
//                      is not valid yet; the message gives its validity dates.
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const TlsFiles& files);

// Server credentials that demand a client certificate and verify it against
// the CA bundle during the handshake, so an unverified peer never reaches a
// handler. gRPC 1.51 offers no knob for the protocol version; its TLS stack
// negotiates TLS 1.2 or 1.3 only. Errors are those of LoadTlsMaterial.
// Does not read files.crl_path: services use ServerCertificates (server_certificates.h), which
// also refuses revoked client certificates and reloads on SIGHUP.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const TlsFiles& files);

// Channel credentials that present our certificate and trust only the CA
// bundle (never the system roots). gRPC also checks that the server's
// certificate names the TLS target name of the channel (see MakePeerChannel).
// Errors are those of LoadTlsMaterial.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const TlsFiles& files);

// A mutual-TLS channel to `address` (host:port, e.g. 127.0.0.1:7443) that
// accepts only a server whose certificate carries the SAN DNS:<expected_peer>,
// e.g. "ingest". The address only says where to connect; the TLS target name
// is `expected_peer`, so whatever else listens on that port (another service
// with its own certificate from the same CA) fails the handshake. Calls then
// fail UNAVAILABLE with a message naming the peer (see IsPeerNameMismatch).
//
// `address` may also be a gRPC target URI such as dns:///twin-0.twin:7443 or
// ipv4:10.0.0.1:7443,10.0.0.2:7443; calls go round robin over every address it
// resolves to.
//
// `args` may carry extra channel arguments (e.g. a private subchannel pool);
// the target name, load balancing, keepalive and reconnect backoff are set on top of them.
//
// Errors: InvalidArgument when `expected_peer` is empty (a client must say
// whom it expects), otherwise those of LoadTlsMaterial.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakePeerChannel(const std::string& address, const TlsFiles& tls,
                                                               const std::string& expected_peer,
                                                               grpc::ChannelArguments args = {});

// True when a call failed because the server's certificate did not name the
// peer the channel expects (it is some other service).
bool IsPeerNameMismatch(const grpc::Status& status);

// What a caller may do. The certificate's OU names it.
enum class Role { kUnknown, kService, kBridge, kClinician, kNurse, kResearcher, kAdmin };

struct PeerIdentity {
  std::string common_name;  // The subject CN, e.g. "dr-alice".
  // kUnknown when the certificate has no OU, several, or one we do not know;
  // callers must then deny anything that needs a role.
  Role role = Role::kUnknown;
  // The OU text exactly as in the certificate (several joined by ","), kept
  // for audit logs even when it maps to kUnknown.
  std::string role_name;
};

// The verified caller of the current RPC, read from the peer certificate that
// the TLS handshake has already checked. Pass ServerContext::auth_context() or
// CallbackServerContext::auth_context().
//
// Errors:
//   Unauthenticated  the peer presented no verified certificate (e.g. an
//                    insecure port), or its certificate has no CN.
//   Internal         the certificate gRPC handed over does not parse.
absl::StatusOr<PeerIdentity> PeerIdentityFromAuthContext(const grpc::AuthContext& auth_context);

// The same rules for a certificate the caller's TLS stack has already verified (e.g. the
// HTTPS listener's SSL_get0_peer_certificate): PeerIdentityFromAuthContext uses it, so both
// edges derive the identity identically. Unauthenticated for null or a CN that is not exactly
// one usable name.
absl::StatusOr<PeerIdentity> PeerIdentityFromCertificate(const X509* cert);

// Who a process is, from its own certificate (the first of `cert_pem`, PEM text), by the same
// rules: what a service records as the agent of what it does on its own initiative (the feeds'
// deliveries). Errors: InvalidArgument when the PEM does not parse, then those above.
absl::StatusOr<PeerIdentity> IdentityFromCertificatePem(std::string_view cert_pem);

// The OU spelling of a role ("service", "clinician", ...); "unknown" for
// kUnknown. The returned view refers to static storage.
std::string_view RoleName(Role role);

}  // namespace healthtwin::common
