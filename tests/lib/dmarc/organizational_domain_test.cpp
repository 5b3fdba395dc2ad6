// Unit tests for lib/dmarc/organizational_domain.cpp against the real Public Suffix List
// (libpsl with Debian's publicsuffix package): plain, multi-label (co.uk), wildcard and
// exception rules (*.ck, !www.ck), IDN suffixes in ACE form, the implicit "*" rule for names
// under an unlisted TLD (.test), a public suffix itself, normalization, malformed names, and
// OpenDMARC's 3 organizational-domain vectors.
#include "lib/dmarc/organizational_domain.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/lib/dmarc/opendmarc_vectors.hpp"

namespace postern {
namespace {

std::string org(std::string_view domain) {
  Result<std::string> result = organizational_domain(domain);
  return result ? *result : "ERROR: " + result.error().message;
}

TEST(OrganizationalDomain, ListLoads) {
  EXPECT_TRUE(preload_public_suffix_list().ok());
}

TEST(OrganizationalDomain, PlainSuffix) {
  EXPECT_EQ(org("example.com"), "example.com");
  EXPECT_EQ(org("a.b.c.example.com"), "example.com");
}

TEST(OrganizationalDomain, MultiLabelSuffix) {
  EXPECT_EQ(org("example.co.uk"), "example.co.uk");
  EXPECT_EQ(org("mail.example.co.uk"), "example.co.uk");
  EXPECT_EQ(org("co.uk"), "co.uk");  // a public suffix is its own organizational domain
}

TEST(OrganizationalDomain, WildcardAndExceptionRules) {
  // *.ck: every second-level name is a suffix; !www.ck: except www.ck.
  EXPECT_EQ(org("shop.foo.ck"), "shop.foo.ck");
  EXPECT_EQ(org("a.shop.foo.ck"), "shop.foo.ck");
  EXPECT_EQ(org("www.ck"), "www.ck");
  EXPECT_EQ(org("mail.www.ck"), "www.ck");
}

TEST(OrganizationalDomain, ImplicitStarRule) {
  // The list has no "test" entry: only its implicit "*" rule makes .test a suffix.
  EXPECT_EQ(org("good.test"), "good.test");
  EXPECT_EQ(org("a.b.good.test"), "good.test");
  EXPECT_EQ(org("test"), "test");
}

TEST(OrganizationalDomain, IdnSuffixInAceForm) {
  EXPECT_EQ(org("a.b.c.xn--mgba3a4f16a.ir"), "c.xn--mgba3a4f16a.ir");
}

TEST(OrganizationalDomain, NormalizesCaseAndTrailingDot) {
  EXPECT_EQ(org("Mail.Example.CO.UK."), "example.co.uk");
}

TEST(OrganizationalDomain, MalformedNames) {
  for (std::string_view bad :
       {"", ".", "a..b.com", ".example.com", "example.com..", "exa mple.com", "exa\nmple.com"}) {
    EXPECT_FALSE(organizational_domain(bad).ok()) << bad;
  }
  EXPECT_FALSE(organizational_domain(std::string("a\0b.com", 7)).ok());
  std::string label63(63, 'a');
  EXPECT_TRUE(organizational_domain(label63 + ".com").ok());
  EXPECT_FALSE(organizational_domain(label63 + "a.com").ok());
}

TEST(OpenDmarcVectors, OrganizationalDomain) {
  YAML::Node vectors = load_opendmarc_vectors("organizational_domain");
  if (!vectors || vectors.IsNull()) {
    GTEST_SKIP() << "shared test data absent: " << opendmarc_vectors_path();
  }
  size_t checked = 0;
  for (const YAML::Node& vector : vectors) {
    Result<std::string> got = organizational_domain(vector["domain"].as<std::string>());
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, vector["expect"].as<std::string>()) << "n=" << vector["n"].as<int>();
    ++checked;
  }
  EXPECT_EQ(checked, 3u);
}

}  // namespace
}  // namespace postern
