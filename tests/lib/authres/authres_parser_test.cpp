// Unit tests for lib/authres/authres_parser.cpp: values as OpenDKIM, rspamd and large receivers
// write them, versions, comments anywhere, folding, ARC's i= prefix, syntax errors, each limit
// at N (accepted) and N+1 (rejected), every prefix of a real value, and claims_authserv_id on
// parsing and broken values.
#include "lib/authres/authres_parser.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

Result<AuthResults> parse(std::string_view value) {
  return parse_auth_results(value);
}

TEST(AuthResultsParser, OpenDkimStyle) {
  Result<AuthResults> parsed = parse(
      " mx.example.org;\r\n\tdkim=fail reason=\"key revoked\" (2048-bit key; unprotected)\r\n"
      "\theader.d=example.com header.i=@example.com header.a=rsa-sha256 header.b=AbC+/x=");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->authserv_id, "mx.example.org");
  EXPECT_EQ(parsed->version, "");
  ASSERT_EQ(parsed->results.size(), 1u);
  const AuthResultsInfo& dkim = parsed->results[0];
  EXPECT_EQ(dkim.method, "dkim");
  EXPECT_EQ(dkim.result, "fail");
  EXPECT_EQ(dkim.reason, "key revoked");
  ASSERT_EQ(dkim.properties.size(), 4u);
  EXPECT_EQ(dkim.properties[0].ptype, "header");
  EXPECT_EQ(dkim.properties[0].property, "d");
  EXPECT_EQ(dkim.properties[0].value, "example.com");
  EXPECT_EQ(dkim.properties[1].value, "@example.com");
  EXPECT_EQ(dkim.properties[3].value, "AbC+/x=");
}

TEST(AuthResultsParser, RspamdStyle) {
  Result<AuthResults> parsed = parse(
      " mx.example.org;\r\n\tdkim=fail (\"body hash did not verify\") header.d=a.example "
      "header.s=sel header.b=Zz9;\r\n\tspf=pass (mx.example.org: domain of a@a.example designates "
      "192.0.2.1 as permitted sender) smtp.mailfrom=a@a.example;\r\n\tdmarc=fail reason=\"No "
      "valid SPF\" header.from=a.example (policy=reject)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->results.size(), 3u);
  EXPECT_EQ(parsed->results[1].method, "spf");
  EXPECT_EQ(parsed->results[1].properties[0].ptype, "smtp");
  EXPECT_EQ(parsed->results[1].properties[0].property, "mailfrom");
  EXPECT_EQ(parsed->results[1].properties[0].value, "a@a.example");
  EXPECT_EQ(parsed->results[2].reason, "No valid SPF");
  EXPECT_EQ(parsed->results[2].properties[0].value, "a.example");
}

TEST(AuthResultsParser, VersionsCaseAndComments) {
  Result<AuthResults> parsed = parse(
      "(leading (nested) comment) \"mx.example.org\" 1 (c); DKIM / 1 (c) = (c) Pass (c) "
      "Header (c) . (c) D (c) = (c) example.org (c); SPF=None");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->authserv_id, "mx.example.org");
  EXPECT_EQ(parsed->version, "1");
  ASSERT_EQ(parsed->results.size(), 2u);
  EXPECT_EQ(parsed->results[0].method, "dkim");
  EXPECT_EQ(parsed->results[0].method_version, "1");
  EXPECT_EQ(parsed->results[0].result, "pass");
  EXPECT_EQ(parsed->results[0].properties[0].ptype, "header");
  EXPECT_EQ(parsed->results[0].properties[0].property, "d");
  EXPECT_EQ(parsed->results[0].properties[0].value, "example.org");
  EXPECT_EQ(parsed->results[1].result, "none");
}

TEST(AuthResultsParser, NoResult) {
  Result<AuthResults> parsed = parse(" mx.example.org; none");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->results.empty());
  parsed = parse("mx.example.org 1;\r\n\tnone\r\n");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->version, "1");
  EXPECT_TRUE(parsed->results.empty());
}

TEST(AuthResultsParser, QuotedPvalueWithDomain) {
  Result<AuthResults> parsed = parse("mx; spf=pass smtp.mailfrom=\"first last\"@example.org");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->results[0].properties[0].value, "first last@example.org");
}

TEST(AuthResultsParser, TrailingSemicolonAccepted) {
  Result<AuthResults> parsed = parse("mx; spf=pass smtp.mailfrom=a@b;");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->results.size(), 1u);
}

TEST(AuthResultsParser, SyntaxErrors) {
  for (std::string_view bad :
       {"", "   ", "mx", "mx spf=pass", "; spf=pass", "mx; spf", "mx; spf=", "mx; =pass",
        "mx; spf=pass header", "mx; spf=pass h.", "mx; spf=pass h.d",
        "mx; spf=pass h.d=x (unterminated", "mx; spf=pass reason=\"unterminated",
        "mx; none; spf=pass", "mx; spf=pass\r\nX-Evil: 1", "mx; spf/x=pass", "mx; spf=pass ) h.d=x",
        "mx;; spf=pass", "mx; spf=pass,"}) {
    EXPECT_FALSE(parse(bad).ok()) << bad;
  }
}

TEST(AuthResultsParser, ArcPrefix) {
  Result<AuthResults> parsed =
      parse_auth_results(" i=2; mx.example.org; spf=pass smtp.mailfrom=a@b.example",
                         AuthResultsKind::kArcAuthenticationResults);
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->arc_instance, 2u);
  EXPECT_EQ(parsed->authserv_id, "mx.example.org");
  EXPECT_EQ(parsed->results.size(), 1u);
  EXPECT_TRUE(
      parse_auth_results("i=50; mx; none", AuthResultsKind::kArcAuthenticationResults).ok());
  for (std::string_view bad : {"mx; none", "i=0; mx; none", "i=51; mx; none", "i=; mx; none",
                               "i=100; mx; none", "i=1 mx; none", "j=1; mx; none"}) {
    EXPECT_FALSE(parse_auth_results(bad, AuthResultsKind::kArcAuthenticationResults).ok()) << bad;
  }
  // An AR value must not start with i=.
  EXPECT_FALSE(parse("i=1; mx; none").ok());
}

TEST(AuthResultsParser, ValueLengthLimit) {
  std::string head = "mx; spf=pass (";
  std::string filler(kMaxAuthResValueBytes - head.size() - 1, 'x');
  std::string at_limit = head + filler + ")";
  ASSERT_EQ(at_limit.size(), kMaxAuthResValueBytes);
  EXPECT_TRUE(parse(at_limit).ok());
  Result<AuthResults> over = parse(head + filler + "x)");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(AuthResultsParser, CommentDepthLimit) {
  auto nested = [](size_t depth) {
    return "mx; spf=pass " + std::string(depth, '(') + std::string(depth, ')');
  };
  EXPECT_TRUE(parse(nested(kMaxAuthResCommentDepth)).ok());
  Result<AuthResults> over = parse(nested(kMaxAuthResCommentDepth + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(AuthResultsParser, ResultCountLimit) {
  auto results = [](size_t count) {
    std::string value = "mx";
    for (size_t i = 0; i < count; ++i) value += "; spf=pass";
    return value;
  };
  Result<AuthResults> at_limit = parse(results(kMaxAuthResInfos));
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->results.size(), kMaxAuthResInfos);
  Result<AuthResults> over = parse(results(kMaxAuthResInfos + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(AuthResultsParser, PropertyCountLimit) {
  auto properties = [](size_t count) {
    std::string value = "mx; dkim=pass";
    for (size_t i = 0; i < count; ++i) value += " header.d=example.org";
    return value;
  };
  EXPECT_TRUE(parse(properties(kMaxAuthResProperties)).ok());
  Result<AuthResults> over = parse(properties(kMaxAuthResProperties + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(AuthResultsParser, ItemLengthLimits) {
  std::string at(kMaxAuthResItemBytes, 'a');
  std::string over(kMaxAuthResItemBytes + 1, 'a');
  // authserv-id (token), keyword, quoted reason, pvalue.
  EXPECT_TRUE(parse(at + "; none").ok());
  EXPECT_EQ(parse(over + "; none").error().kind, ErrorKind::kLimit);
  EXPECT_TRUE(parse("mx; " + at + "=pass").ok());
  EXPECT_EQ(parse("mx; " + over + "=pass").error().kind, ErrorKind::kLimit);
  EXPECT_TRUE(parse("mx; spf=pass reason=\"" + at + "\"").ok());
  EXPECT_EQ(parse("mx; spf=pass reason=\"" + over + "\"").error().kind, ErrorKind::kLimit);
  EXPECT_TRUE(parse("mx; spf=pass h.d=" + at).ok());
  EXPECT_EQ(parse("mx; spf=pass h.d=" + over).error().kind, ErrorKind::kLimit);
}

TEST(AuthResultsParser, EveryPrefixIsSafe) {
  std::string value =
      " mx.example.org 1;\r\n\tdkim=pass (2048-bit key) header.d=example.org "
      "header.b=\"Ab=\";\r\n\tspf=pass smtp.mailfrom=a@example.org";
  ASSERT_TRUE(parse(value).ok());
  size_t parsed_prefixes = 0;
  for (size_t length = 0; length < value.size(); ++length) {
    Result<AuthResults> prefix = parse(value.substr(0, length));
    if (prefix) ++parsed_prefixes;
  }
  // Only prefixes that end after a complete clause parse.
  EXPECT_GT(parsed_prefixes, 0u);
  EXPECT_LT(parsed_prefixes, value.size() / 2);
}

TEST(ClaimsAuthservId, ParsedValues) {
  EXPECT_TRUE(claims_authserv_id(" mx.example.org; spf=pass smtp.mailfrom=a@b", "mx.example.org"));
  EXPECT_TRUE(claims_authserv_id("MX.EXAMPLE.ORG; none", "mx.example.org"));
  EXPECT_TRUE(claims_authserv_id("mx.example.org 1; none", "mx.example.org"));
  EXPECT_TRUE(claims_authserv_id("(forged) \"mx.example.org\" (v) 1; none", "mx.example.org"));
  EXPECT_TRUE(claims_authserv_id("\r\n\tmx.example.org; none", "mx.example.org"));
  EXPECT_FALSE(claims_authserv_id("mx.example.com; none", "mx.example.org"));
  EXPECT_FALSE(claims_authserv_id("mx.example.org.evil; none", "mx.example.org"));
  EXPECT_FALSE(claims_authserv_id("example.org; none", "mx.example.org"));
}

TEST(ClaimsAuthservId, UnparsableValuesJudgedByFirstToken) {
  EXPECT_TRUE(claims_authserv_id("mx.example.org; spf=", "mx.example.org"));
  EXPECT_TRUE(claims_authserv_id("  mx.example.org", "mx.example.org"));
  EXPECT_TRUE(
      claims_authserv_id("(c) Mx.Example.Org 1; dkim=pass (unterminated", "mx.example.org"));
  EXPECT_TRUE(claims_authserv_id("mx.example.org; " + std::string(kMaxAuthResValueBytes, 'x'),
                                 "mx.example.org"));
  EXPECT_FALSE(claims_authserv_id("other.example; spf=", "mx.example.org"));
  EXPECT_FALSE(claims_authserv_id("", "mx.example.org"));
  EXPECT_FALSE(claims_authserv_id("(unterminated mx.example.org", "mx.example.org"));
}

}  // namespace
}  // namespace postern
