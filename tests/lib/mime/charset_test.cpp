// Tests for lib/mime/charset.cpp: iconv conversion with replacement of bad bytes, and the simple
// case folding SEARCH uses (ASCII, Latin-1/Extended-A, Greek, Cyrillic).
#include "lib/mime/charset.hpp"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(Charset, ConvertsToUtf8) {
  EXPECT_EQ(charset_to_utf8("caf\xe9", "ISO-8859-1"), "caf\xc3\xa9");
  EXPECT_EQ(charset_to_utf8("\x80", "windows-1252"), "\xe2\x82\xac");
  EXPECT_EQ(charset_to_utf8("\"x\"", "\"us-ascii\""), "\"x\"");
  EXPECT_EQ(charset_to_utf8("\xc3\xa9", "UTF-8"), "\xc3\xa9");
  EXPECT_EQ(charset_to_utf8("a\xffz", "utf-8"), "a\xef\xbf\xbdz");
  EXPECT_EQ(charset_to_utf8("\x1b$B$3\x1b(B", "iso-2022-jp"), "\xe3\x81\x93");
  EXPECT_FALSE(charset_to_utf8("x", "no-such-charset"));
  // A byte invalid in the charset becomes U+FFFD and conversion goes on.
  EXPECT_EQ(charset_to_utf8("a\xff" "b", "shift_jis"), "a\xef\xbf\xbd" "b");
}

TEST(Charset, OutputIsUtf8WhateverNameIconvAccepts) {
  // glibc folds "u#tf-8" to UTF-8 and then lets a surrogate through (mime_fuzz, issue 10);
  // every charset's output must still be valid UTF-8.
  for (const char* name : {"u#tf-8", "UTF8//", "utf-16le", "cesu-8"}) {
    for (std::string_view bytes : {std::string_view("a\xed\xa0\x80z"), std::string_view("\xf8\x88\x80\x80\x80"),
                                   std::string_view("\x00\xd8\x41\x00", 4)}) {
      std::optional<std::string> text = charset_to_utf8(bytes, name);
      if (!text) continue;  // a name this glibc does not know
      EXPECT_EQ(sanitize_utf8(*text), *text) << name;
    }
  }
  EXPECT_EQ(charset_to_utf8("a\xed\xa0\x80z", "u#tf-8").value_or(""),
            sanitize_utf8("a\xed\xa0\x80z"));
}

TEST(Charset, Sanitize) {
  EXPECT_EQ(sanitize_utf8("ok \xe2\x82\xac"), "ok \xe2\x82\xac");
  EXPECT_EQ(sanitize_utf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong
  EXPECT_EQ(sanitize_utf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(sanitize_utf8("\xe2\x82"), "\xef\xbf\xbd\xef\xbf\xbd");  // cut short
}

TEST(Charset, CaseFolding) {
  EXPECT_EQ(utf8_casefold("HeLLo"), "hello");
  EXPECT_EQ(utf8_casefold("CAF\xc3\x89"), "caf\xc3\xa9");               // É -> é
  EXPECT_EQ(utf8_casefold("\xc5\x81\xc3\x93" "D\xc5\xb9"), "\xc5\x82\xc3\xb3" "d\xc5\xba");  // ŁÓDŹ
  EXPECT_EQ(utf8_casefold("\xce\xa3\xce\xbf\xcf\x82"), "\xcf\x83\xce\xbf\xcf\x83");  // Σος -> σοσ
  EXPECT_EQ(utf8_casefold("\xd0\x9f\xd0\xa0\xd0\x98"), "\xd0\xbf\xd1\x80\xd0\xb8");  // ПРИ
  EXPECT_EQ(utf8_casefold("\xc3\x9f"), "\xc3\x9f");  // ß: no simple folding to "ss"
}

TEST(Charset, Contains) {
  EXPECT_TRUE(utf8_contains_casefold("Hello World", "WORLD"));
  EXPECT_TRUE(utf8_contains_casefold("Gr\xc3\x9c\xc3\x9f" "e", "gr\xc3\xbc"));
  EXPECT_TRUE(utf8_contains_casefold("anything", ""));
  EXPECT_FALSE(utf8_contains_casefold("abc", "abcd"));
  EXPECT_TRUE(utf8_contains_folded("\xd0\x9c\xd0\x98\xd0\xa0", utf8_casefold("\xd0\xbc\xd0\xb8")));
}

}  // namespace
}  // namespace postern
