// Tests authmilter/author_domain: the From: domain DKIM signing and DMARC work from. Exactly one
// From: field whose addresses share one domain; the reading is lenient (as OpenDMARC's), so a
// From: a strict parser refuses but a mail reader shows still has its domain checked. The
// OpenDMARC From: extraction vectors (POSTERN_SHARED_TESTDATA/dmarc) run here, since lib/dmarc
// takes the domain already extracted.
#include "authmilter/author_domain.hpp"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <map>

namespace postern::authmilter {
namespace {

std::string domain_of(std::vector<HeaderField> headers, std::string* why_out = nullptr) {
  std::string why;
  std::string domain = author_domain(headers, why);
  if (why_out != nullptr) *why_out = why;
  return domain;
}

TEST(AuthorDomain, OneFromOneDomain) {
  EXPECT_EQ(domain_of({{"Subject", " hi"}, {"From", " Alice <alice@Example.ORG>"}}), "example.org");
  EXPECT_EQ(domain_of({{"from", " alice@mail.example.org"}}), "mail.example.org");
  EXPECT_EQ(domain_of({{"From", " \"A, B\" <a@example.org>\r\n (comment)"}}), "example.org");
  EXPECT_EQ(domain_of({{"From", " a@example.org, b@EXAMPLE.org"}}), "example.org");
}

TEST(AuthorDomain, NoneOrSeveralGiveNothing) {
  std::string why;
  EXPECT_EQ(domain_of({{"Subject", " x"}}, &why), "");
  EXPECT_EQ(why, "no From: field");
  EXPECT_EQ(domain_of({{"From", " a@example.org"}, {"From", " b@example.net"}}, &why), "");
  EXPECT_EQ(why, "more than one From: field");
  EXPECT_EQ(domain_of({{"From", " a@example.org, b@example.net"}}, &why), "");
  EXPECT_EQ(why, "From: names more than one domain");
  EXPECT_EQ(domain_of({{"From", " not an address"}}, &why), "");
  EXPECT_EQ(why, "From: holds no address with a domain");
  EXPECT_EQ(domain_of({{"From", " \"bank@bank.example\" <>"}}, &why), "");  // quoted: no address
}

TEST(AuthorDomain, LenientReadingSeesWhatAReaderWouldShow) {
  // A forger's From: that parse_address_list refuses still has its domain checked.
  EXPECT_EQ(domain_of({{"From", " \"Bank\" ceo@bank.example"}}), "bank.example");
  EXPECT_EQ(domain_of({{"From", " Mail From:<ceo@bank.example>"}}), "bank.example");
  EXPECT_EQ(domain_of({{"From", " <<<><ceo@bank.example>>>"}}), "bank.example");
  EXPECT_EQ(lenient_from_addresses("\"x@quoted.example\" (y@comment.example) z@real.example"),
            std::vector<std::string>{"z@real.example"});
}

TEST(AuthorDomain, AddressCountIsBounded) {
  std::string many;
  for (size_t i = 0; i < kMaxFromAddresses + 5; ++i)
    many += " a" + std::to_string(i) + "@x.example";
  EXPECT_EQ(lenient_from_addresses(many).size(), kMaxFromAddresses);
}

// OpenDMARC's test_finddomain.c vectors. Where our answer differs on purpose, the reason is
// here (and in docs/testing.md).
const std::map<int, std::string> kFromVectorDifferences = {
    {7,
     "two domains in From: (joe.com, ace.com): no author domain, refused with "
     "dmarc_enforcement (RFC 7489 6.6.1); OpenDMARC checks the first only"},
    {8, "as 7"},
};

TEST(AuthorDomain, OpenDmarcFromVectors) {
  const std::filesystem::path file =
      std::filesystem::path(POSTERN_SHARED_TESTDATA) / "dmarc" / "opendmarc-vectors.yml";
  if (!std::filesystem::exists(file)) GTEST_SKIP() << file << " is absent";
  YAML::Node vectors = YAML::LoadFile(file.string())["from_domain"];
  ASSERT_TRUE(vectors && vectors.IsSequence());
  size_t checked = 0;
  for (const YAML::Node& vector : vectors) {
    int n = vector["n"].as<int>();
    std::string raw = vector["raw"].as<std::string>();
    std::string expect = vector["expect"].as<std::string>();
    std::string got = domain_of({{"From", " " + raw}});
    if (kFromVectorDifferences.count(n) != 0) {
      EXPECT_EQ(got, "") << "vector " << n << ": " << kFromVectorDifferences.at(n);
    } else {
      EXPECT_EQ(got, expect) << "vector " << n << ": " << raw;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 13u);
}

}  // namespace
}  // namespace postern::authmilter
