// The ARC header fields of a message (RFC 8617 4.1): ARC-Seal (AS), ARC-Message-Signature (AMS)
// and ARC-Authentication-Results (AAR), parsed, and gathered into ARC sets by their instance
// i=. Run by the ARC verifier and sealer in postern-authmilter on every incoming message, so
// every value is hostile. Tag lists go through lib/dkim's DkimTagList (its tag count and length
// limits); a message with more than kMaxArcHeaderFields ARC fields, or a value longer than
// kMaxArcHeaderValueBytes, is not gathered (the chain fails); instances are 1..kMaxArcInstances.
//
// Gathering applies the structural checks of RFC 8617 5.1.1 and 5.2 step 3: every instance has
// exactly one AS, one AMS and one AAR; the instances are 1..N without a gap; i= is a number in
// 1..50 in each. Any break is a structural failure (the chain's cv is fail), with a reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_canonicalization.hpp"
#include "lib/dkim/dkim_signature.hpp"

namespace postern {

inline constexpr uint32_t kMaxArcInstances = 50;  // RFC 8617 4.2.1
inline constexpr size_t kMaxArcHeaderFields = 3 * kMaxArcInstances;
inline constexpr size_t kMaxArcHeaderValueBytes = 16384;  // one AS, AMS or AAR value
inline constexpr size_t kMaxArcInstanceDigits = 2;        // "50"

inline constexpr std::string_view kArcSealName = "ARC-Seal";
inline constexpr std::string_view kArcMessageSignatureName = "ARC-Message-Signature";
inline constexpr std::string_view kArcAuthResultsName = "ARC-Authentication-Results";

// The chain validation status (RFC 8617 4.1.3 cv=, and the result of 5.2).
enum class ArcChainStatus { kNone, kPass, kFail };
std::string_view arc_chain_status_name(ArcChainStatus status);  // "none", "pass", "fail"

// An ARC-Seal value (RFC 8617 4.1.3): tags i a b cv d s required, t optional, h= forbidden;
// unknown tags ignored. a= is rsa-sha256 or ed25519-sha256 (RFC 8463's algorithm, which we
// accept and write; rsa-sha1 is refused as RFC 8301 wants).
struct ArcSeal {
  uint32_t instance = 0;
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  ArcChainStatus chain_status = ArcChainStatus::kNone;  // cv=
  std::string domain;                                   // d=, lower-cased
  std::string selector;                                 // s=, lower-cased
  std::string signature;                                // b= decoded
  std::optional<int64_t> timestamp;                     // t=
  size_t b_raw_begin = 0;  // the b= value's raw span in the header value
  size_t b_raw_end = 0;
};

// An ARC-Message-Signature value (RFC 8617 4.1.2): a DKIM-Signature without v=, whose i= is
// the instance. Required i a b bh d h s; optional c (default simple/simple, RFC 6376 3.5), l,
// t, x, q. h= may be empty, an empty name in it ("a::b") is skipped, and it must not name
// ARC-Seal.
struct ArcMessageSignature {
  uint32_t instance = 0;
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  DkimCanon header_canon = DkimCanon::kSimple;
  DkimCanon body_canon = DkimCanon::kSimple;
  std::string domain;
  std::string selector;
  std::vector<std::string> signed_headers;  // h=, lower-cased, in order
  std::string body_hash;                    // bh= decoded
  std::string signature;                    // b= decoded
  std::optional<uint64_t> body_length;      // l=
  std::optional<int64_t> timestamp;         // t=
  size_t b_raw_begin = 0;
  size_t b_raw_end = 0;
};

Result<ArcSeal> parse_arc_seal(std::string_view value);
Result<ArcMessageSignature> parse_arc_message_signature(std::string_view value);

// The instance of an i= value: 1..kMaxArcInstances written as plain digits without a leading 0.
Result<uint32_t> parse_arc_instance(std::string_view text);
// The instance an ARC-Authentication-Results value starts with: CFWS, "i", "=", the number,
// then ';' (RFC 8617 4.1.1). "i=1 example.org" or "example.org; i=1" do not parse.
Result<uint32_t> parse_arc_results_instance(std::string_view value);

// One ARC set: indexes into the header list it was gathered from.
struct ArcSetFields {
  uint32_t instance = 0;
  size_t seal = 0;
  size_t message_signature = 0;
  size_t results = 0;
};

struct ArcSetsGathered {
  std::vector<ArcSetFields> sets;  // sets[k].instance == k + 1; empty: the message has no ARC
  // The highest instance any ARC field names (or could be read from), also when the structure
  // is broken: a sealer adds instance highest_instance + 1.
  uint32_t highest_instance = 0;
  bool failed = false;  // a structural failure: the chain is fail, sets is empty
  std::string reason;   // why, ours and safe to log
};

// Finds the ARC fields of headers and checks the structure.
ArcSetsGathered gather_arc_sets(const std::vector<DkimHeader>& headers);

// The bytes an ARC-Seal signs (RFC 8617 5.1.1): fields holds the ARC sets 1..i in order, each
// as AAR, AMS, AS, the last one ending with the AMS of instance i; each is canonicalized
// relaxed; then the seal's own field with its b= value already emptied by the caller, relaxed,
// without its CRLF.
std::string arc_seal_hash_input(const std::vector<const DkimHeader*>& fields,
                                std::string_view seal_value_without_b);

}  // namespace postern
