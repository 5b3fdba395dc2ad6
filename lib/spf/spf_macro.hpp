// SPF macros (RFC 7208 7): the checking and expansion of a macro-string, in a domain-spec of
// an SPF record or in the explanation text an exp= modifier fetches. Letters s l o d i p h v,
// and c r t in explanations only; transformers (a count of right-hand parts, "r" to reverse);
// delimiters . - + , / _ =; an upper-case letter URL-escapes its value; %% %_ %-.
// Used by lib/spf's record parser (syntax) and evaluator (expansion) in postern-authmilter.
// The macro-string is hostile (an SPF record or TXT answer), and so are the values (sender,
// HELO, PTR names): a part count saturates at kMaxSpfMacroParts; a domain expansion keeps only
// its right-hand side and is cut to 253 octets by whole labels (7.3), so its buffer never grows
// past kMaxSpfMacroWorkBytes; an explanation stops at kMaxSpfExplanationBytes and is printable
// ASCII (a value's other octets become '?'), as it may end up in an SMTP reply.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/spf/spf_address.hpp"

namespace postern::spf {

// More parts than a 253-octet name can have: a larger count keeps every part.
inline constexpr size_t kMaxSpfMacroParts = 128;
inline constexpr size_t kMaxSpfExplanationBytes = 1024;
// A domain expansion's buffer: past this, only its right-hand kMaxSpfMacroKeptBytes are kept
// (enough for the 253-octet cut that follows, which drops whole labels from the left).
inline constexpr size_t kMaxSpfMacroWorkBytes = 2048;
inline constexpr size_t kMaxSpfMacroKeptBytes = 512;

enum class SpfMacroUse {
  kDomainSpec,   // a term's target, exp= or redirect=: no c, r, t; no spaces
  kExplanation,  // the TXT text exp= names: c, r, t allowed, spaces allowed
};

// What the letters expand to. Views must outlive the expansion.
struct SpfMacroContext {
  SpfAddress client;                // i, c, v (an IPv4-mapped address is IPv4 already)
  std::string_view sender;          // s: "local@domain"
  std::string_view local_part;      // l
  std::string_view sender_domain;   // o
  std::string_view domain;          // d: the domain being checked now
  std::string_view helo;            // h
  std::string_view receiving_host;  // r ("unknown" when empty)
  int64_t now_seconds = 0;          // t
  // p: the validated name of the client (RFC 7208 5.5), asked only when a p macro is
  // expanded; unset, or "" returned, gives "unknown".
  std::function<std::string()> validated_name;
};

// Checks the syntax of a macro-string (RFC 7208 7.1) for its use; says what is wrong.
Status check_spf_macro_string(std::string_view text, SpfMacroUse use);

// Expands a macro-string. kDomainSpec: the result is cut to 253 octets by 7.3 (a trailing dot
// dropped); kExplanation: the result stops at kMaxSpfExplanationBytes and holds only printable
// ASCII and spaces (other octets of the values become '?'). A syntax error is an
// Error (kParse), so a caller may expand without checking first.
Result<std::string> expand_spf_macro_string(std::string_view text, SpfMacroUse use,
                                            const SpfMacroContext& context);

}  // namespace postern::spf
