// Unit tests for lib/spf/spf_address.cpp: strict dotted quads (no leading zeros, no short
// forms, 0-255), IPv6 text forms, IPv4-mapped clients as IPv4, prefix matching at 0 and at the
// full width, and the i, c and reverse-name forms.
#include "lib/spf/spf_address.hpp"

#include <gtest/gtest.h>

namespace postern::spf {
namespace {

TEST(SpfAddress, StrictDottedQuads) {
  for (const char* good : {"0.0.0.0", "192.0.2.1", "255.255.255.255", "10.0.0.10"}) {
    EXPECT_TRUE(parse_spf_ipv4(good).ok()) << good;
  }
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.256", "1.2.3.4 ", "1..2.3",
                          "1.2.3.4/24", "0x1.2.3.4", "1.2.3.1000"}) {
    EXPECT_FALSE(parse_spf_ipv4(bad).ok()) << bad;
  }
}

TEST(SpfAddress, ClientAddressesAndMappedIpv4) {
  Result<SpfAddress> mapped = parse_spf_client_address("::FFFF:1.2.3.4");
  ASSERT_TRUE(mapped.ok());
  EXPECT_TRUE(mapped->ipv4);
  EXPECT_EQ(*mapped, *parse_spf_ipv4("1.2.3.4"));
  Result<SpfAddress> v6 = parse_spf_client_address("CAFE:BABE::1");
  ASSERT_TRUE(v6.ok());
  EXPECT_FALSE(v6->ipv4);
  EXPECT_EQ(spf_address_text(*v6), "cafe:babe::1");
  // Stays IPv6 where a record's ip6: network names it.
  EXPECT_FALSE(parse_spf_ipv6("::ffff:1.2.3.4")->ipv4);
  EXPECT_FALSE(parse_spf_client_address("1.2.3.4.").ok());
  EXPECT_FALSE(parse_spf_client_address(":::").ok());
  EXPECT_FALSE(parse_spf_ipv6(std::string(46, '1')).ok());
}

TEST(SpfAddress, PrefixMatching) {
  SpfAddress client = *parse_spf_ipv4("192.0.2.130");
  EXPECT_TRUE(spf_address_in_network(client, *parse_spf_ipv4("192.0.2.128"), 25));
  EXPECT_FALSE(spf_address_in_network(client, *parse_spf_ipv4("192.0.2.0"), 25));
  EXPECT_TRUE(spf_address_in_network(client, *parse_spf_ipv4("1.1.1.1"), 0));
  EXPECT_TRUE(spf_address_in_network(client, client, 32));
  EXPECT_FALSE(spf_address_in_network(client, client, 33));
  EXPECT_FALSE(spf_address_in_network(client, *parse_spf_ipv6("::"), 0));  // other family
  SpfAddress v6 = *parse_spf_ipv6("cafe:babe:8000::");
  EXPECT_TRUE(spf_address_in_network(v6, *parse_spf_ipv6("cafe:babe:8000::"), 33));
  EXPECT_FALSE(spf_address_in_network(v6, *parse_spf_ipv6("cafe:babe::"), 33));
  EXPECT_TRUE(spf_address_in_network(v6, v6, 128));
  EXPECT_FALSE(spf_address_in_network(v6, v6, 129));
}

TEST(SpfAddress, MacroAndReverseForms) {
  SpfAddress v4 = *parse_spf_ipv4("192.0.2.3");
  EXPECT_EQ(spf_address_dotted(v4), "192.0.2.3");
  EXPECT_EQ(spf_reverse_name(v4), "3.2.0.192.in-addr.arpa");
  SpfAddress v6 = *parse_spf_ipv6("2001:db8::cb01");
  EXPECT_EQ(spf_address_dotted(v6),
            "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.c.b.0.1");
  EXPECT_EQ(spf_reverse_name(v6),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

}  // namespace
}  // namespace postern::spf
