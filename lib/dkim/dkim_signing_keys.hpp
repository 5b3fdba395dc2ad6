// The DKIM private keys Postern signs and ARC-seals with, read once at start from
// dkim_key_directory through lib/dkim/dkim_key_store (DOMAIN/SELECTOR.key; keys under
// DOMAIN/retired/ do not sign). Read-only afterwards, so every connection thread may use it.
// A domain whose folder holds a file that is not a key is skipped with a warning naming the file
// (its mail goes out unsigned, and says so); so is a key that cannot be read. One broken file
// must not stop the daemon (the milter would tempfail all mail).
// Bounded by the key store's limits (domains, keys per domain, key file size).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_private_key.hpp"

namespace postern {

struct DkimSigningKey {
  std::string selector;
  DkimPrivateKey key;
};

class DkimSigningKeys {
 public:
  // No directory yet is no keys (mail goes out unsigned, and says so in the log).
  static Result<DkimSigningKeys> load(const std::string& directory);

  // The keys of exactly this domain (lower-case); nullptr when there are none.
  const std::vector<DkimSigningKey>* keys_for(std::string_view domain) const;
  // The domain itself or its nearest parent with keys (mail.example.org -> example.org), as a
  // signature by a parent aligns with From: under relaxed DMARC alignment; "" when none.
  std::string signing_domain_for(std::string_view domain) const;
  // The first RSA key of exactly this domain, nullptr when it has none: an ARC seal uses
  // rsa-sha256, which every ARC verifier knows (Ed25519 is not yet).
  const DkimSigningKey* rsa_key_for(std::string_view domain) const;

  size_t domain_count() const { return keys_.size(); }
  size_t key_count() const;

 private:
  std::map<std::string, std::vector<DkimSigningKey>, std::less<>> keys_;
};

}  // namespace postern
