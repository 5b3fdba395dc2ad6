// SPF records (RFC 7208 4.5, 4.6, 5, 6, 12): telling a TXT string that is an SPF record from
// one that is not, and parsing a record whole into its mechanisms and modifiers before anything
// is evaluated, so a syntax error anywhere (even after the term that would match) is a
// permerror. Used by lib/spf's evaluator in postern-authmilter.
// A record is hostile DNS text: it is refused past kMaxSpfRecordBytes or kMaxSpfTerms, any
// octet outside printable ASCII and space is an error, CIDR lengths are checked against the
// address width (no leading zeros), ip4/ip6 networks are parsed strictly, every domain-spec is
// checked as a macro-string that ends in a macro or a valid top label, and exp=/redirect= may
// appear once each. Unknown modifiers are checked and then ignored.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/spf/spf_address.hpp"

namespace postern::spf {

// A record as DNS joins it can reach 64 KiB; real ones are a few hundred octets (RFC 7208 3.4
// asks publishers to stay under 450). Beyond this the record is a permerror.
inline constexpr size_t kMaxSpfRecordBytes = 4096;
// Terms after "v=spf1"; the shortest term ("a") and its space take two octets, so a record of
// kMaxSpfRecordBytes could hold about 2,000.
inline constexpr size_t kMaxSpfTerms = 512;
inline constexpr size_t kMaxSpfCidrDigits = 3;

enum class SpfQualifier { kPass, kFail, kSoftFail, kNeutral };

enum class SpfMechanismKind { kAll, kInclude, kA, kMx, kPtr, kIp4, kIp6, kExists };

struct SpfMechanism {
  SpfQualifier qualifier = SpfQualifier::kPass;
  SpfMechanismKind kind = SpfMechanismKind::kAll;
  std::string domain_spec;             // a checked macro-string; "" when the term names no domain
  SpfAddress network;                  // ip4, ip6
  int ip4_prefix_bits = kSpfIpv4Bits;  // ip4, a, mx
  int ip6_prefix_bits = kSpfIpv6Bits;  // ip6, a, mx
  std::string text;                    // the term as written, for the result and logs
};

struct SpfRecord {
  std::vector<SpfMechanism> mechanisms;    // in the record's order
  std::optional<std::string> redirect;     // redirect=, a checked domain-spec
  std::optional<std::string> explanation;  // exp=, a checked domain-spec
};

// True when the TXT string is an SPF version 1 record: "v=spf1" (any case) alone or followed
// by a space (RFC 7208 4.5). Other TXT strings are not SPF's business.
bool is_spf_record(std::string_view text);

// True for the mechanisms that count against the DNS-querying-terms limit (RFC 7208 4.6.4):
// include, a, mx, ptr, exists (and the redirect modifier, which the evaluator counts).
bool spf_mechanism_queries_dns(SpfMechanismKind kind);

// Parses a record that is_spf_record() accepted. Any syntax error or limit is an Error whose
// message says which term; the caller turns it into permerror.
Result<SpfRecord> parse_spf_record(std::string_view text);

}  // namespace postern::spf
