// Unit tests for lib/imap/imap_search_keys.cpp: every RFC 3501 key, sequence and UID sets,
// parentheses, NOT/OR trees, MODSEQ with and without an entry, CHARSET (UTF-8/US-ASCII
// accepted, others BADCHARSET), RETURN options (RFC 4731), malformed criteria, the depth and
// key-count limits at N accepted and N+1 refused, and the IMAP and RFC 5322 date readers.
#include "lib/imap/imap_search_keys.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern {
namespace {

using Kind = SearchKey::Kind;

ImapToken atom(std::string text) {
  ImapToken token;
  token.kind = ImapToken::Kind::kAtom;
  token.text = std::move(text);
  return token;
}

ImapToken quoted(std::string text) {
  ImapToken token;
  token.kind = ImapToken::Kind::kQuoted;
  token.text = std::move(text);
  return token;
}

ImapToken literal(std::string text) {
  ImapToken token;
  token.kind = ImapToken::Kind::kLiteral;
  token.text = std::move(text);
  return token;
}

ImapToken list(std::vector<ImapToken> children) {
  ImapToken token;
  token.kind = ImapToken::Kind::kList;
  token.children = std::move(children);
  return token;
}

// Splits "A B C" into atoms (for keys without strings).
std::vector<ImapToken> atoms(std::string_view text) {
  std::vector<ImapToken> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    out.push_back(atom(std::string(text.substr(pos, end - pos))));
    pos = end + 1;
  }
  return out;
}

SearchRequest ok(const std::vector<ImapToken>& args, const SearchLimits& limits = {}) {
  Result<SearchRequest> request = parse_search(args, 0, limits);
  EXPECT_TRUE(request.ok()) << (request.ok() ? "" : request.error().message);
  return request.ok() ? *request : SearchRequest{};
}

TEST(ImapSearchKeys, FlagKeys) {
  SearchRequest request = ok(
      atoms("ANSWERED DELETED DRAFT FLAGGED SEEN UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN"));
  ASSERT_EQ(request.root.kind, Kind::kAnd);
  ASSERT_EQ(request.root.children.size(), 10u);
  uint8_t flags[] = {kSearchFlagAnswered, kSearchFlagDeleted, kSearchFlagDraft, kSearchFlagFlagged,
                     kSearchFlagSeen};
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(request.root.children[i].kind, i < 5 ? Kind::kFlag : Kind::kNoFlag) << i;
    EXPECT_EQ(request.root.children[i].flag, flags[i % 5]) << i;
  }
  EXPECT_FALSE(request.result_options.has_value());
  EXPECT_FALSE(request.has_modseq);
}

TEST(ImapSearchKeys, SimpleKeys) {
  SearchRequest request = ok(atoms("all new old recent"));
  ASSERT_EQ(request.root.children.size(), 4u);
  EXPECT_EQ(request.root.children[0].kind, Kind::kAll);
  EXPECT_EQ(request.root.children[1].kind, Kind::kNew);
  EXPECT_EQ(request.root.children[2].kind, Kind::kOld);
  EXPECT_EQ(request.root.children[3].kind, Kind::kRecent);
}

TEST(ImapSearchKeys, StringKeys) {
  SearchRequest request =
      ok({atom("FROM"), quoted("alice"), atom("TO"), atom("bob"), atom("CC"), literal("c c"),
          atom("BCC"), quoted(""), atom("SUBJECT"), quoted("Grüße"), atom("BODY"), atom("x"),
          atom("TEXT"), quoted("y"), atom("HEADER"), atom("x-Mailer"), quoted("mutt")});
  const std::vector<SearchKey>& keys = request.root.children;
  ASSERT_EQ(keys.size(), 8u);
  EXPECT_EQ(keys[0].kind, Kind::kHeader);
  EXPECT_EQ(keys[0].field, "FROM");
  EXPECT_EQ(keys[0].text, "alice");
  EXPECT_EQ(keys[1].field, "TO");
  EXPECT_EQ(keys[2].field, "CC");
  EXPECT_EQ(keys[2].text, "c c");
  EXPECT_EQ(keys[3].field, "BCC");
  EXPECT_EQ(keys[3].text, "");
  EXPECT_EQ(keys[4].field, "SUBJECT");
  EXPECT_EQ(keys[4].text, "Grüße");
  EXPECT_EQ(keys[5].kind, Kind::kBody);
  EXPECT_EQ(keys[6].kind, Kind::kText);
  EXPECT_EQ(keys[7].kind, Kind::kHeader);
  EXPECT_EQ(keys[7].field, "X-MAILER");
  EXPECT_EQ(keys[7].text, "mutt");
}

TEST(ImapSearchKeys, NilIsAStringAndAKeyword) {
  // NIL is an atom (RFC 3501 9): the string "NIL" where an astring goes, a keyword named NIL.
  ImapToken nil;
  nil.kind = ImapToken::Kind::kNil;
  nil.text = "nil";
  SearchRequest request = ok({atom("SUBJECT"), nil, atom("KEYWORD"), nil});
  const std::vector<SearchKey>& keys = request.root.children;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kind, Kind::kHeader);
  EXPECT_EQ(keys[0].text, "nil");
  EXPECT_EQ(keys[1].kind, Kind::kKeyword);
  EXPECT_EQ(keys[1].text, "nil");
}

TEST(ImapSearchKeys, KeywordSizeAndDates) {
  SearchRequest request =
      ok({atom("KEYWORD"), atom("$Forwarded"),  atom("UNKEYWORD"),  atom("$Junk"),
          atom("LARGER"),  atom("100"),         atom("SMALLER"),    atom("4294967295"),
          atom("BEFORE"),  atom("1-Feb-1994"),  atom("ON"),         quoted("01-feb-1994"),
          atom("SINCE"),   atom("29-Feb-2024"), atom("SENTBEFORE"), atom("1-Jan-1970"),
          atom("SENTON"),  atom("2-Jan-1970"),  atom("SENTSINCE"),  atom("31-Dec-1969")});
  const std::vector<SearchKey>& keys = request.root.children;
  ASSERT_EQ(keys.size(), 10u);
  EXPECT_EQ(keys[0].kind, Kind::kKeyword);
  EXPECT_EQ(keys[0].text, "$Forwarded");
  EXPECT_EQ(keys[1].kind, Kind::kNoKeyword);
  EXPECT_EQ(keys[2].kind, Kind::kLarger);
  EXPECT_EQ(keys[2].number, 100u);
  EXPECT_EQ(keys[3].kind, Kind::kSmaller);
  EXPECT_EQ(keys[3].number, 4294967295u);
  EXPECT_EQ(keys[4].kind, Kind::kBefore);
  EXPECT_EQ(keys[4].day, 8797);  // 1994-02-01
  EXPECT_EQ(keys[5].kind, Kind::kOn);
  EXPECT_EQ(keys[5].day, 8797);
  EXPECT_EQ(keys[6].kind, Kind::kSince);
  EXPECT_EQ(keys[6].day, 19782);  // 2024-02-29
  EXPECT_EQ(keys[7].kind, Kind::kSentBefore);
  EXPECT_EQ(keys[7].day, 0);
  EXPECT_EQ(keys[8].kind, Kind::kSentOn);
  EXPECT_EQ(keys[8].day, 1);
  EXPECT_EQ(keys[9].kind, Kind::kSentSince);
  EXPECT_EQ(keys[9].day, -1);
}

TEST(ImapSearchKeys, SetsGroupsAndLogic) {
  SearchRequest request =
      ok({atom("1:3,5"), atom("UID"), atom("10:*"), atom("NOT"), atom("SEEN"), atom("OR"),
          atom("FLAGGED"), list({atom("DELETED"), atom("NOT"), atom("DRAFT")}),
          list({list({atom("ALL")})})});
  const std::vector<SearchKey>& keys = request.root.children;
  ASSERT_EQ(keys.size(), 5u);
  EXPECT_EQ(keys[0].kind, Kind::kSequenceSet);
  ASSERT_EQ(keys[0].set.items.size(), 2u);
  EXPECT_EQ(keys[1].kind, Kind::kUidSet);
  EXPECT_EQ(keys[1].set.items[0], (SequenceRange{10, SequenceSet::kStar}));
  EXPECT_EQ(keys[2].kind, Kind::kNot);
  ASSERT_EQ(keys[2].children.size(), 1u);
  EXPECT_EQ(keys[2].children[0].kind, Kind::kFlag);
  EXPECT_EQ(keys[3].kind, Kind::kOr);
  ASSERT_EQ(keys[3].children.size(), 2u);
  EXPECT_EQ(keys[3].children[1].kind, Kind::kAnd);
  ASSERT_EQ(keys[3].children[1].children.size(), 2u);
  EXPECT_EQ(keys[3].children[1].children[1].kind, Kind::kNot);
  EXPECT_EQ(keys[4].kind, Kind::kAnd);
  EXPECT_EQ(keys[4].children[0].kind, Kind::kAnd);
  EXPECT_EQ(ok({atom("*")}).root.children[0].kind, Kind::kSequenceSet);
  EXPECT_TRUE(ok({atom("$")}).root.children[0].set.saved);
}

TEST(ImapSearchKeys, ModSeq) {
  SearchRequest plain = ok(atoms("MODSEQ 620162338"));
  EXPECT_TRUE(plain.has_modseq);
  EXPECT_EQ(plain.root.children[0].kind, Kind::kModSeq);
  EXPECT_EQ(plain.root.children[0].number, 620162338u);
  SearchRequest entry =
      ok({atom("MODSEQ"), quoted("/flags/\\draft"), atom("all"), atom("9223372036854775807")});
  EXPECT_EQ(entry.root.children[0].number, 9223372036854775807ull);
  EXPECT_FALSE(parse_search({atom("MODSEQ"), atom("9223372036854775808")}, 0).ok());
  EXPECT_FALSE(parse_search({atom("MODSEQ"), quoted("/flags/x"), atom("odd"), atom("5")}, 0).ok());
  EXPECT_FALSE(parse_search({atom("MODSEQ"), quoted("/flags/x"), atom("5")}, 0).ok());
}

TEST(ImapSearchKeys, Charset) {
  EXPECT_EQ(ok({atom("CHARSET"), atom("utf-8"), atom("ALL")}).charset, "UTF-8");
  EXPECT_EQ(ok({atom("CHARSET"), quoted("US-ASCII"), atom("ALL")}).charset, "US-ASCII");
  EXPECT_EQ(ok(atoms("ALL")).charset, "");
  Result<SearchRequest> bad = parse_search({atom("CHARSET"), atom("KOI8-R"), atom("ALL")}, 0);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kPermanent);
  EXPECT_EQ(bad.error().message, "BADCHARSET");
  EXPECT_FALSE(parse_search({atom("CHARSET")}, 0).ok());
  EXPECT_FALSE(parse_search({atom("CHARSET"), atom("UTF-8")}, 0).ok());
}

TEST(ImapSearchKeys, ReturnOptions) {
  SearchRequest request =
      ok({atom("RETURN"), list({atom("MIN"), atom("max"), atom("COUNT")}), atom("ALL")});
  ASSERT_TRUE(request.result_options.has_value());
  EXPECT_TRUE(request.result_options->min);
  EXPECT_TRUE(request.result_options->max);
  EXPECT_TRUE(request.result_options->count);
  EXPECT_FALSE(request.result_options->all);
  SearchRequest empty =
      ok({atom("RETURN"), list({}), atom("CHARSET"), atom("UTF-8"), atom("SEEN")});
  ASSERT_TRUE(empty.result_options.has_value());
  EXPECT_TRUE(empty.result_options->all);
  EXPECT_EQ(empty.charset, "UTF-8");
  EXPECT_FALSE(parse_search({atom("RETURN"), list({atom("SAVE")}), atom("ALL")}, 0).ok());
  EXPECT_FALSE(parse_search({atom("RETURN"), atom("ALL")}, 0).ok());
  // Args after "first" only: the same criteria parsed from offset 2.
  std::vector<ImapToken> args = {atom("skip"), atom("skip"), atom("SEEN")};
  Result<SearchRequest> offset = parse_search(args, 2);
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(offset->root.children.size(), 1u);
}

TEST(ImapSearchKeys, RejectsMalformed) {
  std::vector<std::vector<ImapToken>> bad = {
      {},
      atoms("FOO"),
      atoms("NOT"),
      atoms("OR SEEN"),
      atoms("FROM"),
      atoms("HEADER X"),
      {atom("HEADER"), quoted(""), quoted("x")},
      {atom("HEADER"), quoted("A:B"), quoted("x")},
      atoms("LARGER"),
      atoms("LARGER x"),
      atoms("LARGER 4294967296"),
      atoms("SMALLER -1"),
      atoms("BEFORE 1-Feb-94"),
      atoms("BEFORE 30-Feb-1994"),
      atoms("BEFORE 0-Jan-1994"),
      atoms("ON 1-Foo-1994"),
      atoms("SINCE 1994-02-01"),
      {atom("SINCE"), literal("1-Feb-1994")},
      atoms("UID"),
      atoms("UID x"),
      atoms("UID 0"),
      atoms("0"),
      atoms("1:x"),
      atoms("KEYWORD"),
      {atom("KEYWORD"), quoted("x")},
      {list({})},
      {quoted("SEEN")},
      atoms("MODSEQ"),
  };
  for (const std::vector<ImapToken>& args : bad) {
    Result<SearchRequest> request = parse_search(args, 0);
    EXPECT_FALSE(request.ok()) << (args.empty() ? "(empty)" : args[0].text);
    if (!request.ok()) {
      EXPECT_NE(request.error().kind, ErrorKind::kPermanent);
    }
  }
}

TEST(ImapSearchKeys, DepthLimitAtNAndNPlusOne) {
  SearchLimits limits;
  limits.max_depth = 5;
  // Top-level keys are at depth 1; each NOT adds one.
  EXPECT_TRUE(parse_search(atoms("NOT NOT NOT NOT SEEN"), 0, limits).ok());
  Result<SearchRequest> over = parse_search(atoms("NOT NOT NOT NOT NOT SEEN"), 0, limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // Parentheses count as well.
  EXPECT_TRUE(parse_search({list({list({list({list({atom("SEEN")})})})})}, 0, limits).ok());
  EXPECT_FALSE(
      parse_search({list({list({list({list({list({atom("SEEN")})})})})})}, 0, limits).ok());
  // The default: a chain of 10,000 NOTs (flat tokens) is refused without deep recursion.
  std::vector<ImapToken> chain(10000, atom("NOT"));
  chain.push_back(atom("SEEN"));
  Result<SearchRequest> deep = parse_search(chain, 0);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.error().kind, ErrorKind::kLimit);
}

TEST(ImapSearchKeys, KeyCountLimitAtNAndNPlusOne) {
  SearchLimits limits;
  limits.max_keys = 5;  // OR counts as a key of its own
  EXPECT_TRUE(parse_search(atoms("SEEN DRAFT OR ALL NEW"), 0, limits).ok());
  Result<SearchRequest> over = parse_search(atoms("SEEN DRAFT OR ALL NEW OLD"), 0, limits);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // So does a parenthesised group.
  EXPECT_TRUE(parse_search({list(atoms("SEEN DRAFT ALL")), atom("NEW")}, 0, limits).ok());
  EXPECT_FALSE(
      parse_search({list(atoms("SEEN DRAFT ALL")), atom("NEW"), atom("OLD")}, 0, limits).ok());
}

TEST(ImapSearchKeys, ImapDates) {
  EXPECT_EQ(parse_imap_date("1-Jan-1970"), 0);
  EXPECT_EQ(parse_imap_date("01-JAN-1970"), 0);
  EXPECT_EQ(parse_imap_date("1-Mar-2000"), 11017);
  EXPECT_EQ(parse_imap_date("29-Feb-2000"), 11016);
  EXPECT_FALSE(parse_imap_date("29-Feb-1900").has_value());
  EXPECT_FALSE(parse_imap_date("32-Jan-2000").has_value());
  EXPECT_FALSE(parse_imap_date("001-Jan-2000").has_value());
  EXPECT_FALSE(parse_imap_date("1-Jan-20000").has_value());
  EXPECT_FALSE(parse_imap_date("1-January-2000").has_value());
  EXPECT_FALSE(parse_imap_date("").has_value());
}

TEST(ImapSearchKeys, MessageDates) {
  EXPECT_EQ(rfc5322_date_day("Tue, 1 Feb 1994 23:59:59 -0800"), 8797);
  EXPECT_EQ(rfc5322_date_day("1 Feb 1994 00:00 +1400"), 8797);  // the date as written
  EXPECT_EQ(rfc5322_date_day(" Tue,\r\n 01 feb 1994 10:00:00 GMT (comment 3 Mar 2000)"), 8797);
  EXPECT_EQ(rfc5322_date_day("Tue, 1 Feb 94 10:00:00 EST"), 8797);
  EXPECT_EQ(rfc5322_date_day("Mon, 1 Jan 01 10:00:00 +0000"), days_from_civil(2001, 1, 1));
  EXPECT_EQ(rfc5322_date_day("1-Feb-1994"), 8797);
  EXPECT_FALSE(rfc5322_date_day("").has_value());
  EXPECT_FALSE(rfc5322_date_day("yesterday").has_value());
  EXPECT_FALSE(rfc5322_date_day("Tue, 31 Feb 1994 10:00").has_value());
}

}  // namespace
}  // namespace postern
