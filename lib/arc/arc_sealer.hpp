// ARC sealing (RFC 8617 5.1): the three header fields of the next ARC set for a message we pass
// on, the body hashed as it streams by (never kept). A library for whoever seals (the lead
// decides where; postern-authmilter only verifies for now). The message and the chain result
// come from a stranger; the authserv-id, the resinfo texts (our own Authentication-Results
// clauses), the key and the options are ours. Bounded by kMaxArcInstances and
// kMaxArcSealResinfos; a set our own verifier would refuse is not made (kLimit): more than
// kMaxDkimSignedHeaders names in h=, or a value longer than kMaxArcHeaderValueBytes.
//
// What is written, and when (RFC 8617 5.1 and 5.1.2, followed as written):
// - the chain's newest AS already says cv=fail (ArcResult::newest_seal_failed): nothing is
//   sealed (kPermanent error): that chain is over and adding to it says nothing;
// - the next instance would be past 50: nothing is sealed (kLimit);
// - otherwise instance N+1 (N = the highest instance seen) with cv= the chain's status as our
//   verifier found it. For cv=none and cv=pass the AS signs the ARC sets 1..N+1; for cv=fail
//   (a chain we found broken) it signs only the set it adds, as if it were the only one.
// Fields, each value beginning with a space, tags in alphabetical order (the arc-test-suite's
// standard form), one space after each ';':
//   ARC-Authentication-Results: i=N; authserv-id; resinfo; resinfo ...  ("; none" for none)
//   ARC-Message-Signature: a= b= bh= c= d= h= i= s= t=
//   ARC-Seal: a= b= cv= d= i= s= t=
// With fold (the default) lines are broken before 78 columns with CRLF TAB: between tags,
// between resinfos, and inside the b= and bh= base64; without it each value is one line. h=
// lists every field of options.signed_headers present in the message, as often as it occurs
// (never ARC-Seal or ARC-Message-Signature). The key may be RSA (rsa-sha256) or Ed25519
// (ed25519-sha256, as RFC 8463 defines it for DKIM).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/arc/arc_headers.hpp"
#include "lib/arc/arc_verifier.hpp"
#include "lib/authres/authres_parser.hpp"
#include "lib/base/result.hpp"
#include "lib/dkim/dkim_body_hash.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/dkim/dkim_private_key.hpp"
#include "lib/dkim/dkim_signer.hpp"  // dkim_default_signed_headers

namespace postern {

// As many as lib/authres reads back from an AAR.
inline constexpr size_t kMaxArcSealResinfos = kMaxAuthResInfos;
inline constexpr size_t kArcFoldColumns = 78;

struct ArcSealingKey {
  std::string domain;                   // d=
  std::string selector;                 // s=
  const DkimPrivateKey* key = nullptr;  // borrowed
};

struct ArcSealOptions {
  int64_t timestamp = 0;  // t=, seconds since the epoch (the caller's clock)
  std::vector<std::string> signed_headers = dkim_default_signed_headers();
  DkimCanon header_canon = DkimCanon::kRelaxed;  // of the AMS; the AS is always relaxed
  DkimCanon body_canon = DkimCanon::kRelaxed;
  bool fold = true;
};

// The values of one ARC set, to be added at the top of the message so that it reads, top
// down: ARC-Seal, ARC-Message-Signature, ARC-Authentication-Results, then the old fields
// (fields() gives them in that order: insert fields()[k] at position k).
struct ArcSetValues {
  uint32_t instance = 0;
  ArcChainStatus chain_status = ArcChainStatus::kNone;
  std::string authentication_results;
  std::string message_signature;
  std::string seal;
  std::vector<DkimHeader> fields() const;
};

class ArcSealer {
 public:
  ArcSealer(ArcSealingKey key, ArcSealOptions options);

  void add_body(std::string_view chunk);
  // headers: the message as it leaves us, without the new set. chain: our verifier's result
  // for these headers. resinfos: our Authentication-Results clauses ("spf=pass smtp.mailfrom=
  // ..."), each on one line. Call once.
  Result<ArcSetValues> finish(const std::vector<DkimHeader>& headers, std::string_view authserv_id,
                              const std::vector<std::string>& resinfos, const ArcResult& chain);

 private:
  ArcSealingKey key_;
  ArcSealOptions options_;
  DkimBodyHash body_hash_;
};

}  // namespace postern
