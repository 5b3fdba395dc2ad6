// Tests for imapd/maildir_keywords.cpp: Dovecot's dovecot-keywords file and the keyword letters
// of Maildir file names. The sample file is what Dovecot 2.3.19 wrote for five keywords set
// over IMAP (checked by hand with the throwaway Dovecot of tests/harness/imap_support.py).
#include "imapd/maildir_keywords.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "imapd/mailbox_types.hpp"

namespace postern::imapd {
namespace {

using Words = std::vector<std::string>;

TEST(MaildirKeywords, ReadsDovecotsFile) {
  MaildirKeywords keywords =
      MaildirKeywords::parse("0 $Forwarded\n1 Junk\n2 $label1\n3 zeta\n4 NonJunk\n");
  EXPECT_EQ(keywords.keywords_in("Sabe"), (Words{"$Forwarded", "Junk", "NonJunk"}));
  EXPECT_EQ(keywords.keywords_in("cd"), (Words{"$label1", "zeta"}));
  EXPECT_EQ(keywords.keywords_in("PRSTz"), Words{});  // z: no keyword 25
  EXPECT_TRUE(keywords.has_letter("Junk"));
  EXPECT_FALSE(keywords.has_letter("junk"));
  EXPECT_EQ(keywords.text(), "0 $Forwarded\n1 Junk\n2 $label1\n3 zeta\n4 NonJunk\n");
}

TEST(MaildirKeywords, HostileLinesAreIgnored) {
  MaildirKeywords keywords = MaildirKeywords::parse(
      "26 past_z\n-1 minus\nx word\n 1 lead\n1\n1 \n1 two words\n1 paren(\n1 \\Seen\n"
      "3 ok\n3 second_for_3\n4 ok\n5 " +
      std::string(kMaxKeywordBytes + 1, 'k') + "\n7 last-no-newline");
  EXPECT_EQ(keywords.text(), "3 ok\n7 last-no-newline\n");
  EXPECT_EQ(MaildirKeywords::parse(std::string(kMaxKeywordsFileBytes * 2, '\n')).text(), "");
}

TEST(MaildirKeywords, LettersAreGivenOutLowestFirstUpTo26) {
  MaildirKeywords keywords = MaildirKeywords::parse("1 $Junk\n");
  EXPECT_EQ(keywords.letters_for({"$Junk"}), "b");
  EXPECT_FALSE(keywords.changed());
  EXPECT_EQ(keywords.letters_for({"$Seen1", "$Junk", "$Other"}), "abc");
  EXPECT_TRUE(keywords.changed());
  EXPECT_EQ(keywords.text(), "0 $Seen1\n1 $Junk\n2 $Other\n");
  Words many;
  for (int i = 0; i < 40; ++i) many.push_back("k" + std::to_string(i));
  std::string letters = keywords.letters_for(many);
  EXPECT_EQ(letters.size(), kKeywordLetters - 3);  // the 23 free letters; the rest: index only
  EXPECT_EQ(letters.front(), 'd');
  EXPECT_EQ(letters.back(), 'z');
  EXPECT_EQ(keywords.letters_for({"k39"}), "");
}

TEST(MaildirKeywords, LettersOfInfo) {
  EXPECT_EQ(keyword_letters_of("FPSca,a\x01"), "ac");
  EXPECT_EQ(keyword_letters_of("DS"), "");
}

}  // namespace
}  // namespace postern::imapd
