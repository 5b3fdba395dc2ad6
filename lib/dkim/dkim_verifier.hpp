// DKIM verification (RFC 6376 6, RFC 8301, RFC 8463) of an incoming message, run by
// postern-authmilter: header fields given at construction, the body streamed with add_body(),
// then finish() asks DNS for every key in ONE batch and gives one result per signature.
// Everything here is hostile: the message and the DNS answers.
//
// Limits and choices:
// - At most max_signatures DKIM-Signature fields are checked, top down; when there are more,
//   one more result says so (policy "too many signatures") and the rest are ignored.
// - One body hash per distinct (canonicalization, hash, l=), computed as the body streams by.
// - l=: a signature whose l= leaves canonical body bytes unsigned is never a pass: when it
//   verifies it is "policy" with reason "body extends past l="; an l= longer than the body is
//   "fail". Content appended after signing therefore never passes.
// - t= more than max_future_seconds ahead of now is permerror; now past x= is permerror
//   ("signature expired"), as Mail::DKIM and OpenDKIM treat them.
// - RSA keys under min_rsa_bits give "policy" ("signing key too small"), never pass;
//   rsa-sha1 gives "policy" (RFC 8301) unless accept_rsa_sha1 is set (old test corpora only).
// - A revoked key (p= empty) is "fail" with reason "key revoked". Key k=, h=, s= and t=s are
//   honoured; i= must be d= or a subdomain of it; h= must include From.
// - DNS: NXDOMAIN or no TXT record is permerror ("no key for signature"); a temporary failure
//   is temperror. With several TXT records the first that parses as a key record is used.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dkim/dkim_body_hash.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/dkim/dkim_result.hpp"
#include "lib/dkim/dkim_signature.hpp"
#include "lib/net/dns_lookup.hpp"

namespace postern {

inline constexpr size_t kDkimDefaultMaxSignatures = 8;
inline constexpr int kDkimDefaultMinRsaBits = 1024;
inline constexpr int64_t kDkimDefaultMaxFutureSeconds = 3600;

struct DkimVerifyOptions {
  int64_t now = 0;  // seconds since the epoch (the caller's clock)
  int min_rsa_bits = kDkimDefaultMinRsaBits;
  size_t max_signatures = kDkimDefaultMaxSignatures;
  int64_t max_future_seconds = kDkimDefaultMaxFutureSeconds;
  bool accept_rsa_sha1 = false;  // RFC 8301 says no; only for RFC 4871-era test corpora
};

class DkimVerifier {
 public:
  DkimVerifier(std::vector<DkimHeader> headers, DkimVerifyOptions options);
  ~DkimVerifier();
  DkimVerifier(const DkimVerifier&) = delete;
  DkimVerifier& operator=(const DkimVerifier&) = delete;

  void add_body(std::string_view chunk);
  // One result per checked signature, in header order (plus the "too many" one); a single
  // result with status none when the message has no DKIM-Signature. Call once.
  std::vector<DkimResult> finish(DnsLookup& dns);

 private:
  struct Entry;
  DkimResult check(Entry& entry, const DnsAnswer& answer);

  std::vector<DkimHeader> headers_;
  DkimVerifyOptions options_;
  std::vector<Entry> entries_;
  std::vector<std::unique_ptr<DkimBodyHash>> body_hashes_;
  std::optional<DkimResult> too_many_;
};

// The TXT name of a signature's key: "<selector>._domainkey.<domain>".
std::string dkim_key_name(std::string_view selector, std::string_view domain);

}  // namespace postern
