// A DKIM signing key: an RSA or Ed25519 private key loaded from PEM (PKCS#8 "PRIVATE KEY" or
// PKCS#1 "RSA PRIVATE KEY") with OpenSSL EVP, and the signature of a header block with it.
// Loaded by postern-authmilter from files that lib/dkim/dkim_key_store keeps (trusted, but
// still checked: an encrypted key, another key type or garbage is an error, never a prompt).
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_key_record.hpp"

namespace postern {

inline constexpr size_t kMaxDkimPemBytes = 65536;

class DkimPrivateKey {
 public:
  DkimPrivateKey(DkimPrivateKey&& other) noexcept;
  DkimPrivateKey& operator=(DkimPrivateKey&& other) noexcept;
  DkimPrivateKey(const DkimPrivateKey&) = delete;
  DkimPrivateKey& operator=(const DkimPrivateKey&) = delete;
  ~DkimPrivateKey();

  DkimKeyType type() const { return type_; }
  int bits() const;  // RSA modulus bits; 256 for Ed25519
  // The key record's p= value: base64 of the SubjectPublicKeyInfo (RSA) or of the raw 32-byte
  // public key (Ed25519, RFC 8463 4.2).
  std::string public_key_base64() const;
  // rsa: RSASSA-PKCS1-v1_5 with SHA-256 over data; ed25519: Ed25519 over SHA-256(data).
  Result<std::string> sign(std::string_view data) const;

 private:
  friend Result<DkimPrivateKey> load_dkim_private_key(std::string_view pem);
  DkimPrivateKey(EVP_PKEY* key, DkimKeyType type) : key_(key), type_(type) {}
  EVP_PKEY* key_ = nullptr;
  DkimKeyType type_ = DkimKeyType::kRsa;
};

Result<DkimPrivateKey> load_dkim_private_key(std::string_view pem);

}  // namespace postern
