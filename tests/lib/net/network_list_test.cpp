// Unit tests for lib/net/network_list.cpp: CIDR parsing (IPv4, IPv6, brackets), prefix boundaries,
// host-bit checks, IPv4-mapped matching and the entry-count limit.
#include "lib/net/network_list.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include <string>
#include <vector>

namespace postern {
namespace {

IpBytes ip(const char* text) {
  Result<IpBytes> parsed = parse_ip_address(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : IpBytes{};
}

NetworkList networks(std::vector<std::string> entries) {
  Result<NetworkList> list = NetworkList::parse(entries);
  EXPECT_TRUE(list.ok()) << (list.ok() ? "" : list.error().describe());
  return list.ok() ? std::move(*list) : NetworkList{};
}

TEST(NetworkListTest, EmptyListMatchesNothing) {
  NetworkList list = networks({});
  EXPECT_TRUE(list.empty());
  EXPECT_FALSE(list.contains(ip("127.0.0.1")));
  EXPECT_FALSE(list.contains(ip("::1")));
}

TEST(NetworkListTest, Ipv4PrefixBoundaries) {
  NetworkList list = networks({"192.0.2.0/24"});
  EXPECT_TRUE(list.contains(ip("192.0.2.0")));
  EXPECT_TRUE(list.contains(ip("192.0.2.255")));
  EXPECT_FALSE(list.contains(ip("192.0.3.0")));
  EXPECT_FALSE(list.contains(ip("192.0.1.255")));
}

TEST(NetworkListTest, Ipv4OddPrefix) {
  NetworkList list = networks({"10.0.0.0/9"});
  EXPECT_TRUE(list.contains(ip("10.127.255.255")));
  EXPECT_FALSE(list.contains(ip("10.128.0.0")));
}

TEST(NetworkListTest, SingleHostWithoutPrefix) {
  NetworkList list = networks({"127.0.0.1"});
  EXPECT_TRUE(list.contains(ip("127.0.0.1")));
  EXPECT_FALSE(list.contains(ip("127.0.0.2")));
  EXPECT_FALSE(list.contains(ip("::1")));
}

TEST(NetworkListTest, ZeroPrefixMatchesItsFamilyOnly) {
  NetworkList v4 = networks({"0.0.0.0/0"});
  EXPECT_TRUE(v4.contains(ip("203.0.113.9")));
  EXPECT_FALSE(v4.contains(ip("2001:db8::1")));
  NetworkList v6 = networks({"[::]/0"});
  EXPECT_TRUE(v6.contains(ip("2001:db8::1")));
  EXPECT_TRUE(v6.contains(ip("203.0.113.9")));  // mapped IPv4 is within ::/0
}

TEST(NetworkListTest, Ipv6WithAndWithoutBrackets) {
  NetworkList list = networks({"[::1]/128", "2001:db8::/32", "[fe80::1]"});
  EXPECT_TRUE(list.contains(ip("::1")));
  EXPECT_TRUE(list.contains(ip("2001:db8:ffff::7")));
  EXPECT_FALSE(list.contains(ip("2001:db9::")));
  EXPECT_TRUE(list.contains(ip("fe80::1")));
  EXPECT_FALSE(list.contains(ip("fe80::2")));
}

TEST(NetworkListTest, MappedIpv6EntryMatchesIpv4Client) {
  NetworkList list = networks({"[::ffff:127.0.0.0]/104"});
  EXPECT_TRUE(list.contains(ip("127.9.9.9")));
  EXPECT_FALSE(list.contains(ip("128.0.0.1")));
}

TEST(NetworkListTest, PrefixLengthLimits) {
  EXPECT_TRUE(NetworkList::parse({"192.0.2.1/32"}).ok());
  EXPECT_FALSE(NetworkList::parse({"192.0.2.1/33"}).ok());
  EXPECT_TRUE(NetworkList::parse({"[::1]/128"}).ok());
  EXPECT_FALSE(NetworkList::parse({"[::1]/129"}).ok());
  EXPECT_FALSE(NetworkList::parse({"192.0.2.0/"}).ok());
  EXPECT_FALSE(NetworkList::parse({"192.0.2.0/-1"}).ok());
  EXPECT_FALSE(NetworkList::parse({"192.0.2.0/2x"}).ok());
}

TEST(NetworkListTest, HostBitsMustBeZero) {
  EXPECT_TRUE(NetworkList::parse({"192.0.2.0/24"}).ok());
  EXPECT_FALSE(NetworkList::parse({"192.0.2.1/24"}).ok());
  EXPECT_FALSE(NetworkList::parse({"2001:db8::1/32"}).ok());
}

TEST(NetworkListTest, RejectsGarbage) {
  EXPECT_FALSE(NetworkList::parse({"localhost"}).ok());
  EXPECT_FALSE(NetworkList::parse({"hash:/etc/postern/networks"}).ok());
  EXPECT_FALSE(NetworkList::parse({"[127.0.0.1]"}).ok());
  EXPECT_FALSE(NetworkList::parse({"[::1"}).ok());
  EXPECT_FALSE(NetworkList::parse({"[::1]x"}).ok());
  EXPECT_FALSE(NetworkList::parse({"300.0.0.1"}).ok());
  EXPECT_FALSE(NetworkList::parse({""}).ok());
}

TEST(NetworkListTest, EntryCountLimit) {
  std::vector<std::string> entries(kMaxNetworks, "192.0.2.0/24");
  EXPECT_TRUE(NetworkList::parse(entries).ok());
  entries.push_back("192.0.2.0/24");
  EXPECT_FALSE(NetworkList::parse(entries).ok());
}

TEST(NetworkListTest, SockaddrConversion) {
  sockaddr_in v4{};
  v4.sin_family = AF_INET;
  inet_pton(AF_INET, "198.51.100.4", &v4.sin_addr);
  Result<IpBytes> from_v4 = ip_of_sockaddr(reinterpret_cast<sockaddr*>(&v4));
  ASSERT_TRUE(from_v4.ok());
  EXPECT_EQ(ip_to_string(*from_v4), "198.51.100.4");

  sockaddr_in6 v6{};
  v6.sin6_family = AF_INET6;
  inet_pton(AF_INET6, "::ffff:198.51.100.4", &v6.sin6_addr);
  Result<IpBytes> from_mapped = ip_of_sockaddr(reinterpret_cast<sockaddr*>(&v6));
  ASSERT_TRUE(from_mapped.ok());
  EXPECT_EQ(*from_mapped, *from_v4);

  inet_pton(AF_INET6, "2001:db8::5", &v6.sin6_addr);
  Result<IpBytes> from_v6 = ip_of_sockaddr(reinterpret_cast<sockaddr*>(&v6));
  ASSERT_TRUE(from_v6.ok());
  EXPECT_EQ(ip_to_string(*from_v6), "2001:db8::5");

  sockaddr unix_address{};
  unix_address.sa_family = AF_UNIX;
  EXPECT_FALSE(ip_of_sockaddr(&unix_address).ok());
}

}  // namespace
}  // namespace postern
