// Keys for the DKIM tests, made at run time with OpenSSL (RSA of a given size, Ed25519 from a
// seed) and handed over as PEM, so every test goes through load_dkim_private_key as the milter
// does. Test code only.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "lib/dkim/dkim_base64.hpp"
#include "lib/dkim/dkim_private_key.hpp"

namespace postern::dkim_test {

inline std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

// PEM of a new RSA key of that many bits; one per size per test binary (4096 takes a while).
inline const std::string& rsa_pem(unsigned bits) {
  static std::map<unsigned, std::string> cache;
  auto found = cache.find(bits);
  if (found != cache.end()) return found->second;
  EVP_PKEY* key = EVP_RSA_gen(bits);
  std::string pem = key ? pem_of(key) : std::string();
  EVP_PKEY_free(key);
  return cache[bits] = pem;
}

// PEM (PKCS#8) of the Ed25519 key with this 32-byte seed.
inline std::string ed25519_pem_from_seed(std::string_view seed) {
  EVP_PKEY* key = EVP_PKEY_new_raw_private_key(
      EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(seed.data()), seed.size());
  std::string pem = key ? pem_of(key) : std::string();
  EVP_PKEY_free(key);
  return pem;
}

inline std::string ed25519_pem_from_seed_base64(std::string_view text) {
  std::string trimmed(text);
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == '\r')) {
    trimmed.pop_back();
  }
  Result<std::string> seed = dkim_base64_decode(trimmed);
  return seed ? ed25519_pem_from_seed(*seed) : std::string();
}

inline std::string new_ed25519_pem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  std::string pem = key ? pem_of(key) : std::string();
  EVP_PKEY_free(key);
  return pem;
}

// The key record a signer's key needs in DNS.
inline std::string key_record(const DkimPrivateKey& key, std::string_view extra = "") {
  std::string record = "v=DKIM1; k=";
  record += key.type() == DkimKeyType::kEd25519 ? "ed25519" : "rsa";
  record += "; ";
  record += extra;
  record += "p=" + key.public_key_base64();
  return record;
}

}  // namespace postern::dkim_test
