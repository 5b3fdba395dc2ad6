// Tests authmilter/author_domain: the From: domain DKIM signing and DMARC work from. Exactly one
// From: field with exactly one address; anything else has no author domain (RFC 7489 6.6.1).
#include "authmilter/author_domain.hpp"

#include <gtest/gtest.h>

namespace postern::authmilter {
namespace {

std::string domain_of(std::vector<HeaderField> headers, std::string* why_out = nullptr) {
  std::string why;
  std::string domain = author_domain(headers, why);
  if (why_out != nullptr) *why_out = why;
  return domain;
}

TEST(AuthorDomain, OneFromOneAddress) {
  EXPECT_EQ(domain_of({{"Subject", " hi"}, {"From", " Alice <alice@Example.ORG>"}}), "example.org");
  EXPECT_EQ(domain_of({{"from", " alice@mail.example.org"}}), "mail.example.org");
  EXPECT_EQ(domain_of({{"From", " \"A, B\" <a@example.org>\r\n (comment)"}}), "example.org");
}

TEST(AuthorDomain, NoneOrSeveralGiveNothing) {
  std::string why;
  EXPECT_EQ(domain_of({{"Subject", " x"}}, &why), "");
  EXPECT_EQ(why, "no From: field");
  EXPECT_EQ(domain_of({{"From", " a@example.org"}, {"From", " b@example.net"}}, &why), "");
  EXPECT_EQ(why, "more than one From: field");
  EXPECT_EQ(domain_of({{"From", " a@example.org, b@example.net"}}, &why), "");
  EXPECT_EQ(why, "From: does not hold exactly one address");
  EXPECT_EQ(domain_of({{"From", " not an address"}}, &why), "");
  EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace postern::authmilter
