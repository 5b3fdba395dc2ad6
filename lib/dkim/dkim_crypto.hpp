// The OpenSSL side of DKIM verification: message digests (SHA-256, SHA-1) as a move-only owner,
// and a public key built from a key record's p= with the signature check of each algorithm
// (RFC 6376 3.3 RSASSA-PKCS1-v1_5, RFC 8463 Ed25519 over the SHA-256 digest). Run by the
// verifier (postern-authmilter) on keys from DNS: hostile bytes, parsed only by OpenSSL's DER
// decoder; RSA keys above kMaxDkimRsaBits are refused so a huge modulus cannot cost seconds.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_key_record.hpp"
#include "lib/dkim/dkim_signature.hpp"

namespace postern {

inline constexpr int kMaxDkimRsaBits = 8192;
inline constexpr size_t kDkimEd25519KeyBytes = 32;

class DkimDigest {
 public:
  explicit DkimDigest(DkimHashAlgorithm algorithm);
  DkimDigest(DkimDigest&& other) noexcept;
  DkimDigest& operator=(DkimDigest&& other) noexcept;
  DkimDigest(const DkimDigest&) = delete;
  DkimDigest& operator=(const DkimDigest&) = delete;
  ~DkimDigest();

  void update(std::string_view bytes);
  std::string finish();  // the digest; the object must not be updated afterwards

  static std::string of(DkimHashAlgorithm algorithm, std::string_view bytes);

 private:
  EVP_MD_CTX* context_ = nullptr;
};

class DkimPublicKey {
 public:
  // RSA: p= is a SubjectPublicKeyInfo (RFC 6376) or, as some publish, a bare RSAPublicKey.
  // Ed25519: p= is the raw 32-byte key (RFC 8463 4.2).
  static Result<DkimPublicKey> from_record(DkimKeyType type, std::string_view key_bytes);

  DkimPublicKey(DkimPublicKey&& other) noexcept;
  DkimPublicKey& operator=(DkimPublicKey&& other) noexcept;
  DkimPublicKey(const DkimPublicKey&) = delete;
  DkimPublicKey& operator=(const DkimPublicKey&) = delete;
  ~DkimPublicKey();

  int bits() const;
  // Checks signature over data (the canonicalized header block) for the algorithm.
  bool verify(DkimAlgorithm algorithm, std::string_view data, std::string_view signature) const;

 private:
  explicit DkimPublicKey(EVP_PKEY* key) : key_(key) {}
  EVP_PKEY* key_ = nullptr;
};

}  // namespace postern
