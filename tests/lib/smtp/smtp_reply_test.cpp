// Unit tests for lib/smtp/smtp_reply.cpp: single and multi-line replies, enhanced status codes,
// each limit at N (accepted) and N+1 (rejected), garbage rejected, every input fed whole, one
// byte at a time and in random pieces, pipelined replies taken out one by one, and the EHLO
// capability reader.
#include "lib/smtp/smtp_reply.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace postern {
namespace {

struct Parsed {
  std::vector<SmtpReply> replies;
  bool failed = false;
  std::string error;
  size_t consumed = 0;
};

// Feeds input in pieces of at most piece bytes (0: whole; SIZE_MAX: random 1..7), taking every
// reply out, until the input is used up or the parser fails.
Parsed parse_all(std::string_view input, size_t piece, SmtpReplyLimits limits = {}) {
  SmtpReplyParser parser(limits);
  Parsed out;
  std::mt19937 rng(42);
  size_t pos = 0;
  size_t rounds = 0;
  while (pos < input.size() && rounds++ < 10 * input.size() + 10) {
    size_t n = input.size() - pos;
    if (piece == SIZE_MAX) {
      n = std::min(n, static_cast<size_t>(rng() % 7 + 1));
    } else if (piece != 0) {
      n = std::min(piece, n);
    }
    ReplyFeedResult r = parser.feed(input.substr(pos, n));
    pos += r.consumed;
    out.consumed += r.consumed;
    if (r.event == ReplyEvent::kReply) out.replies.push_back(parser.take_reply());
    if (r.event == ReplyEvent::kError) {
      out.failed = true;
      out.error = parser.error().message;
      break;
    }
  }
  return out;
}

// Runs the same input whole, byte by byte and in random pieces; all must agree.
Parsed parse_every_way(std::string_view input, SmtpReplyLimits limits = {}) {
  Parsed whole = parse_all(input, 0, limits);
  for (size_t piece : {size_t{1}, SIZE_MAX}) {
    Parsed other = parse_all(input, piece, limits);
    EXPECT_EQ(other.failed, whole.failed) << "piece " << piece;
    EXPECT_EQ(other.replies.size(), whole.replies.size()) << "piece " << piece;
    for (size_t i = 0; i < std::min(other.replies.size(), whole.replies.size()); ++i) {
      EXPECT_EQ(other.replies[i].code, whole.replies[i].code);
      EXPECT_EQ(other.replies[i].enhanced, whole.replies[i].enhanced);
      EXPECT_EQ(other.replies[i].lines, whole.replies[i].lines);
      EXPECT_EQ(other.replies[i].bare_lf, whole.replies[i].bare_lf);
    }
  }
  return whole;
}

TEST(SmtpReply, SingleLine) {
  Parsed p = parse_every_way("220 mx.example.com ESMTP ready\r\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_EQ(p.replies[0].code, 220);
  EXPECT_EQ(p.replies[0].enhanced, "");
  EXPECT_EQ(p.replies[0].lines, std::vector<std::string>{"mx.example.com ESMTP ready"});
  EXPECT_FALSE(p.replies[0].bare_lf);
  EXPECT_TRUE(p.replies[0].positive());
}

TEST(SmtpReply, CodeWithoutText) {
  for (std::string_view input : {"250\r\n", "250 \r\n"}) {
    Parsed p = parse_every_way(input);
    ASSERT_FALSE(p.failed) << input;
    ASSERT_EQ(p.replies.size(), 1u);
    EXPECT_EQ(p.replies[0].code, 250);
    EXPECT_EQ(p.replies[0].lines, std::vector<std::string>{""});
    EXPECT_EQ(p.replies[0].to_string(), "250");
  }
}

TEST(SmtpReply, MultiLineWithEnhancedCode) {
  Parsed p = parse_every_way(
      "550-5.1.1 The email account that you tried to reach does not exist.\r\n"
      "550-5.1.1 Please try double-checking.\r\n"
      "550 5.1.1 https://support.example/answer\r\n");
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.replies.size(), 1u);
  const SmtpReply& r = p.replies[0];
  EXPECT_EQ(r.code, 550);
  EXPECT_EQ(r.enhanced, "5.1.1");
  ASSERT_EQ(r.lines.size(), 3u);
  EXPECT_EQ(r.lines[1], "Please try double-checking.");
  EXPECT_TRUE(r.permanent());
  EXPECT_EQ(r.to_string(),
            "550 5.1.1 The email account that you tried to reach does not exist. Please try "
            "double-checking. https://support.example/answer");
}

TEST(SmtpReply, EnhancedCodeMustMatchClassAndShape) {
  auto enhanced = [](std::string_view input) {
    Result<SmtpReply> r = parse_smtp_reply(input);
    EXPECT_TRUE(r.ok()) << input;
    return r.ok() ? r->enhanced : std::string("?");
  };
  EXPECT_EQ(enhanced("451 4.7.1 try later\r\n"), "4.7.1");
  EXPECT_EQ(enhanced("250 2.0.0\r\n"), "2.0.0");
  EXPECT_EQ(enhanced("250 2.123.456 ok\r\n"), "2.123.456");
  EXPECT_EQ(enhanced("250 5.0.0 class differs\r\n"), "");
  EXPECT_EQ(enhanced("250 2.1234.0 too long\r\n"), "");
  EXPECT_EQ(enhanced("250 2.0.0x glued\r\n"), "");
  EXPECT_EQ(enhanced("250 2.0 short\r\n"), "");
  EXPECT_EQ(enhanced("354 3.0.0 no class 3\r\n"), "");
}

TEST(SmtpReply, BareLfAcceptedAndNoted) {
  Parsed p = parse_every_way("250-first\n250 last\r\n");
  ASSERT_FALSE(p.failed);
  ASSERT_EQ(p.replies.size(), 1u);
  EXPECT_TRUE(p.replies[0].bare_lf);
  EXPECT_EQ(p.replies[0].lines, (std::vector<std::string>{"first", "last"}));
}

TEST(SmtpReply, PipelinedRepliesComeOutOneByOne) {
  std::string input =
      "250 2.1.0 Ok\r\n"
      "250 2.1.5 Ok\r\n"
      "550-5.1.1 no\r\n550 5.1.1 such user\r\n"
      "354 End data with <CR><LF>.<CR><LF>\r\n";
  Parsed p = parse_every_way(input);
  ASSERT_FALSE(p.failed) << p.error;
  ASSERT_EQ(p.replies.size(), 4u);
  EXPECT_EQ(p.replies[0].enhanced, "2.1.0");
  EXPECT_EQ(p.replies[1].enhanced, "2.1.5");
  EXPECT_EQ(p.replies[2].code, 550);
  EXPECT_EQ(p.replies[2].lines, (std::vector<std::string>{"no", "such user"}));
  EXPECT_EQ(p.replies[3].code, 354);
  EXPECT_EQ(p.consumed, input.size());

  // Fed at once, the parser stops right after the first reply.
  SmtpReplyParser parser;
  ReplyFeedResult r = parser.feed(input);
  EXPECT_EQ(r.event, ReplyEvent::kReply);
  EXPECT_EQ(r.consumed, 14u);
  // Until the reply is taken, more bytes are not consumed.
  EXPECT_EQ(parser.feed(std::string_view(input).substr(14)).consumed, 0u);
  EXPECT_EQ(parser.take_reply().code, 250);
  EXPECT_FALSE(parser.in_reply());
}

TEST(SmtpReply, IncompleteReplyNeedsMore) {
  SmtpReplyParser parser;
  ReplyFeedResult r = parser.feed("250-a\r\n250 b");
  EXPECT_EQ(r.event, ReplyEvent::kNeedMore);
  EXPECT_EQ(r.consumed, 12u);
  EXPECT_TRUE(parser.in_reply());
  r = parser.feed("\r\n");
  EXPECT_EQ(r.event, ReplyEvent::kReply);
  EXPECT_EQ(parser.take_reply().lines, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(parse_smtp_reply("250 ok").ok());
  EXPECT_FALSE(parse_smtp_reply("250 ok\r\n250 again\r\n").ok());
}

TEST(SmtpReply, GarbageRejected) {
  for (std::string_view input :
       {"hello\r\n", "25\r\n", "2x0 no\r\n", "150 too low\r\n", "650 too high\r\n", "099 no\r\n",
        "250_underscore\r\n", "250ok\r\n", "\r\n", "250-a\r\n251 b\r\n", "250-a\r\n550 b\r\n",
        " 250 leading space\r\n", "-250 x\r\n"}) {
    Parsed p = parse_every_way(input);
    EXPECT_TRUE(p.failed) << input;
    EXPECT_TRUE(p.replies.empty()) << input;
  }
  // A failed parser stays failed until reset.
  SmtpReplyParser parser;
  EXPECT_EQ(parser.feed("xyz\r\n").event, ReplyEvent::kError);
  EXPECT_EQ(parser.feed("250 ok\r\n").event, ReplyEvent::kError);
  parser.reset();
  EXPECT_EQ(parser.feed("250 ok\r\n").event, ReplyEvent::kReply);
}

TEST(SmtpReply, LineLengthLimitDefault) {
  SmtpReplyLimits limits;
  ASSERT_EQ(limits.max_line_bytes, 2048u);
  std::string at = "250 " + std::string(2048 - 4, 'a');
  Parsed ok = parse_every_way(at + "\r\n");
  ASSERT_FALSE(ok.failed) << ok.error;
  EXPECT_EQ(ok.replies[0].lines[0].size(), 2044u);
  EXPECT_FALSE(parse_every_way(at + "\n").failed);
  Parsed over = parse_every_way(at + "a\r\n");
  EXPECT_TRUE(over.failed);
  EXPECT_EQ(parse_all(at + "a\r\n", 0).error, "reply line longer than 2048 bytes");
  EXPECT_TRUE(parse_every_way(at + "a\n").failed);
  // Detected before the line end arrives: an endless line cannot grow the buffer.
  SmtpReplyParser parser;
  EXPECT_EQ(parser.feed(at).event, ReplyEvent::kNeedMore);
  EXPECT_EQ(parser.feed("\r").event, ReplyEvent::kNeedMore);  // may be the CR of CRLF
  SmtpReplyParser parser2;
  EXPECT_EQ(parser2.feed(at).event, ReplyEvent::kNeedMore);
  EXPECT_EQ(parser2.feed("a").event, ReplyEvent::kError);
  SmtpReplyParser parser3;
  EXPECT_EQ(parser3.feed(at + "\r").event, ReplyEvent::kNeedMore);
  EXPECT_EQ(parser3.feed("x").event, ReplyEvent::kError);
}

std::string lines_reply(size_t count) {
  std::string out;
  for (size_t i = 1; i < count; ++i) out += "250-x\r\n";
  return out + "250 x\r\n";
}

TEST(SmtpReply, LineCountLimitDefault) {
  ASSERT_EQ(SmtpReplyLimits().max_lines, 1000u);
  Parsed ok = parse_every_way(lines_reply(1000));
  ASSERT_FALSE(ok.failed) << ok.error;
  EXPECT_EQ(ok.replies[0].lines.size(), 1000u);
  Parsed over = parse_every_way(lines_reply(1001));
  EXPECT_TRUE(over.failed);
  EXPECT_EQ(over.error, "reply has more than 1000 lines");
  // The limit is per reply: two replies of 1000 lines each pass.
  EXPECT_EQ(parse_every_way(lines_reply(1000) + lines_reply(1000)).replies.size(), 2u);
}

// A reply of exactly total wire bytes: lines of 1000 bytes (+CRLF) and one last line.
std::string sized_reply(size_t total) {
  std::string out;
  while (total - out.size() > 1002 + 1002) out += "250-" + std::string(996, 'b') + "\r\n";
  size_t rest = total - out.size();  // between 1003 and 2004: one or two more lines
  if (rest > 1002 + 6) {
    out += "250-" + std::string(996, 'b') + "\r\n";
    rest = total - out.size();
  }
  return out + "250 " + std::string(rest - 6, 'c') + "\r\n";
}

TEST(SmtpReply, ReplySizeLimitDefault) {
  ASSERT_EQ(SmtpReplyLimits().max_reply_bytes, 65536u);
  std::string at = sized_reply(65536);
  ASSERT_EQ(at.size(), 65536u);
  Parsed ok = parse_every_way(at);
  ASSERT_FALSE(ok.failed) << ok.error;
  EXPECT_EQ(ok.replies.size(), 1u);
  std::string over = sized_reply(65537);
  ASSERT_EQ(over.size(), 65537u);
  Parsed p = parse_every_way(over);
  EXPECT_TRUE(p.failed);
  EXPECT_EQ(p.error, "reply longer than 65536 bytes");
  // Pipelined replies each get their own budget.
  EXPECT_EQ(parse_every_way(at + at).replies.size(), 2u);
}

TEST(SmtpReply, SmallConfiguredLimits) {
  SmtpReplyLimits limits{10, 3, 30};
  EXPECT_FALSE(parse_every_way("250 123456\r\n", limits).failed);  // 10-byte line
  EXPECT_TRUE(parse_every_way("250 1234567\r\n", limits).failed);  // 11
  EXPECT_FALSE(parse_every_way("250-a\r\n250-b\r\n250 c\r\n", limits).failed);
  EXPECT_TRUE(parse_every_way("250-a\r\n250-b\r\n250-c\r\n250 d\r\n", limits).failed);
  EXPECT_FALSE(parse_every_way("250-12345\r\n250-12345\r\n250 12\r\n", limits).failed);  // 30
  EXPECT_TRUE(parse_every_way("250-12345\r\n250-12345\r\n250 123\r\n", limits).failed);  // 31
}

SmtpReply reply_of(std::string_view text) {
  Result<SmtpReply> r = parse_smtp_reply(text);
  EXPECT_TRUE(r.ok()) << text;
  return r.ok() ? *r : SmtpReply();
}

TEST(EhloCapabilities, PostfixStyle) {
  Result<EhloCapabilities> caps = parse_ehlo_capabilities(
      reply_of("250-mail.example.org\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n"
               "250-ETRN\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250-AUTH=PLAIN LOGIN\r\n"
               "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n"
               "250 CHUNKING\r\n"));
  ASSERT_TRUE(caps.ok()) << caps.error().message;
  EXPECT_EQ(caps->server_name, "mail.example.org");
  EXPECT_TRUE(caps->pipelining);
  EXPECT_TRUE(caps->size);
  EXPECT_EQ(caps->size_limit, 10240000u);
  EXPECT_TRUE(caps->starttls);
  EXPECT_TRUE(caps->enhanced_status_codes);
  EXPECT_TRUE(caps->eight_bit_mime);
  EXPECT_TRUE(caps->dsn);
  EXPECT_TRUE(caps->smtputf8);
  EXPECT_TRUE(caps->chunking);
  EXPECT_EQ(caps->auth_mechanisms, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_TRUE(caps->has_auth("login"));
  EXPECT_FALSE(caps->has_auth("CRAM-MD5"));
}

TEST(EhloCapabilities, MinimalAndOddForms) {
  Result<EhloCapabilities> caps = parse_ehlo_capabilities(reply_of("250 tiny.example\r\n"));
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->server_name, "tiny.example");
  EXPECT_FALSE(caps->pipelining || caps->size || caps->starttls || caps->eight_bit_mime ||
               caps->smtputf8 || caps->dsn || caps->chunking || caps->enhanced_status_codes);
  EXPECT_TRUE(caps->auth_mechanisms.empty());

  caps = parse_ehlo_capabilities(
      reply_of("250-x\r\n250-pipelining\r\n250-size\r\n250-auth=login\r\n250 auth scram-sha-256 "
               "bad/mech THIS-NAME-IS-LONGER-THAN-20 login\r\n"));
  ASSERT_TRUE(caps.ok());
  EXPECT_TRUE(caps->pipelining);
  EXPECT_TRUE(caps->size);
  EXPECT_EQ(caps->size_limit, 0u);
  EXPECT_EQ(caps->auth_mechanisms, (std::vector<std::string>{"LOGIN", "SCRAM-SHA-256"}));

  caps = parse_ehlo_capabilities(reply_of("250-x\r\n250 SIZE 99999999999999999999999\r\n"));
  ASSERT_TRUE(caps.ok());
  EXPECT_TRUE(caps->size);
  EXPECT_EQ(caps->size_limit, 0u);  // not a number we can hold: no limit taken from it
  EXPECT_FALSE(parse_ehlo_capabilities(reply_of("502 5.5.1 no EHLO\r\n")).ok());
}

TEST(EhloCapabilities, AuthMechanismCountBounded) {
  std::string text = "250-x\r\n250 AUTH";
  for (int i = 0; i < 40; ++i) text += " M" + std::to_string(i);
  Result<EhloCapabilities> caps = parse_ehlo_capabilities(reply_of(text + "\r\n"));
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->auth_mechanisms.size(), kMaxAuthMechanisms);
  EXPECT_EQ(caps->auth_mechanisms.back(), "M31");
}

}  // namespace
}  // namespace postern
