// CIDR network lists (mynetworks) and IP address parsing. Used by smtpd to tell trusted clients
// (which may relay) from the rest. Config text is the admin's (checked entry by entry); socket
// addresses come from the kernel. Bounded by kMaxNetworks entries; all matching is a linear scan
// over a short vector of 16-byte prefixes, no allocation per lookup.
#include "lib/net/network_list.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <charconv>
#include <cstring>

namespace postern {
namespace {

constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
constexpr int kMappedPrefixBits = 96;

bool is_mapped_ipv4(const IpBytes& ip) {
  return std::memcmp(ip.data(), kMappedPrefix, 12) == 0;
}

IpBytes mapped_from_ipv4(const in_addr& v4) {
  IpBytes ip{};
  std::memcpy(ip.data(), kMappedPrefix, 12);
  std::memcpy(ip.data() + 12, &v4, 4);
  return ip;
}

// True when the first prefix_bits bits of a and b agree.
bool prefix_matches(const IpBytes& a, const IpBytes& b, int prefix_bits) {
  int full_bytes = prefix_bits / 8;
  if (std::memcmp(a.data(), b.data(), static_cast<size_t>(full_bytes)) != 0) return false;
  int rest_bits = prefix_bits % 8;
  if (rest_bits == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest_bits));
  return (a[full_bytes] & mask) == (b[full_bytes] & mask);
}

bool host_bits_zero(const IpBytes& ip, int prefix_bits) {
  for (int bit = prefix_bits; bit < 128; ++bit) {
    if (ip[bit / 8] & (0x80 >> (bit % 8))) return false;
  }
  return true;
}

}  // namespace

Result<IpBytes> parse_ip_address(std::string_view text) {
  // inet_pton needs a terminated string; an address is at most 45 characters.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN) {
    return Error::parse("bad IP address \"" + std::string(text) + "\"");
  }
  std::string terminated(text);
  in_addr v4{};
  if (text.find(':') == std::string_view::npos) {
    if (inet_pton(AF_INET, terminated.c_str(), &v4) == 1) return mapped_from_ipv4(v4);
  } else {
    IpBytes ip{};
    if (inet_pton(AF_INET6, terminated.c_str(), ip.data()) == 1) return ip;
  }
  return Error::parse("bad IP address \"" + std::string(text) + "\"");
}

Result<IpBytes> ip_of_sockaddr(const sockaddr* address) {
  if (address == nullptr) return Error::parse("no socket address");
  if (address->sa_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(address);
    return mapped_from_ipv4(v4->sin_addr);
  }
  if (address->sa_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(address);
    IpBytes ip{};
    std::memcpy(ip.data(), &v6->sin6_addr, 16);
    return ip;
  }
  return Error::parse("not an IP socket address");
}

std::string ip_to_string(const IpBytes& ip) {
  char text[INET6_ADDRSTRLEN] = {};
  if (is_mapped_ipv4(ip)) {
    inet_ntop(AF_INET, ip.data() + 12, text, sizeof text);
  } else {
    inet_ntop(AF_INET6, ip.data(), text, sizeof text);
  }
  return text;
}

Result<NetworkList> NetworkList::parse(const std::vector<std::string>& entries) {
  if (entries.size() > kMaxNetworks) {
    return Error::limit("more than " + std::to_string(kMaxNetworks) + " networks");
  }
  NetworkList list;
  list.networks_.reserve(entries.size());
  for (const std::string& entry : entries) {
    std::string_view text = entry;
    auto bad = [&](std::string_view why) {
      return Error::config("mynetworks entry \"" + entry + "\": " + std::string(why));
    };
    std::string_view address_text = text;
    std::string_view prefix_text;
    bool has_prefix = false;
    if (!text.empty() && text.front() == '[') {
      size_t close = text.find(']');
      if (close == std::string_view::npos) return bad("missing ']'");
      address_text = text.substr(1, close - 1);
      std::string_view rest = text.substr(close + 1);
      if (!rest.empty()) {
        if (rest.front() != '/') return bad("text after ']'");
        prefix_text = rest.substr(1);
        has_prefix = true;
      }
      if (address_text.find(':') == std::string_view::npos) {
        return bad("brackets are for IPv6 addresses");
      }
    } else if (size_t slash = text.find('/'); slash != std::string_view::npos) {
      address_text = text.substr(0, slash);
      prefix_text = text.substr(slash + 1);
      has_prefix = true;
    }
    if (address_text.find_first_of("/:") == std::string_view::npos &&
        address_text.find_first_not_of("0123456789.") != std::string_view::npos) {
      return bad("not an IP address or network (tables and host names are not supported)");
    }
    Result<IpBytes> address = parse_ip_address(address_text);
    if (!address) return bad("not an IP address");
    bool is_v4 = address_text.find(':') == std::string_view::npos;
    int max_bits = is_v4 ? 32 : 128;
    int bits = max_bits;
    if (has_prefix) {
      if (prefix_text.empty() || prefix_text.size() > 3) return bad("bad prefix length");
      auto [end, ec] =
          std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), bits);
      if (ec != std::errc() || end != prefix_text.data() + prefix_text.size() || bits < 0 ||
          bits > max_bits) {
        return bad("bad prefix length");
      }
    }
    Network network{*address, is_v4 ? bits + kMappedPrefixBits : bits};
    if (!host_bits_zero(network.address, network.prefix_bits)) {
      return bad("non-null host address bits after the prefix");
    }
    list.networks_.push_back(network);
  }
  return list;
}

bool NetworkList::contains(const IpBytes& ip) const {
  for (const Network& network : networks_) {
    if (prefix_matches(ip, network.address, network.prefix_bits)) return true;
  }
  return false;
}

}  // namespace postern
