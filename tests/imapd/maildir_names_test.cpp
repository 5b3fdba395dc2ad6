// Tests for imapd/maildir_names: splitting Maildir file names, flag letters, ",X=" fields and
// arrival order, including hostile names (junk letters, overflowing numbers).
#include "imapd/maildir_names.hpp"

#include <gtest/gtest.h>

#include "imapd/mailbox_types.hpp"

namespace postern::imapd {
namespace {

TEST(MaildirNames, SplitsBaseAndInfo) {
  MaildirName n = split_maildir_name("123.M4P5Q6.host,S=10:2,FS");
  EXPECT_EQ(n.base, "123.M4P5Q6.host,S=10");
  EXPECT_EQ(n.info, "FS");
  EXPECT_TRUE(n.has_info);
  MaildirName bare = split_maildir_name("123.M4P5Q6.host,S=10");
  EXPECT_EQ(bare.base, "123.M4P5Q6.host,S=10");
  EXPECT_FALSE(bare.has_info);
}

TEST(MaildirNames, PlausibleNames) {
  EXPECT_TRUE(plausible_message_name("1.2.host"));
  EXPECT_FALSE(plausible_message_name(""));
  EXPECT_FALSE(plausible_message_name(".hidden"));
  EXPECT_FALSE(plausible_message_name("a/b"));
  EXPECT_TRUE(plausible_message_name(std::string(kMaxMaildirNameBytes, 'x')));
  EXPECT_FALSE(plausible_message_name(std::string(kMaxMaildirNameBytes + 1, 'x')));
}

TEST(MaildirNames, FlagsFromInfo) {
  EXPECT_EQ(flags_from_info("DFRST"),
            kFlagDraft | kFlagFlagged | kFlagAnswered | kFlagSeen | kFlagDeleted);
  EXPECT_EQ(flags_from_info("Pab"), 0);
  EXPECT_EQ(flags_from_info("S"), kFlagSeen);
}

TEST(MaildirNames, InfoKeepsOtherLettersInOrder) {
  EXPECT_EQ(info_for_flags(kFlagSeen | kFlagDraft, "", ""), "DS");
  // P kept, old system and keyword letters replaced by the new ones, junk dropped.
  EXPECT_EQ(info_for_flags(kFlagFlagged, "", "PSa,\x01"), "FP");
  EXPECT_EQ(info_for_flags(kFlagFlagged, "cb", "PSa"), "FPbc");
  EXPECT_EQ(info_for_flags(0, "", "T"), "");
}

TEST(MaildirNames, BaseFields) {
  EXPECT_EQ(base_field("1.M2.h,S=10,W=12,P=7", 'P'), 7u);
  EXPECT_EQ(base_field("1.M2.h,S=10,W=12,P=7", 'W'), 12u);
  EXPECT_EQ(base_field("1.M2.h,S=10", 'P'), std::nullopt);
  EXPECT_EQ(base_field("1.M2.h,P=", 'P'), std::nullopt);
  EXPECT_EQ(base_field("1.M2.h,P=12x", 'P'), std::nullopt);
  EXPECT_EQ(base_field("1.M2.h,P=99999999999999999999", 'P'), std::nullopt);  // overflow
  EXPECT_EQ(with_base_field("1.h,S=10", 'P', 5), "1.h,S=10,P=5");
  EXPECT_EQ(with_base_field("1.h,P=3,S=10", 'P', 5), "1.h,P=5,S=10");
  EXPECT_EQ(with_base_field("1.h,S=10,P=3", 'P', 42), "1.h,S=10,P=42");
}

TEST(MaildirNames, ArrivalKey) {
  ArrivalKey a = arrival_key("1700000000.M123P9Q1.host");
  EXPECT_EQ(a.seconds, 1700000000);
  EXPECT_EQ(a.micros, 123);
  ArrivalKey b = arrival_key("1700000000.other");
  EXPECT_EQ(b.seconds, 1700000000);
  EXPECT_EQ(b.micros, 0);
  EXPECT_EQ(arrival_key("junk").seconds, -1);
}

}  // namespace
}  // namespace postern::imapd
