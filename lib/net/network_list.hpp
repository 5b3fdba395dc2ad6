// A list of IP networks (CIDR), as in main.cf's mynetworks: "127.0.0.0/8 [::1]/128 192.0.2.7".
// Used by smtpd (and later submission) to decide whether a client may relay. Entries come from
// the admin's config (trusted, but checked: a bad entry is an error naming it); the addresses
// matched against it come from accept(2). IPv4 is stored as IPv4-mapped IPv6 (::ffff:a.b.c.d),
// so an IPv4 client that reaches an IPv6 socket matches an IPv4 entry. Limits: kMaxNetworks.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxNetworks = 10000;

// 16 bytes, network order; IPv4 as ::ffff:a.b.c.d.
using IpBytes = std::array<uint8_t, 16>;

// Parses a literal IPv4 or IPv6 address (no brackets, no prefix).
Result<IpBytes> parse_ip_address(std::string_view text);
// The address of a socket (AF_INET or AF_INET6); an error for other families.
Result<IpBytes> ip_of_sockaddr(const sockaddr* address);
// Text form for logs and headers: "192.0.2.1" for IPv4 (also when IPv4-mapped), "2001:db8::1".
std::string ip_to_string(const IpBytes& ip);

class NetworkList {
 public:
  // Each entry: ADDRESS, ADDRESS/BITS, [IPV6], [IPV6]/BITS. Host bits past the prefix must be
  // zero ("192.0.2.1/24" is refused, as Postfix does, since it is almost always a mistake).
  static Result<NetworkList> parse(const std::vector<std::string>& entries);

  bool contains(const IpBytes& ip) const;
  bool empty() const { return networks_.empty(); }
  size_t size() const { return networks_.size(); }

 private:
  struct Network {
    IpBytes address{};
    int prefix_bits = 128;
  };
  std::vector<Network> networks_;
};

}  // namespace postern
