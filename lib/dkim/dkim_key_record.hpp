// A DKIM public key record (RFC 6376 3.6.1, RFC 8463 for k=ed25519): the TXT record at
// <selector>._domainkey.<domain>. Run by the verifier on every DNS answer: hostile. Bounded by
// the tag-list limits; p= is decoded here but only checked as a key by dkim_crypto.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

enum class DkimKeyType { kRsa, kEd25519 };

struct DkimKeyRecord {
  DkimKeyType key_type = DkimKeyType::kRsa;  // k=, default rsa
  std::string public_key;                    // p= decoded; empty when revoked
  bool revoked = false;                      // p= present but empty
  std::vector<std::string> hashes;           // h= (lower-cased); empty means any
  bool testing = false;                      // t=y
  bool strict_identity = false;              // t=s: i= domain must equal d=
};

// Parses the TXT record text (character-strings already joined). Fails when v= is present but
// not first or not "DKIM1", on an unknown k=, when s= names neither "email" nor "*", when p= is
// missing or is not base64, and on any tag-list error.
Result<DkimKeyRecord> parse_dkim_key_record(std::string_view text);

// Whether the record's h= allows "sha256"/"sha1".
bool dkim_key_allows_hash(const DkimKeyRecord& record, std::string_view hash_name);

}  // namespace postern
