// For tests: a fresh EC P-256 key pair as PEM texts (the token issuer's), and a signer with
// its verifier. Header-only and free
// of GoogleTest, so unit and integration tests share it.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <string>

#include "services/common/auth/bearer_token.h"

namespace healthtwin::common::auth::testing {

// The issuer and audience test tokens carry.
inline constexpr char kIssuer[] = "https://tokens.healthtwin.test";
inline constexpr char kAudience[] = "healthtwin-clinician-api";

struct KeyPairPem {
  std::string private_pem;
  std::string public_pem;
};

inline KeyPairPem NewP256KeyPair() {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (key == nullptr) std::abort();
  auto to_text = [&](bool priv) {
    BIO* bio = BIO_new(BIO_s_mem());
    const int ok = priv ? PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr)
                        : PEM_write_bio_PUBKEY(bio, key);
    if (ok != 1) std::abort();
    char* data = nullptr;
    const long len = BIO_get_mem_data(bio, &data);
    std::string text(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return text;
  };
  KeyPairPem pair{to_text(true), to_text(false)};
  EVP_PKEY_free(key);
  return pair;
}

// A signer and the verifier of its tokens, under a fresh key pair.
struct Issuer {
  TokenSigner signer;
  TokenVerifier verifier;
};

inline Issuer NewIssuer(VerifierOptions options) {
  const KeyPairPem keys = NewP256KeyPair();
  auto signer = TokenSigner::FromPrivateKeyPem(keys.private_pem);
  auto verifier = TokenVerifier::FromPublicKeyPem(keys.public_pem, std::move(options));
  if (!signer.ok() || !verifier.ok()) std::abort();
  return Issuer{*std::move(signer), *std::move(verifier)};
}

}  // namespace healthtwin::common::auth::testing
