// Tests relay/next_hop: every form relayhost and transport_maps write, the limits and the
// credential keys.
#include "relay/next_hop.hpp"

#include <gtest/gtest.h>

namespace postern::relay {
namespace {

TEST(NextHopTest, BracketedHostWithPortSkipsMx) {
  Result<NextHop> hop = parse_next_hop("[SMTP.Example.com]:587");
  ASSERT_TRUE(hop.ok()) << hop.error().message;
  EXPECT_EQ(hop->host, "smtp.example.com");
  EXPECT_EQ(hop->port, 587);
  EXPECT_FALSE(hop->mx_lookup);
  EXPECT_FALSE(hop->ip_literal);
  EXPECT_EQ(hop->text, "[smtp.example.com]:587");
}

TEST(NextHopTest, BracketedHostDefaultsToPort25) {
  Result<NextHop> hop = parse_next_hop("[smtp.example.com]");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(hop->port, 25);
  EXPECT_FALSE(hop->mx_lookup);
}

TEST(NextHopTest, BareDomainIsMxLookup) {
  Result<NextHop> hop = parse_next_hop("example.org");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(hop->host, "example.org");
  EXPECT_EQ(hop->port, 25);
  EXPECT_TRUE(hop->mx_lookup);
  hop = parse_next_hop("example.org:2525");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(hop->port, 2525);
  EXPECT_TRUE(hop->mx_lookup);
  hop = parse_next_hop("example.org.");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(hop->host, "example.org");
}

TEST(NextHopTest, IpLiterals) {
  Result<NextHop> hop = parse_next_hop("[127.0.0.1]:2525");
  ASSERT_TRUE(hop.ok());
  EXPECT_TRUE(hop->ip_literal);
  EXPECT_EQ(hop->host, "127.0.0.1");
  EXPECT_EQ(hop->port, 2525);
  hop = parse_next_hop("[::1]:25");
  ASSERT_TRUE(hop.ok());
  EXPECT_TRUE(hop->ip_literal);
  EXPECT_EQ(hop->host, "::1");
  hop = parse_next_hop("[IPv6:::1]");
  ASSERT_TRUE(hop.ok());
  EXPECT_TRUE(hop->ip_literal);
  EXPECT_EQ(hop->host, "::1");
  // An address outside brackets is not a host name.
  EXPECT_FALSE(parse_next_hop("::1").ok());
}

TEST(NextHopTest, RejectsMalformed) {
  for (const char* bad :
       {"", "[host", "[host]x", "[host]:", "[host]:0", "[host]:65536", "[host]:99999", "host:abc",
        "[]:25", "ho st", "a..b", ".a", "a/b", "host:25:26", "[a b]:25", "host\r\n"}) {
    EXPECT_FALSE(parse_next_hop(bad).ok()) << bad;
  }
  EXPECT_TRUE(parse_next_hop("[host]:65535").ok());
  EXPECT_TRUE(parse_next_hop("[host]:1").ok());
}

TEST(NextHopTest, LengthLimit) {
  std::string name(kMaxNextHopBytes, 'a');
  EXPECT_TRUE(parse_next_hop(name).ok());
  name.push_back('a');
  Result<NextHop> hop = parse_next_hop(name);
  ASSERT_FALSE(hop.ok());
  EXPECT_EQ(hop.error().kind, ErrorKind::kLimit);
}

TEST(NextHopTest, CredentialKeysMostSpecificFirst) {
  Result<NextHop> hop = parse_next_hop("[Smtp.Resend.com]:587");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(
      credential_keys(*hop),
      (std::vector<std::string>{"[smtp.resend.com]:587", "[smtp.resend.com]", "smtp.resend.com"}));
  hop = parse_next_hop("[smtp.resend.com]");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(credential_keys(*hop),
            (std::vector<std::string>{"[smtp.resend.com]", "smtp.resend.com"}));
  hop = parse_next_hop("example.org:2525");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(credential_keys(*hop), (std::vector<std::string>{"example.org:2525", "example.org"}));
  hop = parse_next_hop("example.org");
  ASSERT_TRUE(hop.ok());
  EXPECT_EQ(credential_keys(*hop), (std::vector<std::string>{"example.org"}));
}

}  // namespace
}  // namespace postern::relay
