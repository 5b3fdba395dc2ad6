// Password hashes: checks a password a client sent (submission and imapd AUTH) against the
// crypt(3) hash stored in our accounts, and makes new hashes (`postern user add|passwd`).
// Uses libxcrypt's crypt_r; the work area lives on the heap and is wiped after use. The password
// is hostile (bounded by kMaxPasswordBytes, no NUL, not empty); the hash is the admin's, trusted
// but checked: only yescrypt ($y$), SHA-512-crypt ($6$), SHA-256-crypt ($5$) and bcrypt ($2b$,
// $2y$) are accepted. DES and MD5 ($1$) hashes are refused as too weak, so such an account
// cannot log in until its hash is replaced. Comparison of the computed hash is constant-time.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

// libxcrypt refuses longer passphrases (CRYPT_MAX_PASSPHRASE_SIZE 512, with the NUL), so a
// limit of 1024 could never be met; password_hash.cpp checks the two agree.
inline constexpr size_t kMaxPasswordBytes = 511;
inline constexpr size_t kMaxPasswordHashBytes = 383;  // libxcrypt's CRYPT_OUTPUT_SIZE - 1

enum class HashScheme { kYescrypt, kSha512Crypt, kSha256Crypt, kBcrypt, kWeak, kUnknown };

// Which scheme a stored hash uses, from its prefix alone.
HashScheme password_hash_scheme(std::string_view hash);

// true: the password matches; false: it does not. An Error when the password is refused before
// hashing (empty, longer than kMaxPasswordBytes, contains NUL: kLimit/kParse) or the hash cannot
// be used (a weak or unknown scheme, malformed: kConfig — worth a log line naming the account).
Result<bool> verify_password(std::string_view password, std::string_view hash);

// A new yescrypt hash of password, with a random salt and libxcrypt's default cost.
Result<std::string> make_password_hash(std::string_view password);

}  // namespace postern
