// Next hops as qmgr sends them (lib/queue/ipc.hpp) and as relayhost / transport_maps write them:
// "[host]:port" or "[host]" (that host's own addresses, no MX lookup), "host:port" or "host"
// (MX lookup of host, RFC 5321 5.1). Runs in postern-relay. The text comes from qmgr, which got
// it from the admin's main.cf or transport table or from a recipient domain: checked here
// (length, characters, port range) before anything resolves or connects.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::relay {

inline constexpr size_t kMaxNextHopBytes = 300;
inline constexpr uint16_t kSmtpPort = 25;

struct NextHop {
  std::string host;  // lower-cased, no brackets, no trailing dot
  uint16_t port = kSmtpPort;
  bool mx_lookup = true;    // false: "[host]"
  bool ip_literal = false;  // host is an IPv4 or IPv6 address (only inside brackets)
  std::string text;         // the next hop as given, lower-cased: the destination's key
};

Result<NextHop> parse_next_hop(std::string_view text);

// Keys tried in the credentials table (smtp_sasl_password_maps), first match wins: the next hop
// as written ("[smtp.example.com]:587"), then without its port ("[smtp.example.com]"), then the
// bare host ("smtp.example.com"), all lower-cased. The first one is the documented form.
std::vector<std::string> credential_keys(const NextHop& hop);

}  // namespace postern::relay
