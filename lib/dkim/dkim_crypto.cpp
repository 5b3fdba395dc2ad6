// Digests and public-key checks for DKIM over OpenSSL EVP; see dkim_crypto.hpp. Key bytes come
// from DNS (hostile) and go only to OpenSSL's DER decoders, whose result is checked for type and
// size before use. Every OpenSSL object has one owner here.
#include "lib/dkim/dkim_crypto.hpp"

#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <memory>

namespace postern {
namespace {

const EVP_MD* md_for(DkimHashAlgorithm algorithm) {
  return algorithm == DkimHashAlgorithm::kSha1 ? EVP_sha1() : EVP_sha256();
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

}  // namespace

DkimDigest::DkimDigest(DkimHashAlgorithm algorithm) : context_(EVP_MD_CTX_new()) {
  if (!context_ || EVP_DigestInit_ex(context_, md_for(algorithm), nullptr) != 1) {
    std::abort();  // out of memory or a broken OpenSSL: not something a message can cause
  }
}

DkimDigest::DkimDigest(DkimDigest&& other) noexcept : context_(other.context_) {
  other.context_ = nullptr;
}

DkimDigest& DkimDigest::operator=(DkimDigest&& other) noexcept {
  if (this != &other) {
    EVP_MD_CTX_free(context_);
    context_ = other.context_;
    other.context_ = nullptr;
  }
  return *this;
}

DkimDigest::~DkimDigest() {
  EVP_MD_CTX_free(context_);
}

void DkimDigest::update(std::string_view bytes) {
  if (!bytes.empty()) EVP_DigestUpdate(context_, bytes.data(), bytes.size());
}

std::string DkimDigest::finish() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(context_, digest, &size);
  return std::string(reinterpret_cast<const char*>(digest), size);
}

std::string DkimDigest::of(DkimHashAlgorithm algorithm, std::string_view bytes) {
  DkimDigest digest(algorithm);
  digest.update(bytes);
  return digest.finish();
}

Result<DkimPublicKey> DkimPublicKey::from_record(DkimKeyType type, std::string_view key_bytes) {
  if (type == DkimKeyType::kEd25519) {
    if (key_bytes.size() != kDkimEd25519KeyBytes) return Error::parse("bad ed25519 key length");
    EVP_PKEY* key = EVP_PKEY_new_raw_public_key(
        EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(key_bytes.data()),
        key_bytes.size());
    if (!key) return Error::parse("bad ed25519 key");
    return DkimPublicKey(key);
  }
  const unsigned char* cursor = reinterpret_cast<const unsigned char*>(key_bytes.data());
  long size = static_cast<long>(key_bytes.size());
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &cursor, size);
  if (!key || cursor != reinterpret_cast<const unsigned char*>(key_bytes.data()) + size) {
    EVP_PKEY_free(key);
    cursor = reinterpret_cast<const unsigned char*>(key_bytes.data());
    key = d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, size);
    if (!key || cursor != reinterpret_cast<const unsigned char*>(key_bytes.data()) + size) {
      EVP_PKEY_free(key);
      return Error::parse("bad RSA key data");
    }
  }
  DkimPublicKey owner(key);
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA) return Error::parse("key is not RSA");
  if (owner.bits() > kMaxDkimRsaBits) return Error::limit("RSA key too large");
  return owner;
}

DkimPublicKey::DkimPublicKey(DkimPublicKey&& other) noexcept : key_(other.key_) {
  other.key_ = nullptr;
}

DkimPublicKey& DkimPublicKey::operator=(DkimPublicKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = other.key_;
    other.key_ = nullptr;
  }
  return *this;
}

DkimPublicKey::~DkimPublicKey() {
  EVP_PKEY_free(key_);
}

int DkimPublicKey::bits() const {
  return EVP_PKEY_get_bits(key_);
}

bool DkimPublicKey::verify(DkimAlgorithm algorithm, std::string_view data,
                           std::string_view signature) const {
  bool ed25519 = EVP_PKEY_get_base_id(key_) == EVP_PKEY_ED25519;
  if (ed25519 != (algorithm == DkimAlgorithm::kEd25519Sha256)) return false;
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> context(EVP_MD_CTX_new());
  if (!context) return false;
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  if (ed25519) {
    // RFC 8463 3: Ed25519 (pure) signs the SHA-256 digest of the header block.
    std::string digest = DkimDigest::of(DkimHashAlgorithm::kSha256, data);
    if (EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key_) != 1) return false;
    return EVP_DigestVerify(context.get(), sig, signature.size(),
                            reinterpret_cast<const unsigned char*>(digest.data()),
                            digest.size()) == 1;
  }
  EVP_PKEY_CTX* key_context = nullptr;  // owned by context
  if (EVP_DigestVerifyInit(context.get(), &key_context, md_for(dkim_algorithm_hash(algorithm)),
                           nullptr, key_) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PADDING) != 1) {
    return false;
  }
  return EVP_DigestVerify(context.get(), sig, signature.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

}  // namespace postern
