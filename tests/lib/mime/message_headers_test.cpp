// Tests for lib/mime/message_headers.cpp: the header section collector (fed whole, byte by byte and
// in every two-piece split; the limit at N and N+1), the field splitter (folding, obsolete
// white space before the colon, errors, the field count at N and N+1), the address-list reader
// on ordinary and hostile values (comments, groups, quoting, source routes, 8-bit, the address
// count and comment depth at N and N+1) and the Message-ID:/Date: makers.
#include "lib/mime/message_headers.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <ctime>
#include <string>
#include <vector>

namespace postern {
namespace {

struct Collected {
  size_t consumed = 0;
  bool complete = false;
  bool over_limit = false;
  std::string text;
};

Collected collect(std::string_view message, size_t limit, size_t piece_bytes) {
  HeaderSectionCollector collector(limit);
  Collected out;
  for (size_t pos = 0; pos < message.size(); pos += piece_bytes) {
    size_t used = collector.feed(message.substr(pos, piece_bytes));
    out.consumed += used;
    if (collector.complete()) break;
    EXPECT_EQ(used, std::min(piece_bytes, message.size() - pos));
  }
  out.complete = collector.complete();
  out.over_limit = collector.over_limit();
  out.text = collector.text();
  return out;
}

const std::string kMessage =
    "From: Alice <alice@example.org>\r\n"
    "Subject: a folded\r\n"
    "\tsubject\r\n"
    "\r\n"
    "Body line\r\n"
    "\r\n"
    "more body\r\n";
const size_t kHeaderBytes = kMessage.find("\r\n\r\n") + 2;  // without the empty line

TEST(HeaderSectionCollector, WholeAndByteByByteAgree) {
  for (size_t piece : {kMessage.size(), size_t{1}, size_t{2}, size_t{3}, size_t{7}}) {
    SCOPED_TRACE(piece);
    Collected got = collect(kMessage, 1000, piece);
    EXPECT_TRUE(got.complete);
    EXPECT_FALSE(got.over_limit);
    EXPECT_EQ(got.text, kMessage.substr(0, kHeaderBytes));
    EXPECT_EQ(got.consumed, kHeaderBytes + 2);
  }
}

TEST(HeaderSectionCollector, EveryTwoPieceSplit) {
  for (size_t cut = 0; cut <= kMessage.size(); ++cut) {
    HeaderSectionCollector collector(1000);
    size_t used = collector.feed(std::string_view(kMessage).substr(0, cut));
    if (!collector.complete()) used += collector.feed(std::string_view(kMessage).substr(cut));
    EXPECT_TRUE(collector.complete()) << cut;
    EXPECT_EQ(used, kHeaderBytes + 2) << cut;
    EXPECT_EQ(collector.text(), kMessage.substr(0, kHeaderBytes)) << cut;
  }
}

TEST(HeaderSectionCollector, StopsConsumingOnceComplete) {
  HeaderSectionCollector collector(1000);
  EXPECT_EQ(collector.feed("A: b\r\n\r\nbody"), 8u);
  EXPECT_TRUE(collector.complete());
  EXPECT_EQ(collector.feed("more"), 0u);
  EXPECT_EQ(collector.text(), "A: b\r\n");
}

TEST(HeaderSectionCollector, MessageStartingWithEmptyLineHasEmptyHeader) {
  Collected got = collect("\r\nbody\r\n", 1000, 1);
  EXPECT_TRUE(got.complete);
  EXPECT_EQ(got.consumed, 2u);
  EXPECT_EQ(got.text, "");
}

TEST(HeaderSectionCollector, LoneLfIsTheEmptyLineToo) {
  Collected got = collect("A: b\n\nbody", 1000, 1);
  EXPECT_TRUE(got.complete);
  EXPECT_EQ(got.consumed, 6u);
  EXPECT_EQ(got.text, "A: b\n");
}

TEST(HeaderSectionCollector, CrNotFollowedByLfAtLineStartIsHeaderText) {
  Collected got = collect("A: b\r\n\rX\r\n\r\n", 1000, 1);
  EXPECT_TRUE(got.complete);
  EXPECT_EQ(got.text, "A: b\r\n\rX\r\n");
}

TEST(HeaderSectionCollector, NoEmptyLineMeansEverythingIsHeader) {
  HeaderSectionCollector collector(1000);
  EXPECT_EQ(collector.feed("A: b\r\nC: d\r"), 11u);
  EXPECT_FALSE(collector.complete());
  collector.finish_at_end_of_message();
  EXPECT_TRUE(collector.complete());
  EXPECT_EQ(collector.text(), "A: b\r\nC: d\r");

  HeaderSectionCollector pending_cr(1000);
  EXPECT_EQ(pending_cr.feed("A: b\r\n\r"), 7u);
  pending_cr.finish_at_end_of_message();
  EXPECT_EQ(pending_cr.text(), "A: b\r\n\r");
}

TEST(HeaderSectionCollector, LimitAtNAndNPlusOne) {
  const std::string header = "Subject: 0123456789\r\n";  // 21 bytes
  const std::string message = header + "\r\nbody";
  for (size_t piece : {message.size(), size_t{1}}) {
    Collected at_limit = collect(message, header.size(), piece);
    EXPECT_TRUE(at_limit.complete);
    EXPECT_FALSE(at_limit.over_limit);
    EXPECT_EQ(at_limit.text, header);

    Collected over = collect(message, header.size() - 1, piece);
    EXPECT_TRUE(over.complete);
    EXPECT_TRUE(over.over_limit);
    EXPECT_EQ(over.text.size(), header.size() - 1);
    // The whole header section is still consumed, so the body starts where it should.
    EXPECT_EQ(over.consumed, header.size() + 2);
  }
}

TEST(HeaderSectionCollector, HugeHeaderKeepsOnlyTheLimit) {
  HeaderSectionCollector collector(100);
  std::string line = "X: " + std::string(1000, 'a') + "\r\n";
  for (int i = 0; i < 100; ++i) EXPECT_EQ(collector.feed(line), line.size());
  EXPECT_TRUE(collector.over_limit());
  EXPECT_FALSE(collector.complete());
  EXPECT_EQ(collector.text().size(), 100u);
  EXPECT_EQ(collector.feed("\r\nbody"), 2u);
  EXPECT_TRUE(collector.complete());
}

// --- parse_header_section

TEST(ParseHeaderSection, FieldsWithFoldingKept) {
  auto fields = parse_header_section(
      "From: Alice <alice@example.org>\r\nSubject: a\r\n folded\r\n\tline\r\nX-Empty:\r\n");
  ASSERT_TRUE(fields.ok()) << fields.error().message;
  ASSERT_EQ(fields->size(), 3u);
  EXPECT_EQ((*fields)[0].name, "From");
  EXPECT_EQ((*fields)[0].value, " Alice <alice@example.org>");
  EXPECT_EQ((*fields)[1].name, "Subject");
  EXPECT_EQ((*fields)[1].value, " a\r\n folded\r\n\tline");
  EXPECT_EQ((*fields)[2].name, "X-Empty");
  EXPECT_EQ((*fields)[2].value, "");
}

TEST(ParseHeaderSection, EmptyTextHasNoFields) {
  auto fields = parse_header_section("");
  ASSERT_TRUE(fields.ok());
  EXPECT_TRUE(fields->empty());
}

TEST(ParseHeaderSection, LastLineWithoutLineEnd) {
  auto fields = parse_header_section("A: 1\r\nB: 2");
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ(fields->size(), 2u);
  EXPECT_EQ((*fields)[1].value, " 2");
}

TEST(ParseHeaderSection, ObsoleteWhiteSpaceBeforeColon) {
  auto fields = parse_header_section("Subject \t: hello\r\n");
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ(fields->size(), 1u);
  EXPECT_EQ((*fields)[0].name, "Subject");
  EXPECT_EQ((*fields)[0].value, " hello");
}

TEST(ParseHeaderSection, Refusals) {
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "no colon here\r\n",
           "A: 1\r\nbody text\r\n",
           " leading continuation\r\n",
           ": empty name\r\n",
           "Bad Name: x\r\n",  // a space inside the name
           "A: 1\r\n\r\nB: 2\r\n",
           std::string_view("A: 1\0\r\n", 7),
           "Na\x80me: x\r\n",
       }) {
    auto fields = parse_header_section(bad);
    ASSERT_FALSE(fields.ok()) << bad;
    EXPECT_EQ(fields.error().kind, ErrorKind::kParse);
  }
}

TEST(ParseHeaderSection, ErrorNamesTheLine) {
  auto fields = parse_header_section("A: 1\r\n x\r\nB: 2\r\nbroken\r\n");
  ASSERT_FALSE(fields.ok());
  EXPECT_NE(fields.error().message.find("line 4"), std::string::npos) << fields.error().message;
}

TEST(ParseHeaderSection, FieldCountAtNAndNPlusOne) {
  std::string text;
  for (int i = 0; i < 5; ++i) text += "X-N: " + std::to_string(i) + "\r\n";
  auto at_limit = parse_header_section(text, 5);
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->size(), 5u);
  text += "X-N: 5\r\n";
  auto over = parse_header_section(text, 5);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);

  std::string many;
  for (size_t i = 0; i < kMaxHeaderFields; ++i) many += "A: b\r\n";
  EXPECT_TRUE(parse_header_section(many).ok());
  many += "A: b\r\n";
  EXPECT_FALSE(parse_header_section(many).ok());
}

TEST(ParseHeaderSection, FindAndCountAreCaseInsensitive) {
  auto fields =
      parse_header_section("Received: x\r\nFROM: a@b.c\r\nfrom: d@e.f\r\nMessage-Id: <1@x>\r\n");
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ(find_field(*fields, "From"), std::optional<size_t>(1));
  EXPECT_EQ(count_fields(*fields, "from"), 2u);
  EXPECT_EQ(find_field(*fields, "message-id"), std::optional<size_t>(3));
  EXPECT_EQ(find_field(*fields, "Date"), std::nullopt);
  EXPECT_EQ(count_fields(*fields, "Date"), 0u);
}

TEST(ParseHeaderSection, CollectorOutputParses) {
  Collected got = collect(kMessage, 1000, 1);
  auto fields = parse_header_section(got.text);
  ASSERT_TRUE(fields.ok());
  ASSERT_EQ(fields->size(), 2u);
  EXPECT_EQ((*fields)[1].value, " a folded\r\n\tsubject");
}

// --- parse_address_list

std::vector<std::string> addresses(std::string_view value) {
  auto parsed = parse_address_list(value);
  EXPECT_TRUE(parsed.ok()) << "\"" << value
                           << "\": " << (parsed.ok() ? "" : parsed.error().message);
  return parsed.ok() ? parsed.value() : std::vector<std::string>{"<error>"};
}

using Strings = std::vector<std::string>;

TEST(ParseAddressList, CommonForms) {
  EXPECT_EQ(addresses(" alice@Example.ORG"), Strings{"alice@example.org"});
  EXPECT_EQ(addresses(" Alice <Alice@Example.ORG>"), Strings{"Alice@example.org"});
  EXPECT_EQ(addresses(" \"Alice Smith\" <alice@example.org>"), Strings{"alice@example.org"});
  EXPECT_EQ(addresses("<alice@example.org>"), Strings{"alice@example.org"});
  EXPECT_EQ(addresses(" a@x.org, B <b@y.org> ,c@z.org"),
            (Strings{"a@x.org", "b@y.org", "c@z.org"}));
  EXPECT_EQ(addresses(" John Q. Public <jqp@example.com>"), Strings{"jqp@example.com"});
  EXPECT_EQ(addresses(" =?UTF-8?B?SsO2cmc=?= <j@example.com>"), Strings{"j@example.com"});
}

TEST(ParseAddressList, Comments) {
  EXPECT_EQ(addresses(" alice@example.org (Alice Smith)"), Strings{"alice@example.org"});
  EXPECT_EQ(addresses(" (outer (inner \\) still) done) <a@b.org> (x)"), Strings{"a@b.org"});
  EXPECT_EQ(addresses(" a(c)@(c)b.org"), Strings{"a@b.org"});
  // A parenthesis inside a quoted string is not a comment.
  EXPECT_EQ(addresses(" \"Smith (Sales\" <s@b.org>"), Strings{"s@b.org"});
  EXPECT_EQ(addresses(" \"x)\" <s@b.org>"), Strings{"s@b.org"});
}

TEST(ParseAddressList, CommentDepthAtNAndNPlusOne) {
  auto nested = [](int depth) {
    return std::string(static_cast<size_t>(depth), '(') + "c" +
           std::string(static_cast<size_t>(depth), ')') + " a@b.org";
  };
  EXPECT_EQ(addresses(nested(kMaxCommentDepth)), Strings{"a@b.org"});
  auto over = parse_address_list(nested(kMaxCommentDepth + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(ParseAddressList, Groups) {
  auto empty = parse_address_list(" undisclosed-recipients:;");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(addresses(" Team: a@x.org, B <b@y.org>; , c@z.org"),
            (Strings{"a@x.org", "b@y.org", "c@z.org"}));
  EXPECT_EQ(addresses(" Team: a@x.org;(trailing comment)"), Strings{"a@x.org"});
  EXPECT_FALSE(parse_address_list(" Team: a@x.org").ok());    // no ';'
  EXPECT_FALSE(parse_address_list(" A: B: c@d.org;;").ok());  // nested group
  EXPECT_FALSE(parse_address_list(" Team: a@x.org b@y.org;").ok());
}

TEST(ParseAddressList, QuotedLocalParts) {
  EXPECT_EQ(addresses(" \"john.doe\"@Example.org"), Strings{"john.doe@example.org"});
  EXPECT_EQ(addresses(" \"john doe\"@example.org"), Strings{"\"john doe\"@example.org"});
  EXPECT_EQ(addresses(" <\"a\\\"b\"@example.org>"), Strings{"\"a\\\"b\"@example.org"});
  EXPECT_EQ(addresses(" \"a@b\"@example.org"), Strings{"\"a@b\"@example.org"});
  EXPECT_EQ(addresses(" \"\"@example.org"), Strings{"\"\"@example.org"});
  // Obsolete local part: words joined by dots, CFWS around them.
  EXPECT_EQ(addresses(" john . \"doe\" @ example . org"), Strings{"john.doe@example.org"});
}

TEST(ParseAddressList, DomainLiteralsAndSourceRoutes) {
  EXPECT_EQ(addresses(" a@[192.0.2.1]"), Strings{"a@[192.0.2.1]"});
  EXPECT_EQ(addresses(" <a@[IPv6:2001:DB8::1]>"), Strings{"a@[ipv6:2001:db8::1]"});
  EXPECT_EQ(addresses(" Name <@relay.example,@other.example:user@Final.Example>"),
            Strings{"user@final.example"});
}

TEST(ParseAddressList, FoldingWhiteSpace) {
  EXPECT_EQ(addresses(" Alice\r\n <alice@example.org>,\r\n\tbob@example.org"),
            (Strings{"alice@example.org", "bob@example.org"}));
  EXPECT_FALSE(parse_address_list(" a@b.org\r\n").ok());        // CRLF without WSP
  EXPECT_FALSE(parse_address_list(" a@b.org,\nc@d.org").ok());  // bare LF
  EXPECT_FALSE(parse_address_list(" a@b\r.org").ok());          // bare CR
}

TEST(ParseAddressList, Utf8) {
  EXPECT_EQ(addresses(" Jörg <jörg@Bücher.Example>"), Strings{"jörg@bücher.example"});
  EXPECT_EQ(addresses(" \"Jörg Ä\" <j@x.org>"), Strings{"j@x.org"});
  EXPECT_FALSE(parse_address_list(" j\xff@x.org").ok());     // not UTF-8
  EXPECT_FALSE(parse_address_list(" j\xc3@x.org").ok());     // truncated sequence
  EXPECT_FALSE(parse_address_list(" \xc0\xaf@x.org").ok());  // overlong
  EXPECT_FALSE(parse_address_list(" Name\x80 <a@x.org>").ok());
}

TEST(ParseAddressList, EmptyListElementsAreObsoleteButFine) {
  EXPECT_EQ(addresses(" , a@x.org,, b@y.org ,"), (Strings{"a@x.org", "b@y.org"}));
}

TEST(ParseAddressList, Malformed) {
  for (std::string_view bad : std::initializer_list<std::string_view>{
           "",
           "   ",
           " ,",
           " (only a comment)",
           " Alice <alice@example.org",  // missing '>'
           " Alice alice@example.org>",  // missing '<'
           " a@b@example.org",           // two '@'
           " <a@b@example.org>",
           " alice@example.org garbage",  // trailing garbage
           " Alice <alice@example.org> x",
           " alice@example.org <bob@example.org>",
           " alice",  // no domain
           " alice@",
           " @example.org",
           " <>",
           " Alice <>",
           " <alice>",
           " alice@.example.org",
           " alice@example.org.",
           " alice.@example.org",
           " .alice@example.org",
           " a..b@example.org",
           " \"unterminated@example.org",
           " (unterminated comment a@b.org",
           " a@[1.2.3.4",
           " a@[1.2[3].4]",
           " a@\"quoted\".org",
           " Name: <a@b.org>",  // group never closed
           " a@b.org;",
           " John Q. Public@example.org",
           " <a@b.org>>",
           " <<a@b.org>>",
           " \"x\" \"y\" a@b.org",
           std::string_view(" a\0b@c.org", 10),
           " a\x01@b.org",
           " a\x7f@b.org",
           " \\a@b.org",
           " <@relay:a@b.org",
           " <@relay a@b.org>",
       }) {
    auto parsed = parse_address_list(bad);
    EXPECT_FALSE(parsed.ok()) << "accepted \"" << bad << "\" as "
                              << (parsed.ok() && !parsed->empty() ? parsed->front() : "");
  }
}

TEST(ParseAddressList, AddressCountAtNAndNPlusOne) {
  std::string value;
  for (size_t i = 0; i < kMaxAddresses; ++i) {
    if (i) value += ", ";
    value += "u" + std::to_string(i) + "@example.org";
  }
  auto at_limit = parse_address_list(value);
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->size(), kMaxAddresses);
  EXPECT_EQ(at_limit->back(), "u999@example.org");
  value += ", one@more.org";
  auto over = parse_address_list(value);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);

  // Group members count too.
  std::string group = "g:" + value.substr(value.find(',') + 1) + ";";  // kMaxAddresses of them
  auto in_group = parse_address_list(group);
  ASSERT_TRUE(in_group.ok());
  EXPECT_EQ(in_group->size(), kMaxAddresses);
  auto group_over = parse_address_list(group + ", x@y.org");
  EXPECT_FALSE(group_over.ok());
}

TEST(ParseAddressList, LongValuesStayLinear) {
  // A megabyte of display name, of empty list elements and of comments: read one token at a
  // time, so this is quick and small.
  std::string phrase;
  for (int i = 0; i < 100000; ++i) phrase += "word\r\n ";
  EXPECT_EQ(addresses(phrase + "<a@b.org>"), Strings{"a@b.org"});
  EXPECT_EQ(addresses(std::string(1 << 20, ',') + "a@b.org"), Strings{"a@b.org"});
  std::string comments;
  for (int i = 0; i < 100000; ++i) comments += "(c) ";
  EXPECT_EQ(addresses(comments + "a@b.org" + comments), Strings{"a@b.org"});
  EXPECT_FALSE(parse_address_list(phrase + "a@b.org").ok());
}

TEST(ParseAddressList, FromFieldOfACollectedHeader) {
  const std::string message =
      "From: \"Smith, Alice\" (sales)\r\n <alice@example.org>\r\nTo: undisclosed:;\r\n\r\nx";
  Collected got = collect(message, 1000, 1);
  auto fields = parse_header_section(got.text);
  ASSERT_TRUE(fields.ok());
  auto from = find_field(*fields, "from");
  ASSERT_TRUE(from.has_value());
  EXPECT_EQ(addresses((*fields)[*from].value), Strings{"alice@example.org"});
}

// --- Message-ID and Date

TEST(MakeMessageId, ShapeAndUniqueness) {
  // 2026-11-23 06:15:00 UTC
  const int64_t when = 1795414500;
  EXPECT_EQ(make_message_id("4ABC123", "mail.example.org", when),
            "<20261123061500.4ABC123@mail.example.org>");
  EXPECT_NE(make_message_id("4ABC123", "h", when), make_message_id("4ABC124", "h", when));
  std::string now = make_message_id("Q1", "host.example");
  EXPECT_EQ(now.size(), std::string("<YYYYMMDDhhmmss.Q1@host.example>").size());
  EXPECT_EQ(now.front(), '<');
  EXPECT_EQ(now.back(), '>');
  // What we make is a valid msg-id: it reads as an address list of one addr-spec.
  auto parsed = parse_address_list(now);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->front(), now.substr(1, now.size() - 2));
}

class ZoneGuard {
 public:
  explicit ZoneGuard(const char* zone) {
    const char* old = ::getenv("TZ");
    had_ = old != nullptr;
    if (had_) old_ = old;
    ::setenv("TZ", zone, 1);
    ::tzset();
  }
  ~ZoneGuard() {
    if (had_) {
      ::setenv("TZ", old_.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  bool had_ = false;
  std::string old_;
};

TEST(MakeDateValue, UtcAndNumericZones) {
  const int64_t when = 1795414500;  // Mon, 23 Nov 2026 06:15:00 UTC
  {
    ZoneGuard zone("UTC0");
    EXPECT_EQ(make_date_value(when), "Mon, 23 Nov 2026 06:15:00 +0000");
    EXPECT_EQ(make_date_value(0), "Thu, 1 Jan 1970 00:00:00 +0000");
  }
  {
    ZoneGuard zone("XST-5:30");  // POSIX: 5h30 east of UTC
    EXPECT_EQ(make_date_value(when), "Mon, 23 Nov 2026 11:45:00 +0530");
  }
  {
    ZoneGuard zone("YST8");  // 8 hours west of UTC: the previous day
    EXPECT_EQ(make_date_value(when), "Sun, 22 Nov 2026 22:15:00 -0800");
  }
}

}  // namespace
}  // namespace postern
