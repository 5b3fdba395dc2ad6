// Password hashes with libxcrypt's crypt_r. Runs in submission, imapd (verify) and the CLI
// (make). The password comes from the network and is checked against kMaxPasswordBytes before
// any hashing work; the stored hash is checked for an accepted scheme before crypt_r sees it.
// struct crypt_data is about 32 KiB, so it is heap-allocated per call and cleansed afterwards.
#include "lib/auth/password_hash.hpp"

#include <crypt.h>
#include <openssl/crypto.h>

#include <cstring>
#include <memory>

namespace postern {
namespace {

static_assert(kMaxPasswordBytes + 1 == CRYPT_MAX_PASSPHRASE_SIZE);
static_assert(kMaxPasswordHashBytes + 1 == CRYPT_OUTPUT_SIZE);

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// Wipes and frees the crypt_r work area (it holds the password and intermediate state).
struct CryptDataDeleter {
  void operator()(crypt_data* data) const {
    OPENSSL_cleanse(data, sizeof(*data));
    delete data;
  }
};
using CryptData = std::unique_ptr<crypt_data, CryptDataDeleter>;

CryptData new_crypt_data() {
  return CryptData(new crypt_data());
}  // value-initialised: zeroed

Status check_password(std::string_view password) {
  if (password.empty()) return Error::parse("empty password");
  if (password.size() > kMaxPasswordBytes) {
    return Error::limit("password longer than " + std::to_string(kMaxPasswordBytes) + " bytes");
  }
  if (password.find('\0') != std::string_view::npos) return Error::parse("NUL in password");
  return Status::success();
}

// crypt_r signals failure with NULL or a string starting with '*' ("*0", "*1").
bool crypt_failed(const char* output) {
  return output == nullptr || output[0] == '*';
}

}  // namespace

HashScheme password_hash_scheme(std::string_view hash) {
  if (starts_with(hash, "$y$")) return HashScheme::kYescrypt;
  if (starts_with(hash, "$6$")) return HashScheme::kSha512Crypt;
  if (starts_with(hash, "$5$")) return HashScheme::kSha256Crypt;
  if (starts_with(hash, "$2b$") || starts_with(hash, "$2y$")) return HashScheme::kBcrypt;
  // MD5-crypt, and traditional or extended DES (no '$' prefix, or '_' for BSDi DES).
  if (starts_with(hash, "$1$") || hash.empty() || hash[0] != '$') return HashScheme::kWeak;
  return HashScheme::kUnknown;
}

Result<bool> verify_password(std::string_view password, std::string_view hash) {
  if (Status st = check_password(password); !st) return st.error();
  switch (password_hash_scheme(hash)) {
    case HashScheme::kWeak:
      return Error::config("password hash scheme is too weak (DES or MD5); replace the hash");
    case HashScheme::kUnknown:
      return Error::config("password hash scheme is not supported");
    default:
      break;
  }
  if (hash.size() > kMaxPasswordHashBytes || hash.find('\0') != std::string_view::npos) {
    return Error::config("malformed password hash");
  }
  const std::string password_text(password);
  const std::string hash_text(hash);
  CryptData data = new_crypt_data();
  const char* output = crypt_r(password_text.c_str(), hash_text.c_str(), data.get());
  if (crypt_failed(output)) return Error::config("malformed password hash");
  const size_t output_bytes = std::strlen(output);
  // The length of a hash is public (it is fixed by its scheme); only the bytes are compared in
  // constant time.
  if (output_bytes != hash_text.size()) return false;
  return CRYPTO_memcmp(output, hash_text.data(), output_bytes) == 0;
}

Result<std::string> make_password_hash(std::string_view password) {
  if (Status st = check_password(password); !st) return st.error();
  char setting[CRYPT_GENSALT_OUTPUT_SIZE] = {};
  // count 0: libxcrypt's default cost; rbytes NULL: salt from the OS's random source.
  if (crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof(setting)) == nullptr) {
    return Error::system("crypt_gensalt_rn");
  }
  const std::string password_text(password);
  CryptData data = new_crypt_data();
  const char* output = crypt_r(password_text.c_str(), setting, data.get());
  if (crypt_failed(output)) return Error::system("crypt_r");
  return std::string(output);
}

}  // namespace postern
