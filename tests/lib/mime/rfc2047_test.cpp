// Tests for lib/mime/rfc2047.cpp: B and Q words, adjacent words, unknown charsets and broken words.
#include "lib/mime/rfc2047.hpp"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(Rfc2047, DecodesWords) {
  EXPECT_EQ(decode_rfc2047("=?iso-8859-1?q?caf=E9?= x"), "caf\xc3\xa9 x");
  EXPECT_EQ(decode_rfc2047("=?UTF-8?B?SsO8cmdlbg==?="), "J\xc3\xbcrgen");
  EXPECT_EQ(decode_rfc2047("=?utf-8?Q?a_b?="), "a b");
  EXPECT_EQ(decode_rfc2047("plain text"), "plain text");
  EXPECT_EQ(decode_rfc2047("=?utf-8*en?q?x?="), "x");  // RFC 2231 language
}

TEST(Rfc2047, AdjacentWordsJoinAndKeepSplitCharacters) {
  // White space between two encoded words goes; a UTF-8 character split over two words is whole.
  EXPECT_EQ(decode_rfc2047("=?utf-8?q?J=C3?=\r\n =?utf-8?q?=BCrgen?="), "J\xc3\xbcrgen");
  EXPECT_EQ(decode_rfc2047("=?utf-8?q?a?= b =?utf-8?q?c?="), "a b c");
  EXPECT_EQ(decode_rfc2047("x =?utf-8?q?a?=  =?iso-8859-1?q?=E9?="), "x a\xc3\xa9");
}

TEST(Rfc2047, BrokenAndUnknownLeftAsWritten) {
  EXPECT_EQ(decode_rfc2047("=?x-none?q?abc?="), "=?x-none?q?abc?=");
  EXPECT_EQ(decode_rfc2047("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
  EXPECT_EQ(decode_rfc2047("=?utf-8?q?no end"), "=?utf-8?q?no end");
  EXPECT_EQ(decode_rfc2047("=?utf-8?q?sp ace?="), "=?utf-8?q?sp ace?=");
  EXPECT_EQ(decode_rfc2047("raw \xff"), "raw \xef\xbf\xbd");
  EXPECT_EQ(decode_rfc2047("a\r\n b"), "a b");
}

}  // namespace
}  // namespace postern
