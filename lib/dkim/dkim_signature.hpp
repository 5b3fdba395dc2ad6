// The fields of one DKIM-Signature header field (RFC 6376 3.5), parsed from its value. Run by
// the verifier on every DKIM-Signature of an incoming message (postern-authmilter): the value
// is hostile. Bounded by the tag-list limits (dkim_tag_list.hpp), kMaxDkimSignedHeaders names in
// h=, and the digit counts of l=, t= and x=. A parse error is the signature's permerror; its
// message is ours and safe to show in a reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/dkim/dkim_tag_list.hpp"

namespace postern {

inline constexpr size_t kMaxDkimSignedHeaders = 128;  // names in h=
inline constexpr size_t kMaxDkimLengthDigits = 18;    // l= (RFC allows 76; 10^18 is plenty)
inline constexpr size_t kMaxDkimTimeDigits = 12;      // t= and x= (RFC 6376 3.5)

enum class DkimAlgorithm { kRsaSha256, kEd25519Sha256, kRsaSha1 };
enum class DkimCanon { kSimple, kRelaxed };
enum class DkimHashAlgorithm { kSha256, kSha1 };

std::string_view dkim_algorithm_name(DkimAlgorithm algorithm);  // "rsa-sha256"

struct DkimCanonPair {
  DkimCanon header = DkimCanon::kSimple;
  DkimCanon body = DkimCanon::kSimple;
};
// A c= value, or the same form in main.cf (dkim_canonicalization): "relaxed/simple", or one
// word for the header with simple for the body (RFC 6376 3.5). Case-sensitive, as c= is.
std::optional<DkimCanonPair> parse_dkim_canonicalization(std::string_view text);
DkimHashAlgorithm dkim_algorithm_hash(DkimAlgorithm algorithm);
bool dkim_algorithm_is_rsa(DkimAlgorithm algorithm);

struct DkimSignature {
  DkimAlgorithm algorithm = DkimAlgorithm::kRsaSha256;
  DkimCanon header_canon = DkimCanon::kSimple;
  DkimCanon body_canon = DkimCanon::kSimple;
  std::string domain;                       // d=, lower-cased
  std::string selector;                     // s=, lower-cased
  std::string identity;                     // i= decoded ("@" + d= when absent)
  std::string identity_domain;              // the part of identity after the last '@'
  std::vector<std::string> signed_headers;  // h=, lower-cased, in order
  std::string body_hash;                    // bh= decoded
  std::string signature;                    // b= decoded
  std::string signature_text;               // b= as base64 without whitespace (header.b)
  std::optional<uint64_t> body_length;      // l=
  std::optional<int64_t> timestamp;         // t=
  std::optional<int64_t> expiration;        // x=
  size_t b_raw_begin = 0;                   // the b= value's raw span in the header value
  size_t b_raw_end = 0;
};

// What can be told about a signature even when it does not parse, for the result's header.d and
// header.s: the d= and s= values when they are plain domain text, else empty.
struct DkimSignatureLabels {
  std::string domain;
  std::string selector;
  std::string algorithm;
};

// Parses a DKIM-Signature value (everything after the colon, folding kept). Checks: v=1; the
// required tags a b bh d h s; a and c known; q= includes dns/txt; h= includes From; i= is d= or a
// subdomain of it; l=, t=, x= digits within bounds; x= not before t=; d= and s= domain syntax.
// An rsa-sha1 signature parses (the verifier decides on it, RFC 8301).
Result<DkimSignature> parse_dkim_signature(std::string_view value);

DkimSignatureLabels dkim_signature_labels(std::string_view value);

// RFC 6376 2.11 dkim-quoted-printable ("=40" for '@'); fails on a bad escape.
Result<std::string> dkim_decode_quoted_printable(std::string_view text);

// A domain or selector: dot-separated labels of letters, digits, '-' and '_' (selectors and
// "_domainkey" use '_'), each 1..63 bytes, 253 in all. Case is not changed.
bool dkim_is_domain_text(std::string_view text);

}  // namespace postern
