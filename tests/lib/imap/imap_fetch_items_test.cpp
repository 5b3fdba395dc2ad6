// Unit tests for lib/imap/imap_fetch_items.cpp: macros, every simple item, BODY[section] forms with
// part paths, HEADER.FIELDS(.NOT) lists (atoms and quoted names), partials, BINARY forms, the
// response names, \Seen rules, CHANGEDSINCE/VANISHED modifiers, malformed items, and each
// limit (items, section depth, header fields) at N accepted and N+1 refused. Token trees are
// built by hand, as lib/imap/imap_parser delivers them (a section is part of its atom).
#include "lib/imap/imap_fetch_items.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern {
namespace {

ImapToken atom(std::string text) {
  ImapToken token;
  token.kind = ImapToken::Kind::kAtom;
  token.text = std::move(text);
  return token;
}

ImapToken list(std::vector<ImapToken> children) {
  ImapToken token;
  token.kind = ImapToken::Kind::kList;
  token.children = std::move(children);
  return token;
}

FetchRequest ok(const ImapToken& items, const ImapToken* modifiers = nullptr,
                const FetchLimits& limits = {}) {
  Result<FetchRequest> request = parse_fetch_items(items, modifiers, limits);
  EXPECT_TRUE(request.ok()) << (request.ok() ? "" : request.error().message);
  return request.ok() ? *request : FetchRequest{};
}

std::vector<std::string> names(const FetchRequest& request) {
  std::vector<std::string> out;
  for (const FetchItem& item : request.items) out.push_back(item.response_name);
  return out;
}

TEST(ImapFetchItems, Macros) {
  EXPECT_EQ(names(ok(atom("ALL"))),
            (std::vector<std::string>{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}));
  EXPECT_EQ(names(ok(atom("fast"))),
            (std::vector<std::string>{"FLAGS", "INTERNALDATE", "RFC822.SIZE"}));
  EXPECT_EQ(names(ok(atom("Full"))),
            (std::vector<std::string>{"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}));
  // A macro is not an item inside a list (RFC 3501 grammar).
  EXPECT_FALSE(parse_fetch_items(list({atom("ALL")}), nullptr).ok());
}

TEST(ImapFetchItems, SimpleItems) {
  FetchRequest request =
      ok(list({atom("flags"), atom("INTERNALDATE"), atom("RFC822"), atom("RFC822.HEADER"),
               atom("RFC822.SIZE"), atom("RFC822.TEXT"), atom("ENVELOPE"), atom("BODY"),
               atom("BODYSTRUCTURE"), atom("UID"), atom("MODSEQ")}));
  EXPECT_EQ(names(request),
            (std::vector<std::string>{"FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER",
                                      "RFC822.SIZE", "RFC822.TEXT", "ENVELOPE", "BODY",
                                      "BODYSTRUCTURE", "UID", "MODSEQ"}));
  EXPECT_TRUE(request.items[2].sets_seen());   // RFC822
  EXPECT_FALSE(request.items[3].sets_seen());  // RFC822.HEADER
  EXPECT_TRUE(request.items[5].sets_seen());   // RFC822.TEXT
  EXPECT_EQ(request.items[3].section.text, MimeSection::Text::kHeader);
  EXPECT_EQ(request.items[5].section.text, MimeSection::Text::kText);
  EXPECT_FALSE(request.items[0].needs_message());
  EXPECT_TRUE(request.items[2].needs_message());
  EXPECT_TRUE(request.has(FetchItemKind::kModSeq));
  EXPECT_FALSE(request.has(FetchItemKind::kBinary));
}

TEST(ImapFetchItems, BodySections) {
  FetchRequest request =
      ok(list({atom("BODY[]"), atom("body.peek[1.2.3]"), atom("BODY[2.MIME]"),
               atom("BODY.PEEK[TEXT]<10.20>"), atom("BODY[4.HEADER]"), atom("BODY[]<0.1>")}));
  ASSERT_EQ(request.items.size(), 6u);
  EXPECT_EQ(names(request),
            (std::vector<std::string>{"BODY[]", "BODY[1.2.3]", "BODY[2.MIME]", "BODY[TEXT]<10>",
                                      "BODY[4.HEADER]", "BODY[]<0>"}));
  EXPECT_TRUE(request.items[0].sets_seen());
  EXPECT_FALSE(request.items[1].sets_seen());
  EXPECT_EQ(request.items[1].section.part, (std::vector<uint32_t>{1, 2, 3}));
  EXPECT_EQ(request.items[2].section.text, MimeSection::Text::kMime);
  EXPECT_EQ(request.items[3].partial_offset, 10u);
  EXPECT_EQ(request.items[3].partial_length, 20u);
  EXPECT_FALSE(request.items[0].partial_offset.has_value());
  EXPECT_EQ(request.items[4].section.part, (std::vector<uint32_t>{4}));
  EXPECT_EQ(request.items[4].section.text, MimeSection::Text::kHeader);
}

TEST(ImapFetchItems, HeaderFields) {
  FetchRequest request = ok(list({atom("BODY.PEEK[HEADER.FIELDS (From \"To\" message-id)]"),
                                  atom("BODY[1.HEADER.FIELDS.NOT (Subject)]<5.6>")}));
  ASSERT_EQ(request.items.size(), 2u);
  EXPECT_EQ(request.items[0].section.text, MimeSection::Text::kHeaderFields);
  EXPECT_EQ(request.items[0].section.fields,
            (std::vector<std::string>{"FROM", "TO", "MESSAGE-ID"}));
  EXPECT_EQ(request.items[0].response_name, "BODY[HEADER.FIELDS (FROM TO MESSAGE-ID)]");
  EXPECT_EQ(request.items[1].section.text, MimeSection::Text::kHeaderFieldsNot);
  EXPECT_EQ(request.items[1].response_name, "BODY[1.HEADER.FIELDS.NOT (SUBJECT)]<5>");
}

TEST(ImapFetchItems, Binary) {
  FetchRequest request = ok(list({atom("BINARY[1]"), atom("BINARY.PEEK[1.2]<0.100>"),
                                  atom("BINARY.SIZE[3]"), atom("BINARY[]")}));
  EXPECT_EQ(names(request), (std::vector<std::string>{"BINARY[1]", "BINARY[1.2]<0>",
                                                      "BINARY.SIZE[3]", "BINARY[]"}));
  EXPECT_TRUE(request.items[0].sets_seen());
  EXPECT_FALSE(request.items[1].sets_seen());
  EXPECT_FALSE(request.items[2].sets_seen());
  EXPECT_EQ(request.items[2].kind, FetchItemKind::kBinarySize);
  EXPECT_FALSE(parse_fetch_items(atom("BINARY[1.TEXT]"), nullptr).ok());
  EXPECT_FALSE(parse_fetch_items(atom("BINARY.SIZE[1]<0.5>"), nullptr).ok());
}

TEST(ImapFetchItems, DuplicatesCollapse) {
  FetchRequest request =
      ok(list({atom("BODY.PEEK[]"), atom("FLAGS"), atom("BODY[]"), atom("flags")}));
  ASSERT_EQ(request.items.size(), 2u);
  EXPECT_TRUE(request.items[0].sets_seen());  // BODY[] and BODY.PEEK[]: one, not a peek
}

TEST(ImapFetchItems, RejectsMalformed) {
  for (const char* bad : {"FLAG",
                          "BODY[",
                          "BODY[]]",
                          "BODY[0]",
                          "BODY[1.]",
                          "BODY[.1]",
                          "BODY[1..2]",
                          "BODY[MIME]",
                          "BODY[HEADER.FIELDS]",
                          "BODY[HEADER.FIELDS ()]",
                          "BODY[HEADER.FIELDS (A]",
                          "BODY[HEADER.FIELDS (A) ]",
                          "BODY[HEADER.FIELDS (A:B)]",
                          "BODY[TEXTX]",
                          "BODY[]<>",
                          "BODY[]<1>",
                          "BODY[]<1.0>",
                          "BODY[]<a.1>",
                          "BODY[]<1.2",
                          "BODY[]<1.2>x",
                          "BODY[]<4294967296.1>",
                          "BODY[4294967296]",
                          "BODY.PEEK",
                          "RFC822.PEEK",
                          "BINARY",
                          "BODYSTRUCTURE[]",
                          "BODY[HEADER.FIELDS  (A)]"}) {
    EXPECT_FALSE(parse_fetch_items(atom(bad), nullptr).ok()) << bad;
    EXPECT_FALSE(parse_fetch_items(list({atom("UID"), atom(bad)}), nullptr).ok()) << bad;
  }
  EXPECT_FALSE(parse_fetch_items(list({}), nullptr).ok());
  ImapToken quoted;
  quoted.kind = ImapToken::Kind::kQuoted;
  quoted.text = "FLAGS";
  EXPECT_FALSE(parse_fetch_items(quoted, nullptr).ok());
  EXPECT_FALSE(parse_fetch_items(list({list({atom("FLAGS")})}), nullptr).ok());
}

TEST(ImapFetchItems, Modifiers) {
  ImapToken changed = list({atom("CHANGEDSINCE"), atom("12345")});
  FetchRequest request = ok(atom("FLAGS"), &changed);
  EXPECT_EQ(request.changed_since, 12345u);
  EXPECT_FALSE(request.vanished);
  ImapToken vanished = list({atom("changedsince"), atom("0"), atom("VANISHED")});
  request = ok(atom("FLAGS"), &vanished);
  EXPECT_EQ(request.changed_since, 0u);
  EXPECT_TRUE(request.vanished);
  ImapToken top = list({atom("CHANGEDSINCE"), atom("9223372036854775807")});
  EXPECT_EQ(ok(atom("UID"), &top).changed_since, 9223372036854775807ull);
  for (const ImapToken& bad :
       {list({atom("CHANGEDSINCE"), atom("9223372036854775808")}), list({atom("VANISHED")}),
        list({atom("CHANGEDSINCE")}), list({atom("CHANGEDSINCE"), atom("x")}),
        list({atom("CHANGEDSINCE"), atom("-1")}), list({atom("FOO")}), list({}),
        list({atom("CHANGEDSINCE"), atom("1"), atom("CHANGEDSINCE"), atom("2")}), atom("X")}) {
    EXPECT_FALSE(parse_fetch_items(atom("FLAGS"), &bad).ok());
  }
}

TEST(ImapFetchItems, ItemLimitAtNAndNPlusOne) {
  FetchLimits limits;
  limits.max_items = 4;
  EXPECT_TRUE(parse_fetch_items(list({atom("UID"), atom("FLAGS"), atom("ENVELOPE"), atom("BODY")}),
                                nullptr, limits)
                  .ok());
  Result<FetchRequest> over = parse_fetch_items(
      list({atom("UID"), atom("FLAGS"), atom("ENVELOPE"), atom("BODY"), atom("MODSEQ")}), nullptr,
      limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  EXPECT_TRUE(parse_fetch_items(atom("ALL"), nullptr, limits).ok());
  EXPECT_FALSE(parse_fetch_items(atom("FULL"), nullptr, limits).ok());  // expands to 5
}

TEST(ImapFetchItems, SectionDepthLimitAtNAndNPlusOne) {
  FetchLimits limits;
  limits.max_section_parts = 5;
  EXPECT_TRUE(parse_fetch_items(atom("BODY[1.2.3.4.5.MIME]"), nullptr, limits).ok());
  Result<FetchRequest> over = parse_fetch_items(atom("BODY[1.2.3.4.5.6]"), nullptr, limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // The default: 32 deep.
  std::string deep = "1";
  for (int i = 1; i < 32; ++i) deep += ".1";
  EXPECT_TRUE(parse_fetch_items(atom("BODY[" + deep + "]"), nullptr).ok());
  EXPECT_FALSE(parse_fetch_items(atom("BODY[" + deep + ".1]"), nullptr).ok());
}

TEST(ImapFetchItems, HeaderFieldLimitAtNAndNPlusOne) {
  FetchLimits limits;
  limits.max_header_fields = 3;
  EXPECT_TRUE(parse_fetch_items(atom("BODY[HEADER.FIELDS (A B C)]"), nullptr, limits).ok());
  Result<FetchRequest> over =
      parse_fetch_items(atom("BODY[HEADER.FIELDS (A B C D)]"), nullptr, limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(ImapFetchItems, SectionSpecRoundTrip) {
  for (const char* spec : {"", "1", "1.2.3", "HEADER", "TEXT", "1.MIME", "2.3.TEXT",
                           "HEADER.FIELDS (A B)", "4.HEADER.FIELDS.NOT (X-Y)"}) {
    Result<MimeSection> section = parse_section_spec(spec, false);
    ASSERT_TRUE(section.ok()) << spec;
    EXPECT_EQ(format_section_spec(*section), spec);
  }
}

}  // namespace
}  // namespace postern
