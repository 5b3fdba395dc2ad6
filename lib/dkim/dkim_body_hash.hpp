// One body hash of a message (RFC 6376 3.7 body hash): a canonicalizer feeding a digest, for
// one (canonicalization, hash, l=) triple. The signer keeps one per canonicalization it signs
// with, the verifier one per distinct triple among the signatures it checks, so the body is
// read once and never kept. Bounded as DkimBodyCanonicalizer is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/dkim/dkim_crypto.hpp"

namespace postern {

class DkimBodyHash {
 public:
  DkimBodyHash(DkimCanon canon, DkimHashAlgorithm hash, std::optional<uint64_t> limit);
  DkimBodyHash(const DkimBodyHash&) = delete;
  DkimBodyHash& operator=(const DkimBodyHash&) = delete;

  bool matches(DkimCanon canon, DkimHashAlgorithm hash, std::optional<uint64_t> limit) const {
    return canon == canon_ && hash == hash_ && limit == limit_;
  }
  void add(std::string_view chunk) { canonicalizer_.add(chunk); }
  void finish();  // once, before digest() and canonical_bytes()

  const std::string& digest() const { return digest_; }
  uint64_t canonical_bytes() const { return canonicalizer_.canonical_bytes(); }

 private:
  DkimCanon canon_;
  DkimHashAlgorithm hash_;
  std::optional<uint64_t> limit_;
  DkimDigest context_;
  DkimBodyCanonicalizer canonicalizer_;
  std::string digest_;
  bool finished_ = false;
};

}  // namespace postern
