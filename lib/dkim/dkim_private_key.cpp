// Loads DKIM private keys from PEM and signs with them; see dkim_private_key.hpp. A key file
// asking for a passphrase fails instead of prompting (the callback refuses).
#include "lib/dkim/dkim_private_key.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>

#include "lib/dkim/dkim_base64.hpp"
#include "lib/dkim/dkim_crypto.hpp"

namespace postern {
namespace {

int refuse_passphrase(char*, int, int, void*) {
  return -1;
}

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

}  // namespace

Result<DkimPrivateKey> load_dkim_private_key(std::string_view pem) {
  if (pem.size() > kMaxDkimPemBytes) return Error::limit("key file too large");
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error::system("BIO_new_mem_buf", ENOMEM);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio.get(), nullptr, refuse_passphrase, nullptr);
  if (!key) return Error::parse("no private key in PEM text");
  int id = EVP_PKEY_get_base_id(key);
  if (id == EVP_PKEY_RSA) return DkimPrivateKey(key, DkimKeyType::kRsa);
  if (id == EVP_PKEY_ED25519) return DkimPrivateKey(key, DkimKeyType::kEd25519);
  EVP_PKEY_free(key);
  return Error::parse("private key is neither RSA nor Ed25519");
}

DkimPrivateKey::DkimPrivateKey(DkimPrivateKey&& other) noexcept
    : key_(other.key_), type_(other.type_) {
  other.key_ = nullptr;
}

DkimPrivateKey& DkimPrivateKey::operator=(DkimPrivateKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = other.key_;
    type_ = other.type_;
    other.key_ = nullptr;
  }
  return *this;
}

DkimPrivateKey::~DkimPrivateKey() {
  EVP_PKEY_free(key_);
}

int DkimPrivateKey::bits() const {
  return EVP_PKEY_get_bits(key_);
}

std::string DkimPrivateKey::public_key_base64() const {
  if (type_ == DkimKeyType::kEd25519) {
    unsigned char raw[kDkimEd25519KeyBytes];
    size_t size = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(key_, raw, &size) != 1) return "";
    return dkim_base64_encode(std::string_view(reinterpret_cast<const char*>(raw), size));
  }
  unsigned char* der = nullptr;
  int size = i2d_PUBKEY(key_, &der);
  if (size <= 0) return "";
  std::string text = dkim_base64_encode(std::string_view(reinterpret_cast<char*>(der), size));
  OPENSSL_free(der);
  return text;
}

Result<std::string> DkimPrivateKey::sign(std::string_view data) const {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> context(EVP_MD_CTX_new());
  if (!context) return Error::system("EVP_MD_CTX_new", ENOMEM);
  std::string digest;
  std::string_view input = data;
  if (type_ == DkimKeyType::kEd25519) {
    digest = DkimDigest::of(DkimHashAlgorithm::kSha256, data);
    input = digest;
    if (EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key_) != 1) {
      return Error{ErrorKind::kPermanent, "EVP_DigestSignInit failed", 0};
    }
  } else {
    EVP_PKEY_CTX* key_context = nullptr;
    if (EVP_DigestSignInit(context.get(), &key_context, EVP_sha256(), nullptr, key_) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(key_context, RSA_PKCS1_PADDING) != 1) {
      return Error{ErrorKind::kPermanent, "EVP_DigestSignInit failed", 0};
    }
  }
  size_t size = 0;
  const auto* bytes = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(context.get(), nullptr, &size, bytes, input.size()) != 1) {
    return Error{ErrorKind::kPermanent, "EVP_DigestSign failed", 0};
  }
  std::string signature(size, '\0');
  if (EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &size,
                     bytes, input.size()) != 1) {
    return Error{ErrorKind::kPermanent, "EVP_DigestSign failed", 0};
  }
  signature.resize(size);
  return signature;
}

}  // namespace postern
