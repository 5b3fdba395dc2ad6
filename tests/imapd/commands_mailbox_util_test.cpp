// Unit tests for imapd/commands_mailbox_util.cpp: APPEND's date-time (each field at its bounds,
// the three day forms, zones, impossible dates), APPEND's flag lists (system flags, keywords,
// \Recent refused, the keyword count and length limits at N and N+1), number arguments (no
// leading zeros, overflow) and folder name arguments (INBOX normalised, bad names refused).
#include "imapd/commands_mailbox_util.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::imapd {
namespace {

ImapToken flag_list(const std::string& text) {
  auto command = parse_imap_command("a APPEND x " + text + "\r\n");
  EXPECT_TRUE(command.ok()) << text;
  return command.ok() ? command->args[1] : ImapToken{};
}

TEST(AppendDateTimeTest, ParsesAllDayForms) {
  int64_t seconds = 0;
  int32_t zone = 0;
  ASSERT_TRUE(parse_append_date_time("05-Mar-2024 10:20:30 +0100", &seconds, &zone));
  EXPECT_EQ(seconds, 1709630430);  // 2024-03-05 09:20:30 UTC
  EXPECT_EQ(zone, 60);
  ASSERT_TRUE(parse_append_date_time(" 5-Mar-2024 10:20:30 -0230", &seconds, &zone));
  EXPECT_EQ(zone, -150);
  EXPECT_EQ(seconds, 1709634030 + 150 * 60);
  ASSERT_TRUE(parse_append_date_time("5-mar-2024 10:20:30 +0000", &seconds, &zone));
  EXPECT_EQ(seconds, 1709634030);
  ASSERT_TRUE(parse_append_date_time("29-Feb-2024 23:59:59 +2359", &seconds, &zone));
}

TEST(AppendDateTimeTest, RefusesBadDates) {
  int64_t seconds = 0;
  int32_t zone = 0;
  for (const char* bad :
       {"", "05-Mar-24 10:20:30 +0000", "05-Foo-2024 10:20:30 +0000", "31-Feb-2024 10:00:00 +0000",
        "29-Feb-2023 10:00:00 +0000", "05-Mar-2024 24:00:00 +0000", "05-Mar-2024 10:60:00 +0000",
        "05-Mar-2024 10:20:61 +0000", "05-Mar-2024 10:20:30 +2400", "05-Mar-2024 10:20:30 +0060",
        "05-Mar-2024 10:20:30 0000", "05-Mar-2024 10:20:30 +000", "05-Mar-2024 10:20:30 +00000",
        "00-Mar-2024 10:20:30 +0000", "05-Mar-2024  10:20:30 +0000", "05-Mar-2024 10:20:30"}) {
    EXPECT_FALSE(parse_append_date_time(bad, &seconds, &zone)) << bad;
  }
}

TEST(AppendFlagsTest, SystemFlagsAndKeywords) {
  auto flags = parse_append_flags(flag_list("(\\Seen \\deleted $Junk $Forwarded $Junk)"));
  ASSERT_TRUE(flags.ok()) << flags.error().message;
  EXPECT_EQ(flags->system, kFlagSeen | kFlagDeleted);
  EXPECT_EQ(flags->keywords, (std::vector<std::string>{"$Forwarded", "$Junk"}));
  EXPECT_FALSE(parse_append_flags(flag_list("(\\Recent)")).ok());
  EXPECT_FALSE(parse_append_flags(flag_list("(\\Bogus)")).ok());
  EXPECT_FALSE(parse_append_flags(flag_list("(\"quoted\")")).ok());
}

TEST(AppendFlagsTest, NilIsNotAKeyword) {
  // NIL matches flag-keyword = atom (RFC 3501 9) and Dovecot 2.3 takes it, but a client's
  // generic parser reads FLAGS (NIL) as an empty value: refused, in any case (issue 10).
  for (const char* list : {"(\\Seen NIL $Junk)", "(nil)", "(Nil)"}) {
    auto flags = parse_append_flags(flag_list(list));
    ASSERT_FALSE(flags.ok()) << list;
    EXPECT_EQ(flags.error().message, "BAD Invalid keyword NIL") << list;
  }
  // Keywords that only start with NIL are ordinary.
  auto nils = parse_append_flags(flag_list("(NILS $Nil NIL2)"));
  ASSERT_TRUE(nils.ok());
  EXPECT_EQ(nils->keywords, (std::vector<std::string>{"$Nil", "NIL2", "NILS"}));
}

TEST(AppendFlagsTest, KeywordLimits) {
  std::string at_limit = "(";
  for (size_t i = 0; i < kMaxKeywordsPerMessage; ++i) at_limit += "k" + std::to_string(i) + " ";
  at_limit.back() = ')';
  EXPECT_TRUE(parse_append_flags(flag_list(at_limit)).ok());
  std::string over = at_limit;
  over.back() = ' ';
  over += "extra)";
  EXPECT_FALSE(parse_append_flags(flag_list(over)).ok());
  EXPECT_TRUE(parse_append_flags(flag_list("(" + std::string(kMaxKeywordBytes, 'k') + ")")).ok());
  EXPECT_FALSE(
      parse_append_flags(flag_list("(" + std::string(kMaxKeywordBytes + 1, 'k') + ")")).ok());
}

TEST(NumberArgumentTest, Bounds) {
  EXPECT_EQ(number_argument("0", 10), 0u);
  EXPECT_EQ(number_argument("4294967295", UINT32_MAX), 4294967295u);
  EXPECT_FALSE(number_argument("4294967296", UINT32_MAX));
  EXPECT_FALSE(number_argument("007", 100));
  EXPECT_FALSE(number_argument("", 100));
  EXPECT_FALSE(number_argument("1a", 100));
  EXPECT_FALSE(number_argument("99999999999999999999999", UINT64_MAX));
}

TEST(FolderNameArgumentTest, NormalisesAndChecks) {
  ImapToken token;
  token.text = "inbox";
  EXPECT_EQ(*folder_name_argument(token), "INBOX");
  token.text = "Work.";
  EXPECT_EQ(*folder_name_argument(token, true), "Work");
  EXPECT_FALSE(folder_name_argument(token, false).ok());
  for (const char* bad : {"", "a..b", ".a", "a/b", "Entw\xc3\xbcrfe", "&AGE-", "a&b"}) {
    token.text = bad;
    auto name = folder_name_argument(token);
    ASSERT_FALSE(name.ok()) << bad;
    EXPECT_EQ(name.error().message.substr(0, 3), "NO ") << bad;
  }
  ImapToken list;
  list.kind = ImapToken::Kind::kList;
  EXPECT_EQ(folder_name_argument(list).error().message.substr(0, 4), "BAD ");
}

}  // namespace
}  // namespace postern::imapd
