// Parses next hops for postern-relay (see next_hop.hpp). Everything is checked; nothing is
// resolved here.
#include "relay/next_hop.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "lib/base/ascii.hpp"

namespace postern::relay {

namespace {

bool is_ipv4(const std::string& text) {
  in_addr address{};
  return inet_pton(AF_INET, text.c_str(), &address) == 1;
}

bool is_ipv6(const std::string& text) {
  in6_addr address{};
  return inet_pton(AF_INET6, text.c_str(), &address) == 1;
}

bool host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

Result<uint16_t> parse_port(std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 5 || ec != std::errc() || end != text.data() + text.size() ||
      value == 0 || value > 65535) {
    return Error::parse("bad port in next hop");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<NextHop> parse_next_hop(std::string_view text) {
  if (text.empty()) return Error::parse("empty next hop");
  if (text.size() > kMaxNextHopBytes) return Error::limit("next hop too long");
  NextHop hop;
  hop.text = ascii_lowercase(text);
  std::string_view rest = hop.text;
  std::string_view host;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos) return Error::parse("next hop: missing ]");
    host = rest.substr(1, close - 1);
    rest = rest.substr(close + 1);
    hop.mx_lookup = false;
    if (host.substr(0, 5) == "ipv6:") host = host.substr(5);  // RFC 5321 address literal form
  } else {
    size_t colon = rest.rfind(':');
    host = rest.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : rest.substr(colon);
  }
  if (!rest.empty()) {
    if (rest.front() != ':') return Error::parse("next hop: junk after the host");
    Result<uint16_t> port = parse_port(rest.substr(1));
    if (!port) return port.error();
    hop.port = *port;
  }
  hop.host = std::string(host);
  if (!hop.host.empty() && hop.host.back() == '.') hop.host.pop_back();
  if (hop.host.empty()) return Error::parse("next hop: empty host");
  if (!hop.mx_lookup && (is_ipv4(hop.host) || is_ipv6(hop.host))) {
    hop.ip_literal = true;
    return hop;
  }
  if (!std::all_of(hop.host.begin(), hop.host.end(), host_name_char) || hop.host.front() == '.' ||
      hop.host.find("..") != std::string::npos) {
    return Error::parse("next hop: not a host name");
  }
  return hop;
}

std::vector<std::string> credential_keys(const NextHop& hop) {
  std::vector<std::string> keys{hop.text};
  const std::string bare = hop.mx_lookup ? hop.host : "[" + hop.host + "]";
  if (bare != hop.text) keys.push_back(bare);
  if (!hop.mx_lookup) keys.push_back(hop.host);
  return keys;
}

}  // namespace postern::relay
