// SPF's view of IP addresses: strict parsing of record networks and DNS answers, prefix
// matching, and the text forms of the i, c and p macros. Inputs are hostile text (SPF records,
// DNS answers); every parser reads only the bytes it is given, with fixed-size output.
#include "lib/spf/spf_address.hpp"

#include <arpa/inet.h>

#include <cstring>

namespace postern::spf {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr char kHexDigits[] = "0123456789abcdef";
constexpr size_t kMaxIpv6TextBytes = 45;  // INET6_ADDRSTRLEN - 1

}  // namespace

Result<SpfAddress> parse_spf_ipv4(std::string_view text) {
  SpfAddress address;
  address.ipv4 = true;
  size_t position = 0;
  for (int part = 0; part < 4; ++part) {
    if (part > 0) {
      if (position >= text.size() || text[position] != '.') {
        return Error::parse("not a dotted-quad IPv4 address");
      }
      ++position;
    }
    size_t start = position;
    unsigned value = 0;
    while (position < text.size() && text[position] >= '0' && text[position] <= '9' &&
           position - start < 3) {
      value = value * 10 + static_cast<unsigned>(text[position] - '0');
      ++position;
    }
    size_t digits = position - start;
    if (digits == 0 || value > 255 || (digits > 1 && text[start] == '0')) {
      return Error::parse("not a dotted-quad IPv4 address");
    }
    address.bytes[part] = static_cast<uint8_t>(value);
  }
  if (position != text.size()) return Error::parse("not a dotted-quad IPv4 address");
  return address;
}

Result<SpfAddress> parse_spf_ipv6(std::string_view text) {
  if (text.empty() || text.size() > kMaxIpv6TextBytes) return Error::parse("not an IPv6 address");
  std::string terminated(text);
  SpfAddress address;
  address.ipv4 = false;
  if (inet_pton(AF_INET6, terminated.c_str(), address.bytes.data()) != 1) {
    return Error::parse("not an IPv6 address");
  }
  return address;
}

Result<SpfAddress> parse_spf_client_address(std::string_view text) {
  if (text.find(':') == std::string_view::npos) return parse_spf_ipv4(text);
  Result<SpfAddress> address = parse_spf_ipv6(text);
  if (!address) return address;
  if (std::memcmp(address->bytes.data(), kMappedPrefix, sizeof kMappedPrefix) == 0) {
    SpfAddress mapped;
    mapped.ipv4 = true;
    std::memcpy(mapped.bytes.data(), address->bytes.data() + 12, 4);
    return mapped;
  }
  return address;
}

Result<SpfAddress> parse_spf_answer_address(std::string_view text, bool ipv4) {
  return ipv4 ? parse_spf_ipv4(text) : parse_spf_ipv6(text);
}

bool spf_address_in_network(const SpfAddress& address, const SpfAddress& network, int prefix_bits) {
  if (address.ipv4 != network.ipv4) return false;
  int width = address.ipv4 ? kSpfIpv4Bits : kSpfIpv6Bits;
  if (prefix_bits < 0 || prefix_bits > width) return false;
  size_t full_bytes = static_cast<size_t>(prefix_bits / 8);
  if (std::memcmp(address.bytes.data(), network.bytes.data(), full_bytes) != 0) return false;
  int rest_bits = prefix_bits % 8;
  if (rest_bits == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest_bits));
  return (address.bytes[full_bytes] & mask) == (network.bytes[full_bytes] & mask);
}

std::string spf_address_text(const SpfAddress& address) {
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(address.ipv4 ? AF_INET : AF_INET6, address.bytes.data(), text, sizeof text);
  return text;
}

std::string spf_address_dotted(const SpfAddress& address) {
  if (address.ipv4) return spf_address_text(address);
  std::string out;
  out.reserve(63);
  for (uint8_t byte : address.bytes) {
    if (!out.empty()) out += '.';
    out += kHexDigits[byte >> 4];
    out += '.';
    out += kHexDigits[byte & 0x0f];
  }
  return out;
}

std::string spf_reverse_name(const SpfAddress& address) {
  std::string out;
  if (address.ipv4) {
    for (int part = 3; part >= 0; --part) {
      out += std::to_string(address.bytes[part]);
      out += '.';
    }
    return out + "in-addr.arpa";
  }
  for (int index = 15; index >= 0; --index) {
    out += kHexDigits[address.bytes[index] & 0x0f];
    out += '.';
    out += kHexDigits[address.bytes[index] >> 4];
    out += '.';
  }
  return out + "ip6.arpa";
}

}  // namespace postern::spf
