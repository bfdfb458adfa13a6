#include "services/common/crypto/aes_gcm.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace healthtwin::common::crypto {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* Bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* Bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

absl::Status CheckKey(std::string_view key) {
  if (key.size() != kKeyBytes) {
    return absl::InvalidArgumentError(absl::StrCat("AES-256-GCM key is ", key.size(), " bytes, not ", kKeyBytes));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> AesGcmSeal(std::string_view key, std::string_view plaintext, std::string_view aad) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  std::string out(kGcmIvBytes + plaintext.size() + kGcmTagBytes, '\0');
  if (RAND_bytes(Bytes(out), kGcmIvBytes) != 1) return absl::InternalError("RAND_bytes failed for a GCM IV");
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  int total = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmIvBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(out)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(ctx.get(), Bytes(out) + kGcmIvBytes, &len, Bytes(plaintext),
                        static_cast<int>(plaintext.size())) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  total = len;
  if (EVP_EncryptFinal_ex(ctx.get(), Bytes(out) + kGcmIvBytes + total, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, Bytes(out) + kGcmIvBytes + plaintext.size()) !=
          1) {
    return absl::InternalError("AES-256-GCM encryption failed");
  }
  return out;
}

absl::StatusOr<std::string> AesGcmOpen(std::string_view key, std::string_view sealed, std::string_view aad) {
  if (absl::Status s = CheckKey(key); !s.ok()) return s;
  if (sealed.size() < kGcmIvBytes + kGcmTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("sealed data is ", sealed.size(), " bytes, shorter than an IV and a tag (28)"));
  }
  const size_t text_bytes = sealed.size() - kGcmIvBytes - kGcmTagBytes;
  std::string out(text_bytes, '\0');
  std::string tag(sealed.substr(kGcmIvBytes + text_bytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kGcmIvBytes, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, Bytes(key), Bytes(sealed)) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, Bytes(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_DecryptUpdate(ctx.get(), Bytes(out), &len, Bytes(sealed) + kGcmIvBytes, static_cast<int>(text_bytes)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag.data()) != 1) {
    return absl::InternalError("AES-256-GCM decryption failed");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), Bytes(out) + len, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return absl::DataLossError("the authentication tag does not verify");
  }
  return out;
}

absl::StatusOr<std::string> RandomKey() {
  std::string key(kKeyBytes, '\0');
  if (RAND_bytes(Bytes(key), static_cast<int>(key.size())) != 1) return absl::InternalError("RAND_bytes failed");
  return key;
}

void AppendU32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
}

void AppendLengthPrefixed(std::string& out, std::string_view s) {
  AppendU32(out, static_cast<uint32_t>(s.size()));
  out.append(s);
}

}  // namespace healthtwin::common::crypto
