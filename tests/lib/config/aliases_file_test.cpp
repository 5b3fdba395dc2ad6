// Tests for lib/config/aliases_file.cpp: a realistic Debian /etc/aliases, names (quoted,
// lower-cased), continuation lines, comments, CRLF and a last line without LF, each error with
// its file:line, duplicates (first wins, warning), and each limit at N and N+1.
#include "lib/config/aliases_file.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern {
namespace {

using Kind = AliasTargetKind;

AliasEntries parse_ok(std::string_view text, std::vector<ConfigWarning>* warnings = nullptr) {
  std::vector<ConfigWarning> local;
  Result<AliasEntries> entries = parse_aliases(text, "/etc/aliases", warnings ? warnings : &local);
  EXPECT_TRUE(entries.ok()) << (entries.ok() ? "" : entries.error().message);
  return entries.ok() ? std::move(entries).value() : AliasEntries();
}

Error parse_error(std::string_view text) {
  std::vector<ConfigWarning> warnings;
  Result<AliasEntries> entries = parse_aliases(text, "/etc/aliases", &warnings);
  EXPECT_FALSE(entries.ok()) << "accepted: " << text.substr(0, 200);
  return entries.ok() ? Error{} : entries.error();
}

constexpr std::string_view kDebianAliases =
    "# /etc/aliases\n"
    "mailer-daemon: postmaster\n"
    "postmaster: root\n"
    "nobody: root\n"
    "hostmaster: root\n"
    "\n"
    "# Well-known aliases\n"
    "usenet: root\n"
    "webmaster: root\n"
    "abuse:\troot\n"
    "Root: alice, \\root\n"
    "\"Support Desk\": alice,\n"
    "    \"|/usr/bin/ticket --queue support, --verbose\",\n"
    "    /var/log/support.mbox\n"
    "# a comment between entries does not end the one before it\n"
    "    , bob@example.org\n"
    "staff:\n"
    "\t:include:/etc/mail/staff.list\n"
    "majordomo: \"|/usr/lib/majordomo/wrapper majordomo\"\n"
    "archive : /var/mail/archive\n";

TEST(AliasesFile, DebianAliases) {
  std::vector<ConfigWarning> warnings;
  AliasEntries entries = parse_ok(kDebianAliases, &warnings);
  EXPECT_TRUE(warnings.empty());
  ASSERT_EQ(entries.size(), 12u);
  EXPECT_EQ(entries[0], (AliasEntry{"mailer-daemon", {{Kind::kAddress, "postmaster"}}, 2}));
  EXPECT_EQ(entries[1], (AliasEntry{"postmaster", {{Kind::kAddress, "root"}}, 3}));
  EXPECT_EQ(entries[6], (AliasEntry{"abuse", {{Kind::kAddress, "root"}}, 10}));
  EXPECT_EQ(entries[7],
            (AliasEntry{"root", {{Kind::kAddress, "alice"}, {Kind::kOwnMailbox, "root"}}, 11}));
  EXPECT_EQ(entries[8], (AliasEntry{"support desk",
                                    {{Kind::kAddress, "alice"},
                                     {Kind::kCommand, "/usr/bin/ticket --queue support, --verbose"},
                                     {Kind::kFile, "/var/log/support.mbox"},
                                     {Kind::kAddress, "bob@example.org"}},
                                    12}));
  EXPECT_EQ(entries[9], (AliasEntry{"staff", {{Kind::kInclude, "/etc/mail/staff.list"}}, 17}));
  EXPECT_EQ(
      entries[10],
      (AliasEntry{"majordomo", {{Kind::kCommand, "/usr/lib/majordomo/wrapper majordomo"}}, 19}));
  EXPECT_EQ(entries[11], (AliasEntry{"archive", {{Kind::kFile, "/var/mail/archive"}}, 20}));
}

TEST(AliasesFile, EveryEntryRoundTrips) {
  for (const AliasEntry& entry : parse_ok(kDebianAliases)) {
    Result<std::vector<AliasTarget>> again =
        parse_alias_targets(format_alias_targets(entry.targets));
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(*again, entry.targets) << entry.name;
  }
}

// The byte-at-a-time check for a whole-file parser: every prefix parses or fails cleanly.
TEST(AliasesFile, EveryPrefix) {
  for (size_t n = 0; n <= kDebianAliases.size(); ++n) {
    std::vector<ConfigWarning> warnings;
    (void)parse_aliases(kDebianAliases.substr(0, n), "/etc/aliases", &warnings);
  }
}

TEST(AliasesFile, CrlfAndNoFinalNewline) {
  AliasEntries entries = parse_ok("a: b\r\n  , c\r\n# x\r\nd: \"|e f\"\r\ng: h");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].targets,
            (std::vector<AliasTarget>{{Kind::kAddress, "b"}, {Kind::kAddress, "c"}}));
  EXPECT_EQ(entries[1].targets, (std::vector<AliasTarget>{{Kind::kCommand, "e f"}}));
  EXPECT_EQ(entries[2], (AliasEntry{"g", {{Kind::kAddress, "h"}}, 5}));
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("# only a comment\n\n   \n").empty());
}

TEST(AliasesFile, QuotedNames) {
  AliasEntries entries = parse_ok("\"A \\\"B\\\" c\" : x\n\"x:y\":z\n");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].name, "a \"b\" c");
  EXPECT_EQ(entries[1].name, "x:y");
}

TEST(AliasesFile, DuplicateNamesFirstWins) {
  std::vector<ConfigWarning> warnings;
  AliasEntries entries = parse_ok("root: alice\n# c\nROOT: bob\nother: x\n", &warnings);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].targets.at(0).text, "alice");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].describe(),
            "/etc/aliases:3: duplicate alias \"root\" ignored (the entry of line 1 is used)");
}

TEST(AliasesFile, ErrorsNameFileAndLine) {
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"a: b\nno colon here\n",
       "/etc/aliases:2: no ':' after the name (a name with blanks must "
       "be quoted)"},
      {"a: b\n\nnocolon\n", "/etc/aliases:3: no ':' after the name"},
      {"a: b\n: c\n", "/etc/aliases:2: empty name"},
      {"a: b\n\"\": c\n", "/etc/aliases:2: empty name"},
      {"a: b\n\"open: c\n", "/etc/aliases:2: unterminated quote in the name"},
      {"a: b\n\"q\" x: c\n", "/etc/aliases:2: ':' expected after the quoted name"},
      {"a: b\nx\"y: c\n", "/etc/aliases:2: a quote or comma inside an unquoted name"},
      {"a: b\nx\x01y: c\n", "/etc/aliases:2: control character in the name"},
      {"a: b\nc: \"|/bin/x\n", "/etc/aliases:2: unterminated quote"},
      {"a: b\nc: d,\n  :include:etc/x\n", "/etc/aliases:2: :include: needs an absolute path"},
      {"a: b\nc:\n", "/etc/aliases:2: empty target list"},
      {"a: b\nc: , ,\n\n", "/etc/aliases:2: empty target list"},
      {"a: b\nc: |\n", "/etc/aliases:2: empty command after '|'"},
      {"  a: b\n", "/etc/aliases:1: continuation line before the first entry"},
      {"# c\n\n\tx\n", "/etc/aliases:3: continuation line before the first entry"},
      {"a: b\nc: d\r\x01\n", "/etc/aliases:2: line break inside a target list"},
      {std::string("a: b\n# c\nd: \0e\n", 14), "/etc/aliases:3: NUL byte"},
      {std::string("a: b\n# \0\n", 9), "/etc/aliases:2: NUL byte"},
  };
  for (const Case& c : cases) {
    Error error = parse_error(c.text);
    EXPECT_EQ(error.message, c.message) << c.text;
    EXPECT_EQ(error.kind, ErrorKind::kParse) << c.text;
  }
}

TEST(AliasesFile, NameBytesAtTheLimit) {
  std::string name(kMaxAliasNameBytes, 'n');
  EXPECT_EQ(parse_ok(name + ": x\n").at(0).name, name);
  EXPECT_EQ(parse_ok("\"" + name + "\": x\n").at(0).name, name);
  for (const std::string& text :
       {name + "n: x\n", "a: b\n\"" + name + "n\": x\n", "a: b\n" + name + "nnnn"}) {
    Error error = parse_error(text);
    EXPECT_EQ(error.kind, ErrorKind::kLimit);
    EXPECT_EQ(error.message.substr(error.message.find(": ") + 2), "name longer than 255 bytes");
  }
}

TEST(AliasesFile, TargetsPerEntryAtTheLimit) {
  std::string entry = "list:";
  for (size_t i = 0; i < kMaxAliasTargets; ++i) entry += "\n  u" + std::to_string(i) + ",";
  EXPECT_EQ(parse_ok(entry).at(0).targets.size(), kMaxAliasTargets);
  Error error = parse_error("a: b\n" + entry + "\n  u");
  EXPECT_EQ(error.kind, ErrorKind::kLimit);
  EXPECT_EQ(error.message, "/etc/aliases:2: more than 1000 targets");
}

TEST(AliasesFile, TargetBytesAtTheLimit) {
  std::string target(kMaxAliasTargetBytes, 't');
  EXPECT_EQ(parse_ok("a: " + target + "\n").at(0).targets.at(0).text, target);
  Error error = parse_error("a: " + target + "t\n");
  EXPECT_EQ(error.kind, ErrorKind::kLimit);
  EXPECT_EQ(error.message, "/etc/aliases:1: target longer than 4096 bytes");
}

TEST(AliasesFile, FileBytesAtTheLimit) {
  std::string text = "a: b\n#";
  text.resize(kMaxAliasFileBytes, 'c');
  EXPECT_EQ(parse_ok(text).size(), 1u);
  text += 'c';
  Error error = parse_error(text);
  EXPECT_EQ(error.kind, ErrorKind::kLimit);
  EXPECT_EQ(error.message, "/etc/aliases: file is larger than 67108864 bytes");
}

}  // namespace
}  // namespace postern
