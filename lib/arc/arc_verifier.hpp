// ARC chain validation (RFC 8617 5.2) of an incoming message, run by postern-authmilter for
// mail from strangers: header fields given at construction, the body streamed with add_body(),
// then finish() asks DNS for every key in ONE batch (each AMS and AS selector, deduplicated)
// and gives the chain's validation status. Everything here is hostile: the message and the DNS
// answers. Bounded by gather_arc_sets' limits (50 sets, 150 ARC fields, 16 KB a value) and
// one streamed body hash per distinct (canonicalization, l=) among the AMSes. Each ARC field is
// canonicalized once; the seals together hash the ARC text at most 50 times over (each seal
// signs the sets below it), so the work is bounded by 50 x the milter's header-size limit.
//
// The steps, in RFC 8617 5.2's order:
// 1. no ARC field at all: cv none;
// 2. the newest AS says cv=fail: fail (so does any other AS with cv=fail);
// 3. structure (arc_headers.hpp): any break is fail; AS i=1 must say cv=none, every later one
//    cv=pass; every AS and the newest AMS must parse;
// 4. the newest AMS must verify with DKIM's rules (lib/dkim: the key record, RSA of at least
//    min_rsa_bits, the body hash, the header hash over h=); an l= that is not the canonical
//    body's length fails (appended text is never passed);
// 5. oldest-pass: each older AMS is checked too, newest first; oldest_pass is the lowest
//    instance from which every AMS up to N verifies (0 when all do), for the resinfo only;
// 6. every AS, newest first, must verify over the ARC sets 1..i (AAR, AMS, AS of each, relaxed
//    header canonicalization, the AS's own b= emptied, no CRLF after it);
// 7. pass.
// A key whose lookup failed temporarily makes the chain fail with `temporary` set, so that a
// caller can choose to answer 4xx or not to seal rather than record a lasting fail.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/arc/arc_headers.hpp"
#include "lib/dkim/dkim_body_hash.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/net/dns_lookup.hpp"

namespace postern {

inline constexpr int kArcDefaultMinRsaBits = 1024;

struct ArcVerifyOptions {
  int min_rsa_bits = kArcDefaultMinRsaBits;
};

struct ArcResult {
  ArcChainStatus status = ArcChainStatus::kNone;
  uint32_t instances = 0;           // N: the sets of a chain that passed the structural checks
  uint32_t highest_instance = 0;    // the highest i= seen, also in a broken chain
  uint32_t oldest_pass = 0;         // RFC 8617 5.2 step 5; meaningful for pass
  bool newest_seal_failed = false;  // the newest AS says cv=fail: a sealer must not add a set
  bool temporary = false;           // fail because a key lookup failed temporarily
  std::string reason;               // why, for fail (ours, safe to log)
  std::string seal_domain;          // d= of the newest AS, when it parsed

  // The resinfo for Authentication-Results (RFC 8617 10.1 method "arc", RFC 8601 syntax):
  //   arc=none
  //   arc=pass (i=2) header.oldest-pass=0 smtp.remote-ip=192.0.2.1
  //   arc=fail (i=2) reason="AMS i=2 did not verify" smtp.remote-ip=192.0.2.1
  // The comment names the newest instance; header.oldest-pass is written for pass;
  // smtp.remote-ip (RFC 8617 10.2) when remote_ip is not empty.
  std::string resinfo(std::string_view remote_ip) const;
};

class ArcVerifier {
 public:
  ArcVerifier(std::vector<DkimHeader> headers, ArcVerifyOptions options);
  ~ArcVerifier();
  ArcVerifier(const ArcVerifier&) = delete;
  ArcVerifier& operator=(const ArcVerifier&) = delete;

  void add_body(std::string_view chunk);
  // Call once.
  ArcResult finish(DnsLookup& dns);

 private:
  struct Signature;
  struct Seal;
  ArcResult fail(std::string reason);

  std::vector<DkimHeader> headers_;
  ArcVerifyOptions options_;
  ArcSetsGathered gathered_;
  std::vector<Signature> signatures_;  // index k: instance k + 1; empty when decided early
  std::vector<Seal> seals_;
  std::vector<std::unique_ptr<DkimBodyHash>> body_hashes_;
  ArcResult early_;  // decided at construction (none, or a fail)
  bool decided_ = false;
};

}  // namespace postern
