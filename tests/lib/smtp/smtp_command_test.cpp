// Tests for lib/smtp/smtp_command.cpp: verbs, MAIL/RCPT paths and ESMTP parameters (limits at N and
// N+1, duplicates, the syntax of each known parameter), BDAT sizes, xtext, and the reply that
// each syntax error maps to.
#include "lib/smtp/smtp_command.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

SmtpCommand ok(std::string_view line, const SmtpParseOptions& options = {}) {
  SmtpParseResult r = parse_smtp_command(line, options);
  EXPECT_TRUE(r.command.has_value())
      << "rejected: " << line << ": " << (r.error ? r.error->text : "");
  EXPECT_FALSE(r.error.has_value());
  return r.command ? *r.command : SmtpCommand{};
}

// "501 5.5.4" for a rejected line, "" if it was accepted.
std::string reply(std::string_view line, const SmtpParseOptions& options = {}) {
  SmtpParseResult r = parse_smtp_command(line, options);
  EXPECT_NE(r.command.has_value(), r.error.has_value());
  if (!r.error) return "";
  return std::to_string(r.error->code) + " " + r.error->enhanced;
}

TEST(SmtpVerbs, CaseInsensitiveWithArgument) {
  SmtpCommand c = ok("eHlO client.example");
  EXPECT_EQ(c.verb, SmtpVerb::kEhlo);
  EXPECT_EQ(c.verb_text, "eHlO");
  EXPECT_EQ(c.argument, "client.example");
  EXPECT_EQ(ok("HELO [192.0.2.1]").verb, SmtpVerb::kHelo);
  EXPECT_EQ(ok("data").verb, SmtpVerb::kData);
  EXPECT_EQ(ok("RSET").verb, SmtpVerb::kRset);
  EXPECT_EQ(ok("QUIT").verb, SmtpVerb::kQuit);
  EXPECT_EQ(ok("StartTLS").verb, SmtpVerb::kStarttls);
  EXPECT_EQ(ok("NOOP").verb, SmtpVerb::kNoop);
  EXPECT_EQ(ok("NOOP anything at all").argument, "anything at all");
  EXPECT_EQ(ok("HELP").verb, SmtpVerb::kHelp);
  EXPECT_EQ(ok("HELP mail").argument, "mail");
  EXPECT_EQ(ok("VRFY postmaster").verb, SmtpVerb::kVrfy);
  EXPECT_EQ(ok("EXPN list").verb, SmtpVerb::kExpn);
  c = ok("AUTH PLAIN AGFsaWNlAHNlY3JldA==");
  EXPECT_EQ(c.verb, SmtpVerb::kAuth);
  EXPECT_EQ(c.argument, "PLAIN AGFsaWNlAHNlY3JldA==");
  EXPECT_EQ(ok("EHLO x  ").argument, "x");  // trailing blanks are not part of the argument
}

TEST(SmtpVerbs, UnknownAndEmpty) {
  EXPECT_EQ(reply("FOO bar"), "500 5.5.2");
  EXPECT_EQ(reply(""), "500 5.5.2");
  EXPECT_EQ(reply(" EHLO x"), "500 5.5.2");
  EXPECT_EQ(reply("EHLOx"), "500 5.5.2");
  EXPECT_EQ(reply("MAILFROM:<a@b>"), "500 5.5.2");
  SmtpParseResult r = parse_smtp_command("GET / HTTP/1.0");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->text, "Error: command not recognized");
}

TEST(SmtpVerbs, ArgumentRules) {
  EXPECT_EQ(reply("HELO"), "501 5.5.4");
  EXPECT_EQ(reply("EHLO"), "501 5.5.4");
  EXPECT_EQ(reply("EHLO   "), "501 5.5.4");
  EXPECT_EQ(reply("DATA x"), "501 5.5.4");
  EXPECT_EQ(reply("RSET x"), "501 5.5.4");
  EXPECT_EQ(reply("QUIT now"), "501 5.5.4");
  EXPECT_EQ(reply("STARTTLS x"), "501 5.5.4");
  EXPECT_EQ(reply("VRFY"), "501 5.5.4");
  EXPECT_EQ(reply("EXPN"), "501 5.5.4");
  EXPECT_EQ(reply("AUTH"), "501 5.5.4");
  EXPECT_EQ(reply("DATA "), "");
}

TEST(SmtpMail, PathForms) {
  SmtpCommand c = ok("MAIL FROM:<Alice@Example.ORG>");
  EXPECT_EQ(c.verb, SmtpVerb::kMail);
  EXPECT_EQ(c.address.local_part, "Alice");
  EXPECT_EQ(c.address.domain, "example.org");
  EXPECT_TRUE(c.params.empty());
  EXPECT_EQ(ok("mail from:<a@b.c>").address.to_string(), "a@b.c");
  EXPECT_EQ(ok("MAIL FROM: <a@b.c>").address.to_string(), "a@b.c");  // one space, as Postfix
  EXPECT_TRUE(ok("MAIL FROM:<>").address.is_null());
  EXPECT_EQ(ok("MAIL FROM:<@relay.example:a@b.c>").address.to_string(), "a@b.c");
  EXPECT_EQ(ok("MAIL FROM:<\"a b\"@c.d> SIZE=1").address.local_part, "a b");
}

TEST(SmtpMail, SyntaxErrors) {
  EXPECT_EQ(reply("MAIL"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL <a@b.c>"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL TO:<a@b.c>"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:"), "501 5.1.7");
  EXPECT_EQ(reply("MAIL FROM:a@b.c"), "501 5.1.7");
  EXPECT_EQ(reply("MAIL FROM:  <a@b.c>"), "501 5.1.7");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c"), "501 5.1.7");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c>x"), "501 5.1.7");
  EXPECT_EQ(reply("MAIL FROM:<a..b@c>"), "501 5.1.7");
  EXPECT_EQ(reply("MAIL FROM:<postmaster>"), "501 5.1.7");
  SmtpParseResult r = parse_smtp_command("MAIL FROM:<bad>");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->text, "Bad sender address syntax");
}

TEST(SmtpRcpt, PathForms) {
  SmtpCommand c =
      ok("RCPT TO:<bob@example.net> NOTIFY=success,failure ORCPT=rfc822;bob+40example.net");
  EXPECT_EQ(c.verb, SmtpVerb::kRcpt);
  EXPECT_EQ(c.address.to_string(), "bob@example.net");
  ASSERT_EQ(c.params.size(), 2u);
  EXPECT_EQ(c.params[0].keyword, "NOTIFY");
  EXPECT_EQ(*c.params[0].value, "SUCCESS,FAILURE");
  EXPECT_EQ(ok("rcpt to: <bob@example.net>").address.domain, "example.net");
  c = ok("RCPT TO:<Postmaster>");
  EXPECT_EQ(c.address.local_part, "postmaster");
  EXPECT_EQ(c.address.domain, "");
  EXPECT_EQ(reply("RCPT TO:<>"), "501 5.1.3");
  EXPECT_EQ(reply("RCPT TO:bob@example.net"), "501 5.1.3");
  EXPECT_EQ(reply("RCPT FROM:<bob@example.net>"), "501 5.5.4");
  SmtpParseResult r = parse_smtp_command("RCPT TO:<bad>");
  ASSERT_TRUE(r.error);
  EXPECT_EQ(r.error->text, "Bad recipient address syntax");
}

TEST(SmtpUtf8, MailNeedsSmtputf8RcptFollowsTheOption) {
  EXPECT_EQ(reply("MAIL FROM:<ü@x.de>"), "501 5.1.7");
  EXPECT_EQ(ok("MAIL FROM:<ü@bücher.de> SMTPUTF8").address.domain, "bücher.de");
  EXPECT_EQ(ok("MAIL FROM:<ü@x.de> smtputf8 BODY=8BITMIME").address.local_part, "ü");
  EXPECT_EQ(reply("MAIL FROM:<\xc0\xaf@x.de> SMTPUTF8"), "501 5.1.7");  // overlong
  EXPECT_EQ(reply("RCPT TO:<ü@x.de>"), "");  // default: the session decides
  SmtpParseOptions ascii;
  ascii.rcpt_utf8_allowed = false;
  EXPECT_EQ(reply("RCPT TO:<ü@x.de>", ascii), "501 5.1.3");
  EXPECT_EQ(reply("RCPT TO:<u@x.de>", ascii), "");
}

TEST(SmtpParams, KeywordsAreUpperCasedAndFound) {
  SmtpCommand c = ok("MAIL FROM:<a@b.c> size=1000 body=8bitmime  XFOO=bar\tXBAR");
  ASSERT_EQ(c.params.size(), 4u);
  EXPECT_EQ(c.params[0].keyword, "SIZE");
  EXPECT_EQ(*c.params[0].value, "1000");
  EXPECT_EQ(*c.params[1].value, "8BITMIME");
  EXPECT_EQ(*c.params[2].value, "bar");  // unknown keywords pass through as sent
  EXPECT_FALSE(c.params[3].value.has_value());
  ASSERT_NE(find_param(c, "xbar"), nullptr);
  EXPECT_EQ(find_param(c, "SIZE")->value, "1000");
  EXPECT_EQ(find_param(c, "RET"), nullptr);
  EXPECT_EQ(c.argument, "FROM:<a@b.c> size=1000 body=8bitmime  XFOO=bar\tXBAR");
}

TEST(SmtpParams, CountAtNAndNPlusOne) {
  std::string line = "MAIL FROM:<a@b.c>";
  for (size_t i = 0; i < kMaxEsmtpParams; ++i) line += " X" + std::to_string(i) + "=1";
  EXPECT_EQ(ok(line).params.size(), kMaxEsmtpParams);
  EXPECT_EQ(reply(line + " XLAST=1"), "501 5.5.4");
}

TEST(SmtpParams, KeywordLengthAtNAndNPlusOne) {
  std::string keyword(kMaxEsmtpKeywordBytes, 'K');
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> " + keyword + "=v"), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> " + keyword + "K=v"), "501 5.5.4");
}

TEST(SmtpParams, ValueLengthAtNAndNPlusOne) {
  std::string value(kMaxEsmtpValueBytes, 'v');
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> XV=" + value), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> XV=" + value + "v"), "501 5.5.4");
}

TEST(SmtpParams, GenericSyntax) {
  for (const char* bad : {"=1", "-X=1", "X_Y=1", "X.Y", "X=", "X=a=b", "SIZE=1 size=2", "XFOO XFOO",
                          "X=\x7f", "X=\xff", "X=\x01"}) {
    EXPECT_EQ(reply(std::string("MAIL FROM:<a@b.c> ") + bad), "501 5.5.4") << bad;
  }
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> X-Y9=ü"), "");  // RFC 6531: UTF-8 in values
  EXPECT_EQ(reply("MAIL FROM:<a@b.c>   "), "");
}

TEST(SmtpParams, Size) {
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE=0"), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE=18446744073709551615"), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE=18446744073709551616"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE=000000000000000000001"), "501 5.5.4");  // 21 digits
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE=00000000000000000001"), "");            // 20 digits
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE=1k"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SIZE=-1"), "501 5.5.4");
}

TEST(SmtpParams, BodyRetSmtputf8) {
  for (const char* body : {"7BIT", "8bitmime", "BINARYMIME"}) {
    EXPECT_EQ(reply(std::string("MAIL FROM:<a@b.c> BODY=") + body), "") << body;
  }
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> BODY=8BIT"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> BODY"), "501 5.5.4");
  EXPECT_EQ(*ok("MAIL FROM:<a@b.c> RET=hdrs").params[0].value, "HDRS");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> RET=FULL"), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> RET=ALL"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> SMTPUTF8=yes"), "501 5.5.4");
}

TEST(SmtpParams, EnvidAndAuth) {
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> ENVID=QQ314159+2Bx"), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> ENVID=a+2"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> ENVID=a+ZZ"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> ENVID=" + std::string(100, 'e')), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> ENVID=" + std::string(101, 'e')), "501 5.5.4");
  // The limit is on the decoded identifier: 100 "+41" are 100 bytes.
  std::string encoded;
  for (int i = 0; i < 100; ++i) encoded += "+41";
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> ENVID=" + encoded), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> AUTH=<>"), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> AUTH=alice+40example.org"), "");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> AUTH=a+4"), "501 5.5.4");
  EXPECT_EQ(reply("MAIL FROM:<a@b.c> AUTH"), "501 5.5.4");
}

TEST(SmtpParams, Notify) {
  for (const char* good : {"NEVER", "never", "SUCCESS", "FAILURE", "DELAY", "SUCCESS,FAILURE,DELAY",
                           "delay,success"}) {
    EXPECT_EQ(reply(std::string("RCPT TO:<a@b.c> NOTIFY=") + good), "") << good;
  }
  for (const char* bad :
       {"NEVER,SUCCESS", "SUCCESS,SUCCESS", "SUCCESS,", ",SUCCESS", "ALWAYS", "SUCCESS,,DELAY"}) {
    EXPECT_EQ(reply(std::string("RCPT TO:<a@b.c> NOTIFY=") + bad), "501 5.5.4") << bad;
  }
  EXPECT_EQ(reply("RCPT TO:<a@b.c> NOTIFY"), "501 5.5.4");
}

TEST(SmtpParams, Orcpt) {
  EXPECT_EQ(reply("RCPT TO:<a@b.c> ORCPT=rfc822;a+40b.c"), "");
  EXPECT_EQ(reply("RCPT TO:<a@b.c> ORCPT=utf-8;ü@b.c"), "");
  for (const char* bad : {"rfc822", ";a@b", "rfc822;", "rfc822;a+4", "rfc 822;a", "rf.c;a"}) {
    EXPECT_EQ(reply(std::string("RCPT TO:<a@b.c> ORCPT=") + bad), "501 5.5.4") << bad;
  }
  EXPECT_EQ(reply("RCPT TO:<a@b.c> ORCPT=rfc822;" + std::string(493, 'x')), "");  // 500 bytes
  EXPECT_EQ(reply("RCPT TO:<a@b.c> ORCPT=rfc822;" + std::string(494, 'x')), "501 5.5.4");
}

TEST(SmtpBdat, SizesAndLast) {
  SmtpCommand c = ok("BDAT 0");
  EXPECT_EQ(c.verb, SmtpVerb::kBdat);
  EXPECT_EQ(c.chunk_bytes, 0u);
  EXPECT_FALSE(c.last_chunk);
  c = ok("bdat 1000 last");
  EXPECT_EQ(c.chunk_bytes, 1000u);
  EXPECT_TRUE(c.last_chunk);
  EXPECT_EQ(ok("BDAT 18446744073709551615 LAST").chunk_bytes, UINT64_MAX);
  EXPECT_EQ(ok("BDAT 00000000000000000042").chunk_bytes, 42u);  // 20 digits
  for (const char* bad :
       {"BDAT", "BDAT x", "BDAT -1", "BDAT 1 FIRST", "BDAT 1 LAST x", "BDAT 18446744073709551616",
        "BDAT 000000000000000000042", "BDAT 1k", "BDAT LAST"}) {
    EXPECT_EQ(reply(bad), "501 5.5.4") << bad;
  }
}

TEST(SmtpXtext, Decode) {
  EXPECT_EQ(*decode_xtext(""), "");
  EXPECT_EQ(*decode_xtext("abc"), "abc");
  EXPECT_EQ(*decode_xtext("a+2Bb+3Dc"), "a+b=c");
  EXPECT_EQ(*decode_xtext("+2b"), "+");  // lower-case hex is accepted when reading
  EXPECT_EQ(*decode_xtext("+00"), std::string(1, '\0'));
  EXPECT_EQ(*decode_xtext("!~"), "!~");
  for (const char* bad : {"+", "+2", "a+", "+G0", "+0G", "a=b", "a b", "\x7f", "\xc3\xa9"}) {
    EXPECT_FALSE(decode_xtext(bad).ok()) << bad;
  }
}

TEST(SmtpBytes, EveryByteInTheSenderLocalPart) {
  const std::string atext =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+-/=?^_`{|}~.";
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    std::string line = std::string("MAIL FROM:<a") + c + "b@x.y>";
    std::string expected = atext.find(c) != std::string::npos ? "" : "501 5.1.7";
    EXPECT_EQ(reply(line), expected) << "byte " << b;
  }
}

TEST(SmtpBytes, EveryPrefixGetsExactlyOneAnswer) {
  std::string full =
      "MAIL FROM:<@r.example:\"a b\"@[IPv6:::1]> SIZE=100 BODY=8BITMIME ENVID=x+2By SMTPUTF8";
  for (size_t n = 0; n <= full.size(); ++n) {
    SmtpParseResult r = parse_smtp_command(full.substr(0, n));
    EXPECT_NE(r.command.has_value(), r.error.has_value()) << n;
  }
  EXPECT_EQ(ok(full).params.size(), 4u);
}

}  // namespace
}  // namespace postern
