// Unit tests for lib/spf/spf_domain.cpp: labels at 63 and 64 octets, names at 253 and 254,
// multi-label identities, domain literals, the RFC 7208 7.3 cut, and subdomain matching.
#include "lib/spf/spf_domain.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::spf {
namespace {

TEST(SpfDomain, LabelAndNameLimits) {
  std::string label63(kMaxSpfLabelBytes, 'a');
  EXPECT_TRUE(spf_domain_is_valid(label63 + ".example.com", true));
  EXPECT_FALSE(spf_domain_is_valid(label63 + "a.example.com", true));
  std::string name253 = std::string(61, 'b') + "." + label63 + "." + label63 + "." + label63;
  ASSERT_EQ(name253.size(), kMaxSpfDomainBytes);
  EXPECT_TRUE(spf_domain_is_valid(name253, true));
  EXPECT_TRUE(spf_domain_is_valid(name253 + ".", true));
  EXPECT_FALSE(spf_domain_is_valid("b" + name253, true));
}

TEST(SpfDomain, ShapesRefused) {
  EXPECT_FALSE(spf_domain_is_valid("", false));
  EXPECT_FALSE(spf_domain_is_valid(".", false));
  EXPECT_FALSE(spf_domain_is_valid("a..example.com", false));
  EXPECT_FALSE(spf_domain_is_valid(".example.com", false));
  EXPECT_FALSE(spf_domain_is_valid("[192.0.2.1]", false));
  EXPECT_FALSE(spf_domain_is_valid("localhost", true));
  EXPECT_TRUE(spf_domain_is_valid("localhost", false));
  EXPECT_TRUE(spf_domain_is_valid("foo:bar/baz.example.com", true));
}

TEST(SpfDomain, TruncationDropsWholeLabels) {
  std::string label63(kMaxSpfLabelBytes, 'a');
  std::string four = label63 + "." + label63 + "." + label63 + "." + label63;  // 255
  EXPECT_EQ(spf_truncate_domain(four), label63 + "." + label63 + "." + label63);
  EXPECT_EQ(spf_truncate_domain("example.com."), "example.com");
  EXPECT_EQ(spf_truncate_domain(std::string(300, 'x')), "");
}

TEST(SpfDomain, Within) {
  EXPECT_TRUE(spf_domain_within("mx.Example.com", "example.COM"));
  EXPECT_TRUE(spf_domain_within("example.com.", "example.com"));
  EXPECT_FALSE(spf_domain_within("badexample.com", "example.com"));
  EXPECT_FALSE(spf_domain_within("com", "example.com"));
  EXPECT_FALSE(spf_domain_within("example.com", ""));
}

}  // namespace
}  // namespace postern::spf
