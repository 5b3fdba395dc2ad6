// SPF evaluation (RFC 7208): check_host() for the MAIL FROM identity and for the HELO
// identity (2.3), over lib/net's DnsLookup. Used by postern-authmilter once per message (MAIL
// FROM) and per session (HELO); the result feeds Authentication-Results (spf_resinfo.hpp) and
// DMARC. Everything DNS returns is hostile, and so are the sender and HELO the client gave.
// Limits (SpfLimits, RFC 7208 4.6.4): 10 DNS-querying terms (include, a, mx, ptr, exists,
// redirect) over the whole evaluation, 2 void lookups, 10 MX names per mx (more is a
// permerror), 10 PTR names per ptr (the rest ignored), include/redirect nesting depth; records
// are bounded by spf_record.hpp and macro expansions by spf_macro.hpp. An exp= lookup is made
// only for a fail, once, and counts against no limit.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/net/dns_lookup.hpp"
#include "lib/spf/spf_ptr.hpp"

namespace postern::spf {

inline constexpr size_t kMaxSpfDnsTerms = 10;
inline constexpr size_t kMaxSpfVoidLookups = 2;
inline constexpr size_t kMaxSpfMxNames = 10;
// include and redirect each count as a DNS term, so the term limit already bounds nesting;
// this bound holds even if a caller raises that limit.
inline constexpr size_t kMaxSpfRecursionDepth = 10;
// The sender and HELO as the MTA passes them (SMTP bounds a path to 256 octets, a command
// line to 512); longer gives "none" without a lookup.
inline constexpr size_t kMaxSpfIdentityBytes = 1024;
// SpfResult::problem: cut to this and made printable (it names hostile names and may be logged).
inline constexpr size_t kMaxSpfProblemBytes = 512;

struct SpfLimits {
  size_t max_dns_terms = kMaxSpfDnsTerms;
  size_t max_void_lookups = kMaxSpfVoidLookups;
  size_t max_mx_names = kMaxSpfMxNames;
  size_t max_ptr_names = kMaxSpfPtrNames;
  size_t max_recursion_depth = kMaxSpfRecursionDepth;
};

enum class SpfResultCode { kNone, kNeutral, kPass, kFail, kSoftFail, kTempError, kPermError };

// "none", "neutral", "pass", "fail", "softfail", "temperror", "permerror" (RFC 8601 2.7.2).
std::string_view spf_result_name(SpfResultCode code);

enum class SpfIdentity { kMailFrom, kHelo };

struct SpfRequest {
  std::string client_address;  // "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"
  std::string mail_from;       // the MAIL FROM address without <>; "" for the null sender
  std::string helo;            // the HELO/EHLO argument
  std::string receiving_host;  // our host name, the r macro
  int64_t now_seconds = 0;     // the t macro
  // A macro-string (c, r, t allowed) explaining a fail when the record's exp= gives none;
  // "" gives no explanation.
  std::string default_explanation;
};

struct SpfResult {
  SpfResultCode code = SpfResultCode::kNone;
  SpfIdentity identity = SpfIdentity::kMailFrom;  // kHelo also for MAIL FROM:<>
  std::string domain;                             // the domain check_host() started from
  std::string explanation;                        // fail only: exp= text or the default explanation
  std::string problem;    // temperror, permerror (and none without a lookup): why
  std::string mechanism;  // the term that decided, as written ("-all", "include:x.example")
};

// The MAIL FROM identity; with an empty mail_from, the HELO identity as postmaster@helo.
SpfResult check_spf(DnsLookup& dns, const SpfRequest& request, const SpfLimits& limits = {});
// The HELO identity (RFC 7208 2.3): postmaster@helo, domain helo.
SpfResult check_spf_helo(DnsLookup& dns, const SpfRequest& request, const SpfLimits& limits = {});

}  // namespace postern::spf
