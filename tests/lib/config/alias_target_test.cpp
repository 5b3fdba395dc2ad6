// Tests for lib/config/alias_target.cpp: the kinds of target, quoting and escapes, blanks and
// empty targets, each error, the per-list limits at N and N+1, and the round trip
// parse_alias_targets(format_alias_targets(t)) == t that the compiled aliases table relies on.
#include "lib/config/alias_target.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace postern {
namespace {

using Kind = AliasTargetKind;

std::vector<AliasTarget> parse_ok(std::string_view list, const AliasTargetLimits& limits = {}) {
  Result<std::vector<AliasTarget>> targets = parse_alias_targets(list, limits);
  EXPECT_TRUE(targets.ok()) << list.substr(0, 200) << ": "
                            << (targets.ok() ? "" : targets.error().message);
  return targets.ok() ? std::move(targets).value() : std::vector<AliasTarget>();
}

Error parse_error(std::string_view list, const AliasTargetLimits& limits = {}) {
  Result<std::vector<AliasTarget>> targets = parse_alias_targets(list, limits);
  EXPECT_FALSE(targets.ok()) << "accepted: " << list.substr(0, 200);
  return targets.ok() ? Error{} : targets.error();
}

void expect_round_trip(const std::vector<AliasTarget>& targets) {
  std::string text = format_alias_targets(targets);
  EXPECT_EQ(text.find('\n'), std::string::npos) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  Result<std::vector<AliasTarget>> again = parse_alias_targets(text);
  ASSERT_TRUE(again.ok()) << text << ": " << again.error().message;
  EXPECT_EQ(*again, targets) << text;
}

TEST(AliasTarget, EachKind) {
  std::vector<AliasTarget> expected = {
      {Kind::kAddress, "alice"},
      {Kind::kAddress, "bob@example.org"},
      {Kind::kCommand, "/usr/bin/procmail -f-"},
      {Kind::kFile, "/var/log/mail-copy"},
      {Kind::kInclude, "/etc/mail/staff"},
      {Kind::kOwnMailbox, "carol"},
  };
  EXPECT_EQ(parse_ok("alice, bob@example.org,|/usr/bin/procmail -f-  ,\t/var/log/mail-copy, "
                     ":include:/etc/mail/staff, \\carol"),
            expected);
}

TEST(AliasTarget, IncludeIsCaseInsensitiveAndMaySkipBlanks) {
  std::vector<AliasTarget> expected = {{Kind::kInclude, "/etc/a"}, {Kind::kInclude, "/etc/b"}};
  EXPECT_EQ(parse_ok(":INCLUDE:/etc/a, :Include:  /etc/b"), expected);
}

TEST(AliasTarget, QuotesHoldCommasBlanksAndEscapes) {
  std::vector<AliasTarget> expected = {
      {Kind::kCommand, "/usr/bin/foo -a, -b"},
      {Kind::kAddress, "john doe@example.org"},
      {Kind::kCommand, "/bin/echo \"hi\" \\n"},
      {Kind::kFile, "/var/mail/a, b"},
      {Kind::kAddress, "x"},
  };
  EXPECT_EQ(parse_ok("\"|/usr/bin/foo -a, -b\", \"john doe\"@example.org, "
                     "\"|/bin/echo \\\"hi\\\" \\\\n\", /var/mail/\"a, b\", \"\\x\""),
            expected);
  // The kind is decided after unquoting.
  EXPECT_EQ(parse_ok("\"\\\\dave\"").at(0).kind, Kind::kOwnMailbox);
  EXPECT_EQ(parse_ok("\":include:/x\"").at(0).kind, Kind::kInclude);
}

TEST(AliasTarget, BlanksAroundAreDroppedInsideKept) {
  std::vector<AliasTarget> expected = {{Kind::kCommand, "a  b"}, {Kind::kAddress, " c "}};
  EXPECT_EQ(parse_ok("  \t|a  b \t, \" c \"  "), expected);
  // Outside quotes a backslash is an ordinary byte (only a leading one means "own mailbox").
  EXPECT_EQ(parse_ok("a\\b").at(0).text, "a\\b");
}

TEST(AliasTarget, EmptyTargetsAreSkipped) {
  std::vector<AliasTarget> expected = {{Kind::kAddress, "a"}, {Kind::kAddress, "b"}};
  EXPECT_EQ(parse_ok(",a,, ,\"\",b,"), expected);
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok(" , ,\t").empty());
}

TEST(AliasTarget, Errors) {
  EXPECT_EQ(parse_error("alice, \"|/bin/foo").message, "unterminated quote");
  EXPECT_EQ(parse_error("\"abc\\").message, "unterminated quote");
  EXPECT_EQ(parse_error(":include:etc/aliases.d").message, ":include: needs an absolute path");
  EXPECT_EQ(parse_error(":include:").message, ":include: needs an absolute path");
  EXPECT_EQ(parse_error("a, |").message, "empty command after '|'");
  EXPECT_EQ(parse_error("\"|  \"").message, "empty command after '|'");
  EXPECT_EQ(parse_error("\\").message, "empty user name after '\\'");
  EXPECT_EQ(parse_error(std::string_view("a\0b", 3)).message, "NUL byte");
  EXPECT_EQ(parse_error(std::string_view("\"a\\\0\"", 5)).message, "NUL byte");
  EXPECT_EQ(parse_error("a\nb").message, "line break inside a target list");
  EXPECT_EQ(parse_error("\"a\rb\"").message, "line break inside a target list");
  EXPECT_EQ(parse_error("a, |").kind, ErrorKind::kParse);
}

TEST(AliasTarget, TargetCountAtTheLimit) {
  std::string list;
  for (size_t i = 0; i < kMaxAliasTargets; ++i) list += "u" + std::to_string(i) + ",";
  EXPECT_EQ(parse_ok(list).size(), kMaxAliasTargets);
  list += "one_more";
  Error error = parse_error(list);
  EXPECT_EQ(error.kind, ErrorKind::kLimit);
  EXPECT_EQ(error.message, "more than 1000 targets");
  // max_targets counts what is already in the vector (a .forward of several lines).
  std::vector<AliasTarget> targets;
  AliasTargetLimits limits{3, kMaxAliasTargetBytes};
  EXPECT_TRUE(append_alias_targets("a, b", limits, &targets).ok());
  EXPECT_TRUE(append_alias_targets("c", limits, &targets).ok());
  EXPECT_FALSE(append_alias_targets("d", limits, &targets).ok());
}

TEST(AliasTarget, TargetBytesAtTheLimit) {
  std::string longest(kMaxAliasTargetBytes, 'a');
  EXPECT_EQ(parse_ok(longest).at(0).text, longest);
  EXPECT_EQ(parse_error(longest + "a").kind, ErrorKind::kLimit);
  // Counted unquoted, prefix included; blanks around are not counted.
  EXPECT_EQ(parse_ok("  \"|" + std::string(kMaxAliasTargetBytes - 1, '"' - 1) + "\"   ").size(),
            1u);
  EXPECT_EQ(parse_error("|" + std::string(kMaxAliasTargetBytes, 'x')).message,
            "target longer than 4096 bytes");
  std::string escaped;
  for (size_t i = 0; i < kMaxAliasTargetBytes; ++i) escaped += "\\\"";
  EXPECT_EQ(parse_ok("\"" + escaped + "\"").at(0).text, std::string(kMaxAliasTargetBytes, '"'));
  EXPECT_FALSE(parse_alias_targets("\"" + escaped + "\\\\\"").ok());
}

TEST(AliasTarget, FormatIsCanonical) {
  EXPECT_EQ(format_alias_targets({{Kind::kAddress, "alice"},
                                  {Kind::kCommand, "/usr/bin/procmail -f-"},
                                  {Kind::kFile, "/var/log/x"},
                                  {Kind::kInclude, "/etc/mail/staff"},
                                  {Kind::kOwnMailbox, "carol"}}),
            "alice, |/usr/bin/procmail -f-, /var/log/x, :include:/etc/mail/staff, \\carol");
  EXPECT_EQ(format_alias_targets({{Kind::kCommand, "/bin/foo -a, \"b\\\""}}),
            "\"|/bin/foo -a, \\\"b\\\\\\\"\"");
  EXPECT_EQ(format_alias_targets({{Kind::kOwnMailbox, "c d\\"}}), "\"\\\\c d\\\\\"");
  EXPECT_EQ(format_alias_targets({{Kind::kAddress, " x"}}), "\" x\"");
  EXPECT_EQ(format_alias_targets({{Kind::kAddress, "#x"}, {Kind::kAddress, "y#"}}), "\"#x\", y#");
  EXPECT_EQ(format_alias_targets({}), "");
}

TEST(AliasTarget, RoundTripOfAwkwardTargets) {
  expect_round_trip({});
  expect_round_trip({{Kind::kCommand, "/usr/bin/foo -a, -b"},
                     {Kind::kCommand, " leading blank"},
                     {Kind::kCommand, "trailing blank\t"},
                     {Kind::kFile, "/a \"quoted\" \\ path,"},
                     {Kind::kFile, "/"},
                     {Kind::kInclude, "/x\x01\x7f\xff"},
                     {Kind::kOwnMailbox, "|not a command"},
                     {Kind::kOwnMailbox, " x "},
                     {Kind::kAddress, "\"@example.org"},
                     {Kind::kAddress, "a\tb"},
                     {Kind::kAddress, ":include"},
                     {Kind::kAddress, "#not a comment"}});
}

// Property: whatever the parser accepts formats to text it reads back as the same targets.
// Random lists over the bytes that matter to the syntax.
TEST(AliasTarget, RoundTripOfRandomLists) {
  const std::string alphabet = "\"\\,| /:a\tinclude#\x01";
  std::mt19937 random(12345);
  size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string list;
    size_t length = random() % 24;
    for (size_t i = 0; i < length; ++i) list += alphabet[random() % alphabet.size()];
    if (random() % 4 == 0) list = ":include:" + list;
    Result<std::vector<AliasTarget>> targets = parse_alias_targets(list);
    if (!targets) continue;
    ++accepted;
    SCOPED_TRACE(list);
    expect_round_trip(*targets);
    if (HasFailure()) break;
  }
  EXPECT_GT(accepted, 5000u);
}

// Every prefix of a list parses or fails cleanly (the byte-at-a-time check for a parser that
// takes the whole list).
TEST(AliasTarget, EveryPrefix) {
  std::string list = "alice, \"|/usr/bin/foo -a, \\\"b\\\"\", :include:/etc/x, \\bob, /var/y";
  for (size_t n = 0; n <= list.size(); ++n) {
    Result<std::vector<AliasTarget>> targets = parse_alias_targets(list.substr(0, n));
    if (targets) expect_round_trip(*targets);
  }
  EXPECT_EQ(parse_ok(list).size(), 5u);
}

TEST(AliasTarget, KindNames) {
  EXPECT_EQ(alias_target_kind_name(Kind::kAddress), "address");
  EXPECT_EQ(alias_target_kind_name(Kind::kOwnMailbox), "own mailbox");
}

}  // namespace
}  // namespace postern
