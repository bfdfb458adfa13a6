#include "services/common/audit/signing.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdio>
#include <memory>

#include "absl/strings/escaping.h"
#include "services/common/audit/record.h"

namespace healthtwin::common::audit {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

}  // namespace

absl::StatusOr<CheckpointKey> CheckpointKey::FromPrivateKeyFile(const std::string& path) {
  return FromFile(path, /*is_private=*/true);
}

absl::StatusOr<CheckpointKey> CheckpointKey::FromPublicKeyFile(const std::string& path) {
  return FromFile(path, /*is_private=*/false);
}

absl::StatusOr<CheckpointKey> CheckpointKey::FromPrivateKeyPem(std::string_view pem, const std::string& source) {
  std::unique_ptr<BIO, int (*)(BIO*)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
  if (!bio) return absl::InternalError("OpenSSL could not allocate a memory BIO");
  return FromPem(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), source, /*is_private=*/true);
}

absl::StatusOr<CheckpointKey> CheckpointKey::FromFile(const std::string& path, bool is_private) {
  const char* what = is_private ? "private" : "public";
  std::unique_ptr<FILE, int (*)(FILE*)> file(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!file) return absl::NotFoundError(std::string("cannot open the ") + what + " key file " + path);
  return FromPem(is_private ? PEM_read_PrivateKey(file.get(), nullptr, nullptr, nullptr)
                            : PEM_read_PUBKEY(file.get(), nullptr, nullptr, nullptr),
                 path, is_private);
}

absl::StatusOr<CheckpointKey> CheckpointKey::FromPem(EVP_PKEY* raw, const std::string& path, bool is_private) {
  const char* what = is_private ? "private" : "public";
  if (raw == nullptr) {
    ERR_clear_error();  // leave no stale error for the next OpenSSL user on this thread
    return absl::InvalidArgumentError(path + " does not hold a PEM " + what + " key");
  }
  CheckpointKey key;
  key.key_.reset(raw, &EVP_PKEY_free);
  if (EVP_PKEY_get_id(raw) != EVP_PKEY_ED25519) {
    return absl::InvalidArgumentError(path + " holds a " + what + " key that is not Ed25519");
  }
  unsigned char pub[32];
  std::size_t pub_size = sizeof(pub);
  if (EVP_PKEY_get_raw_public_key(raw, pub, &pub_size) != 1 || pub_size != sizeof(pub)) {
    return absl::InvalidArgumentError(path + ": cannot read the Ed25519 public key");
  }
  key.key_id_ =
      absl::BytesToHexString(Sha256(std::string_view(reinterpret_cast<const char*>(pub), pub_size))).substr(0, 16);
  key.can_sign_ = is_private;
  return key;
}

absl::StatusOr<std::string> CheckpointKey::Sign(std::string_view message) const {
  if (!can_sign_) return absl::FailedPreconditionError("this checkpoint key is a public key: it cannot sign");
  MdCtx ctx(EVP_MD_CTX_new());
  std::string signature(kSignatureSize, '\0');
  std::size_t size = signature.size();
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      size != kSignatureSize) {
    ERR_clear_error();
    return absl::InternalError("Ed25519 signing failed in OpenSSL");
  }
  return signature;
}

bool CheckpointKey::Verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kSignatureSize) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  const bool good =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  if (!good) ERR_clear_error();
  return good;
}

}  // namespace healthtwin::common::audit
