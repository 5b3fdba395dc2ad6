// Domain names as SPF (RFC 7208) checks them before it asks DNS anything: the identity's
// domain (4.3: malformed or single-label gives "none"), the target names that macro expansion
// makes (a name DNS cannot carry is not asked), and the left-side truncation of an expanded
// name to 253 octets (7.3). Used by lib/spf's evaluator and macro expander in
// postern-authmilter. Every name here is hostile (a sender's domain, a HELO argument, the
// expansion of an SPF record's macros); the checks are pure and bounded by the name's length.
#pragma once

#include <string>
#include <string_view>

namespace postern::spf {

inline constexpr size_t kMaxSpfDomainBytes = 253;  // text form, without a trailing dot
inline constexpr size_t kMaxSpfLabelBytes = 63;

// The name without one trailing dot.
std::string_view spf_without_trailing_dot(std::string_view name);

// True when the name (one trailing dot allowed) has labels of 1 to 63 octets, at most 253
// octets in all, and, when require_multi_label, at least two labels. A domain literal such as
// "[192.0.2.1]" is refused. Labels may otherwise hold any octet: DNS carries them, and SPF
// records name hosts such as "foo:bar/baz.example.com".
bool spf_domain_is_valid(std::string_view name, bool require_multi_label);

// RFC 7208 7.3: while the name is longer than 253 octets, drop its leftmost label and the dot
// after it. A trailing dot is dropped first.
std::string spf_truncate_domain(std::string_view name);

// True when name is domain or a subdomain of it (ASCII case-insensitive, trailing dots
// ignored): "mx.example.com" is within "example.com", "badexample.com" is not.
bool spf_domain_within(std::string_view name, std::string_view domain);

}  // namespace postern::spf
