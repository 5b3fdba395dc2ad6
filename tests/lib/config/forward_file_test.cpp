// Tests for lib/config/forward_file.cpp: realistic .forward files, one list per line (no
// continuations), comments, CRLF and a last line without LF, each error with its line, and the
// limits (file bytes, targets in the whole file, bytes per target) at N and N+1.
#include "lib/config/forward_file.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern {
namespace {

using Kind = AliasTargetKind;

std::vector<AliasTarget> parse_ok(std::string_view text, const ForwardFileLimits& limits = {}) {
  Result<std::vector<AliasTarget>> targets = parse_forward(text, "/home/alice/.forward", limits);
  EXPECT_TRUE(targets.ok()) << (targets.ok() ? "" : targets.error().message);
  return targets.ok() ? std::move(targets).value() : std::vector<AliasTarget>();
}

Error parse_error(std::string_view text) {
  Result<std::vector<AliasTarget>> targets = parse_forward(text, "/home/alice/.forward");
  EXPECT_FALSE(targets.ok()) << "accepted: " << text.substr(0, 200);
  return targets.ok() ? Error{} : targets.error();
}

TEST(ForwardFile, Vacation) {
  std::vector<AliasTarget> expected = {{Kind::kOwnMailbox, "alice"},
                                       {Kind::kCommand, "/usr/bin/vacation alice"}};
  EXPECT_EQ(parse_ok("\\alice, \"|/usr/bin/vacation alice\"\n"), expected);
}

TEST(ForwardFile, SeveralLinesCommentsAndIndent) {
  std::vector<AliasTarget> expected = {
      {Kind::kAddress, "alice@example.org"},
      {Kind::kFile, "/home/alice/mail/saved"},
      {Kind::kCommand, "/usr/bin/procmail -f- -a \"$EXTENSION\""},
      {Kind::kAddress, "bob"},
      {Kind::kInclude, "/home/alice/more"},
  };
  EXPECT_EQ(parse_ok("# forward everything\n"
                     "alice@example.org\n"
                     "\n"
                     "/home/alice/mail/saved,\n"
                     "  \"|/usr/bin/procmail -f- -a \\\"$EXTENSION\\\"\"\n"
                     "   # indented comment\n"
                     "\tbob, :include:/home/alice/more"),
            expected);
}

TEST(ForwardFile, CrlfEmptyAndRoundTrip) {
  std::vector<AliasTarget> targets = parse_ok("a, \"|b, c\"\r\n\\d\r\n/e f\r\n");
  ASSERT_EQ(targets.size(), 4u);
  EXPECT_EQ(targets[3], (AliasTarget{Kind::kFile, "/e f"}));
  Result<std::vector<AliasTarget>> again = parse_alias_targets(format_alias_targets(targets));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, targets);
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("\n# nothing\r\n ,\n").empty());
}

TEST(ForwardFile, ErrorsNameTheLine) {
  struct Case {
    std::string text;
    std::string message;
    ErrorKind kind;
  };
  const std::vector<Case> cases = {
      {"a\n\"|/bin/x,\n  y\"\n", "/home/alice/.forward:2: unterminated quote", ErrorKind::kParse},
      {"a\n# c\n:include:x\n", "/home/alice/.forward:3: :include: needs an absolute path",
       ErrorKind::kParse},
      {"|\n", "/home/alice/.forward:1: empty command after '|'", ErrorKind::kParse},
      {"a\n\\ \n", "/home/alice/.forward:2: empty user name after '\\'", ErrorKind::kParse},
      {std::string("a\n# \0\n", 6), "/home/alice/.forward:2: NUL byte", ErrorKind::kParse},
      {"a\rb\n", "/home/alice/.forward:1: line break inside a target list", ErrorKind::kParse},
      {"a\n\n" + std::string(kMaxAliasTargetBytes + 1, 'x'),
       "/home/alice/.forward:3: target longer than 4096 bytes", ErrorKind::kLimit},
  };
  for (const Case& c : cases) {
    Error error = parse_error(c.text);
    EXPECT_EQ(error.message, c.message) << c.text;
    EXPECT_EQ(error.kind, c.kind) << c.text;
  }
}

TEST(ForwardFile, TargetsInTheFileAtTheLimit) {
  std::string text;
  for (size_t i = 0; i < kMaxForwardTargets; ++i) {
    text += "u" + std::to_string(i) + (i % 10 == 9 ? "\n" : ", ");
  }
  EXPECT_EQ(parse_ok(text).size(), kMaxForwardTargets);
  text += "# fine\n, ,\nlast";
  Error error = parse_error(text);
  EXPECT_EQ(error.kind, ErrorKind::kLimit);
  EXPECT_EQ(error.message, "/home/alice/.forward:13: more than 100 targets");
}

TEST(ForwardFile, FileBytesAtTheLimit) {
  std::string text = "alice\n#";
  text.resize(kMaxForwardFileBytes, '#');
  EXPECT_EQ(parse_ok(text).size(), 1u);
  text += '#';
  Error error = parse_error(text);
  EXPECT_EQ(error.kind, ErrorKind::kLimit);
  EXPECT_EQ(error.message, "/home/alice/.forward: file is larger than 65536 bytes");
}

TEST(ForwardFile, LargerLimitsForAnIncludeFile) {
  ForwardFileLimits limits;
  limits.targets.max_targets = 1000;
  std::string text;
  for (size_t i = 0; i < 1000; ++i) text += "u" + std::to_string(i) + "\n";
  EXPECT_EQ(parse_ok(text, limits).size(), 1000u);
  EXPECT_FALSE(parse_forward(text, "/etc/mail/staff").ok());
}

TEST(ForwardFile, EveryPrefix) {
  std::string text = "\\alice, \"|/usr/bin/vacation -a \\\"x, y\\\"\"\r\n# c\n/var/z, :include:/x";
  for (size_t n = 0; n <= text.size(); ++n) (void)parse_forward(text.substr(0, n), "f");
  EXPECT_EQ(parse_ok(text).size(), 4u);
}

}  // namespace
}  // namespace postern
