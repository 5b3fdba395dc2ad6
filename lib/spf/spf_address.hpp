// IP addresses as SPF (RFC 7208) sees them: the SMTP client's address, the networks of ip4:/ip6:
// terms and the A/AAAA answers a/mx/ptr compare against, the reverse name the ptr mechanism and
// the p macro look up, and the i/c macro forms. Used by lib/spf's evaluator and macro expander in
// postern-authmilter. The client address comes from the MTA (trusted to be an address, checked
// anyway); networks come from hostile SPF records and answers from hostile DNS, so every text
// form is parsed strictly (dotted quads without leading zeros, inet_pton for IPv6). An
// IPv4-mapped IPv6 client address (::ffff:a.b.c.d) is an IPv4 address here (RFC 7208 5).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern::spf {

inline constexpr int kSpfIpv4Bits = 32;
inline constexpr int kSpfIpv6Bits = 128;

struct SpfAddress {
  bool ipv4 = true;
  // Network order; an IPv4 address uses the first 4 bytes, the rest stay zero.
  std::array<uint8_t, 16> bytes{};

  bool operator==(const SpfAddress&) const = default;
};

// A dotted quad as RFC 7208's ip4-network writes it: four decimal numbers 0-255, no leading
// zeros, nothing else.
Result<SpfAddress> parse_spf_ipv4(std::string_view text);
// An IPv6 address in any RFC 4291 text form (inet_pton); stays IPv6 even when IPv4-mapped.
Result<SpfAddress> parse_spf_ipv6(std::string_view text);
// The client's address: IPv4, or IPv6 where an IPv4-mapped address becomes IPv4.
Result<SpfAddress> parse_spf_client_address(std::string_view text);
// An address from a DNS A or AAAA answer (text form, as lib/net's DnsAnswer carries it).
Result<SpfAddress> parse_spf_answer_address(std::string_view text, bool ipv4);

// True when both have the same family and agree on the first prefix_bits bits.
bool spf_address_in_network(const SpfAddress& address, const SpfAddress& network, int prefix_bits);

// "192.0.2.1", or RFC 5952's "2001:db8::1": the c macro and log text.
std::string spf_address_text(const SpfAddress& address);
// The i macro: the dotted quad, or the 32 lower-case nibbles of an IPv6 address joined by dots.
std::string spf_address_dotted(const SpfAddress& address);
// The name a PTR question asks: "4.3.2.1.in-addr.arpa", "1.0.[...].8.b.d.0.1.0.0.2.ip6.arpa".
std::string spf_reverse_name(const SpfAddress& address);

}  // namespace postern::spf
