// libFuzzer target for lib/dkim/dkim_key_record.cpp and the key side of dkim_crypto.cpp:
// postern-authmilter parses every DKIM key record DNS returns, and hands p= to OpenSSL's
// decoders. The input is one TXT record (character-strings joined). Besides crashes and
// sanitizer reports it checks that a revoked record has no key, that a usable RSA key is within
// kMaxDkimRsaBits and an Ed25519 key is 32 bytes, and that a check over junk never passes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/dkim/dkim_crypto.hpp"
#include "lib/dkim/dkim_key_record.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  postern::Result<postern::DkimKeyRecord> record = postern::parse_dkim_key_record(text);
  if (!record) return 0;
  check(record->revoked == record->public_key.empty());
  if (record->revoked) return 0;
  postern::Result<postern::DkimPublicKey> key =
      postern::DkimPublicKey::from_record(record->key_type, record->public_key);
  if (!key) return 0;
  if (record->key_type == postern::DkimKeyType::kEd25519) {
    check(record->public_key.size() == postern::kDkimEd25519KeyBytes);
    check(!key->verify(postern::DkimAlgorithm::kEd25519Sha256, text, std::string(64, '\0')));
  } else {
    check(key->bits() > 0 && key->bits() <= postern::kMaxDkimRsaBits);
    check(!key->verify(postern::DkimAlgorithm::kRsaSha256, text, std::string(8, '\0')));
  }
  return 0;
}
