// Unit tests for lib/authres/authres_writer.cpp: the folded header value, "none" when empty,
// quoting of hostile property values, reasons and comments (no line break or quote can escape),
// and that what the writer writes reads back through the parser unchanged.
#include "lib/authres/authres_writer.hpp"

#include <gtest/gtest.h>

#include "lib/authres/authres_parser.hpp"

namespace postern {
namespace {

TEST(AuthResultsBuilder, EmptyIsNone) {
  AuthResultsBuilder builder("mx.example.org");
  EXPECT_EQ(builder.value(), " mx.example.org; none");
}

TEST(AuthResultsBuilder, FoldsOneResinfoPerLine) {
  AuthResultsBuilder builder("mx.example.org");
  builder.add("spf=pass smtp.mailfrom=a@b.example");
  builder.add("dkim=pass header.d=b.example");
  builder.add("dmarc=pass header.from=b.example");
  EXPECT_EQ(builder.value(),
            " mx.example.org;\r\n\tspf=pass smtp.mailfrom=a@b.example;\r\n\tdkim=pass "
            "header.d=b.example;\r\n\tdmarc=pass header.from=b.example");
}

TEST(AuthResultsBuilder, LineBreaksInAResinfoCannotEndTheField) {
  AuthResultsBuilder builder("mx.example.org");
  builder.add("spf=pass\r\nX-Injected: yes");
  EXPECT_EQ(builder.value(), " mx.example.org;\r\n\tspf=pass  X-Injected: yes");
}

TEST(AuthResultsBuilder, AuthservIdThatIsNotATokenIsQuoted) {
  AuthResultsBuilder builder("mx example");
  EXPECT_EQ(builder.value(), " \"mx example\"; none");
}

TEST(AuthresQuote, TokensStayAsTheyAre) {
  EXPECT_EQ(authres_quote_value("example.org"), "example.org");
  EXPECT_EQ(authres_quote_value("key-revoked"), "key-revoked");
  EXPECT_EQ(authres_quote_pvalue("example.org"), "example.org");
}

TEST(AuthresQuote, AddrSpecsOfTokensStayAsTheyAre) {
  EXPECT_EQ(authres_quote_pvalue("user@example.org"), "user@example.org");
  EXPECT_EQ(authres_quote_pvalue("first.last@mail.example.org"), "first.last@mail.example.org");
  EXPECT_EQ(authres_quote_pvalue("@example.org"), "@example.org");
}

TEST(AuthresQuote, EverythingElseIsQuoted) {
  EXPECT_EQ(authres_quote_value("key revoked"), "\"key revoked\"");
  EXPECT_EQ(authres_quote_value(""), "\"\"");
  EXPECT_EQ(authres_quote_value("a=b"), "\"a=b\"");
  EXPECT_EQ(authres_quote_pvalue("a b@example.org"), "\"a b@example.org\"");
  EXPECT_EQ(authres_quote_pvalue("a@b@c"), "\"a@b@c\"");
  EXPECT_EQ(authres_quote_pvalue("a..b@example.org"), "\"a..b@example.org\"");
  EXPECT_EQ(authres_quote_pvalue("user@"), "\"user@\"");
}

TEST(AuthresQuote, QuotesBackslashesAndReplacesControls) {
  EXPECT_EQ(authres_quote_value("say \"hi\" \\o/"), "\"say \\\"hi\\\" \\\\o/\"");
  EXPECT_EQ(authres_quote_value("a\r\nb"), "\"a??b\"");
  EXPECT_EQ(authres_quote_value("a\tb"), "\"a b\"");
  EXPECT_EQ(authres_quote_value("caf\xc3\xa9"), "\"caf??\"");
  EXPECT_EQ(authres_quote_value(std::string("nul\0x", 5)), "\"nul?x\"");
}

TEST(FormatResinfo, AllParts) {
  AuthResultsInfo info;
  info.method = "dkim";
  info.method_version = "1";
  info.result = "fail";
  info.comment = "2048-bit key (really)";
  info.reason = "signature did not verify";
  info.properties = {
      {"header", "d", "example.org"}, {"header", "i", "@example.org"}, {"header", "b", "AbC+/=12"}};
  EXPECT_EQ(format_authres_resinfo(info),
            "dkim/1=fail (2048-bit key \\(really\\)) reason=\"signature did not verify\" "
            "header.d=example.org header.i=@example.org header.b=\"AbC+/=12\"");
}

TEST(FormatResinfo, CommentControlsReplaced) {
  AuthResultsInfo info{"spf", "", "pass", "", "a\r\nb\\", {}};
  EXPECT_EQ(format_authres_resinfo(info), "spf=pass (a??b\\\\)");
}

TEST(AuthResultsBuilder, WhatIsWrittenParsesBack) {
  AuthResultsInfo spf{"spf", "", "pass", "", "", {{"smtp", "mailfrom", "x y\"z@example.org"}}};
  AuthResultsInfo dkim{
      "dkim", "", "fail", "body hash \"did not\" verify", "c", {{"header", "d", "example.org"}}};
  AuthResultsBuilder builder("MX.Example.org");
  builder.add(spf);
  builder.add(dkim);
  Result<AuthResults> parsed = parse_auth_results(builder.value());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->authserv_id, "MX.Example.org");
  ASSERT_EQ(parsed->results.size(), 2u);
  EXPECT_EQ(parsed->results[0].properties[0].value, "x y\"z@example.org");
  EXPECT_EQ(parsed->results[1].reason, "body hash \"did not\" verify");
  EXPECT_EQ(parsed->results[1].properties[0].value, "example.org");
  EXPECT_TRUE(claims_authserv_id(builder.value(), "mx.example.org"));
}

}  // namespace
}  // namespace postern
