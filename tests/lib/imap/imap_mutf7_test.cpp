// Unit tests for lib/imap/imap_mutf7.cpp: the RFC 3501 examples, round trips over every kind of
// character (ASCII, "&", Latin-1, CJK, astral planes via surrogate pairs), and each way a
// name can be malformed or non-canonical (raw 8-bit, unescaped '&', bad base64, encoded
// printable ASCII, empty/adjacent/unterminated runs, padding bits, lone surrogates).
#include "lib/imap/imap_mutf7.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

std::string encode(std::string_view utf8) {
  auto result = mutf7_encode(utf8);
  EXPECT_TRUE(result.ok()) << result.error().describe();
  return result.ok() ? *result : std::string("<error>");
}

std::string decode(std::string_view mutf7) {
  auto result = mutf7_decode(mutf7);
  EXPECT_TRUE(result.ok()) << mutf7 << ": " << result.error().describe();
  return result.ok() ? *result : std::string("<error>");
}

TEST(Mutf7Test, AsciiStandsForItself) {
  EXPECT_EQ(encode("INBOX.Sent Items"), "INBOX.Sent Items");
  EXPECT_EQ(decode("INBOX.Sent Items"), "INBOX.Sent Items");
  EXPECT_EQ(encode(""), "");
  EXPECT_EQ(decode(""), "");
}

TEST(Mutf7Test, AmpersandIsEscaped) {
  EXPECT_EQ(encode("Tom & Jerry"), "Tom &- Jerry");
  EXPECT_EQ(decode("Tom &- Jerry"), "Tom & Jerry");
  EXPECT_EQ(encode("&&"), "&-&-");
  EXPECT_EQ(decode("&-&-"), "&&");
}

TEST(Mutf7Test, Rfc3501Example) {
  // "~peter/mail/台北/日本語" from RFC 3501 5.1.3.
  const std::string utf8 =
      "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";
  EXPECT_EQ(encode(utf8), "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
  EXPECT_EQ(decode("~peter/mail/&U,BTFw-/&ZeVnLIqe-"), utf8);
}

TEST(Mutf7Test, GermanFolderName) {
  EXPECT_EQ(encode("Entw\xc3\xbcrfe"), "Entw&APw-rfe");
  EXPECT_EQ(decode("Entw&APw-rfe"), "Entw\xc3\xbcrfe");
  EXPECT_EQ(encode("Gel\xc3\xb6schte Elemente"), "Gel&APY-schte Elemente");
}

TEST(Mutf7Test, RunLengthsOfOneTwoAndThreeUnits) {
  EXPECT_EQ(encode("\xc3\xa4"), "&AOQ-");                       // 16 bits: 3 chars
  EXPECT_EQ(encode("\xc3\xa4\xc3\xa4"), "&AOQA5A-");            // 32 bits: 6 chars
  EXPECT_EQ(encode("\xc3\xa4\xc3\xa4\xc3\xa4"), "&AOQA5ADk-");  // 48 bits: 8 chars
  for (const char* text : {"\xc3\xa4", "\xc3\xa4\xc3\xa4", "\xc3\xa4\xc3\xa4\xc3\xa4",
                           "a\xc3\xa4"
                           "b\xc3\xa4\xc3\xa4"
                           "c"}) {
    EXPECT_EQ(decode(encode(text)), text);
  }
}

TEST(Mutf7Test, ControlCharactersAreEncoded) {
  EXPECT_EQ(encode(std::string("a\tb", 3)), "a&AAk-b");
  EXPECT_EQ(decode("a&AAk-b"), "a\tb");
  EXPECT_EQ(encode("\x7f"), "&AH8-");
}

TEST(Mutf7Test, AstralPlaneUsesSurrogatePair) {
  const std::string emoji = "\xf0\x9f\x93\xa7";  // U+1F4E7
  const std::string encoded = encode(emoji);
  EXPECT_EQ(encoded, "&2D3c5w-");
  EXPECT_EQ(decode(encoded), emoji);
}

TEST(Mutf7Test, RoundTripAllBmpSamples) {
  // A sweep over the BMP (skipping surrogates) in steps, each code point between ASCII.
  for (uint32_t cp = 0x80; cp < 0x10000; cp += 97) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    std::string utf8;
    if (cp < 0x800) {
      utf8 = {static_cast<char>(0xc0 | (cp >> 6)), static_cast<char>(0x80 | (cp & 0x3f))};
    } else {
      utf8 = {static_cast<char>(0xe0 | (cp >> 12)), static_cast<char>(0x80 | ((cp >> 6) & 0x3f)),
              static_cast<char>(0x80 | (cp & 0x3f))};
    }
    const std::string text = "x" + utf8 + "y";
    auto encoded = mutf7_encode(text);
    ASSERT_TRUE(encoded.ok()) << cp;
    auto decoded = mutf7_decode(*encoded);
    ASSERT_TRUE(decoded.ok()) << cp << " " << *encoded;
    EXPECT_EQ(*decoded, text) << cp;
  }
}

TEST(Mutf7Test, EncodeRejectsInvalidUtf8) {
  EXPECT_FALSE(mutf7_encode("\xc3").ok());              // truncated
  EXPECT_FALSE(mutf7_encode("\xc0\xa4").ok());          // overlong
  EXPECT_FALSE(mutf7_encode("\xed\xa0\x80").ok());      // surrogate U+D800
  EXPECT_FALSE(mutf7_encode("\xf4\x90\x80\x80").ok());  // over U+10FFFF
  EXPECT_FALSE(mutf7_encode("\xff").ok());
  EXPECT_FALSE(mutf7_encode("a\x80").ok());  // stray continuation byte
}

TEST(Mutf7Test, DecodeRejectsRawBytes) {
  EXPECT_FALSE(mutf7_valid("Entw\xc3\xbcrfe"));  // raw UTF-8
  EXPECT_FALSE(mutf7_valid(std::string("a\0b", 3)));
  EXPECT_FALSE(mutf7_valid("a\tb"));
  EXPECT_FALSE(mutf7_valid("a\x7f"));
}

TEST(Mutf7Test, DecodeRejectsUnescapedAmpersand) {
  EXPECT_FALSE(mutf7_valid("&"));
  EXPECT_FALSE(mutf7_valid("Tom & Jerry"));  // "& " is not a base64 run
  EXPECT_FALSE(mutf7_valid("a&&-"));
}

TEST(Mutf7Test, DecodeRejectsBadBase64) {
  EXPECT_FALSE(mutf7_valid("&AO/-"));   // '/' is ',' in modified base64
  EXPECT_FALSE(mutf7_valid("&AOQ=-"));  // no padding
  EXPECT_FALSE(mutf7_valid("&AO.Q-"));
}

TEST(Mutf7Test, DecodeRejectsNonCanonicalForms) {
  EXPECT_FALSE(mutf7_valid("&AGE-"));       // 'a' encoded
  EXPECT_FALSE(mutf7_valid("&ACY-"));       // '&' encoded instead of "&-"
  EXPECT_FALSE(mutf7_valid("&AOQ-&AOQ-"));  // adjacent runs: must be one run
  EXPECT_TRUE(mutf7_valid("&AOQA5A-"));     // ... like this
  EXPECT_TRUE(mutf7_valid("&AOQ-&-"));      // a run then an escaped '&' is fine
  EXPECT_FALSE(mutf7_valid("&AOR-"));       // padding bits not zero
  EXPECT_FALSE(mutf7_valid("&AOQA-"));      // superfluous base64 character
  EXPECT_TRUE(mutf7_valid("&-&-&--"));      // a '-' after "&-" is a plain '-'
  EXPECT_FALSE(mutf7_valid("&AAA-"));       // U+0000 is never part of a name
  EXPECT_FALSE(mutf7_encode(std::string("a\0b", 3)).ok());
}

TEST(Mutf7Test, DecodeRejectsEmptyAndUnterminatedRuns) {
  EXPECT_FALSE(mutf7_valid("&AOQ"));
  EXPECT_FALSE(mutf7_valid("abc&"));
  EXPECT_FALSE(mutf7_valid("&,-"));  // six bits: no whole UTF-16 unit
  auto result = mutf7_decode("&AOQ");
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error().message.find("unterminated"), std::string::npos);
}

TEST(Mutf7Test, DecodeRejectsBadSurrogates) {
  EXPECT_FALSE(mutf7_valid("&2D0-"));       // high surrogate alone
  EXPECT_FALSE(mutf7_valid("&3Oc-"));       // low surrogate alone
  EXPECT_FALSE(mutf7_valid("&2D0AZQ-"));    // high then a non-surrogate
  EXPECT_FALSE(mutf7_valid("&2D0-&3Oc-"));  // a pair split over two runs
  EXPECT_TRUE(mutf7_valid("&2D3c5w-"));
}

TEST(Mutf7Test, EverySingleCharacterMutationIsValidOnlyIfCanonical) {
  // Any string that decodes must encode back to itself: one spelling per name.
  const std::string base = "Entw&APw-rfe/&ZeVnLIqe-&-x";
  const std::string alphabet = "&-AZaz09+,/=.\x80 ";
  for (size_t i = 0; i <= base.size(); ++i) {
    for (char c : alphabet) {
      for (int mode = 0; mode < 2; ++mode) {
        std::string mutated = base;
        if (mode == 0) {
          mutated.insert(i, 1, c);
        } else if (i < base.size()) {
          mutated[i] = c;
        }
        auto decoded = mutf7_decode(mutated);
        if (!decoded.ok()) continue;
        auto again = mutf7_encode(*decoded);
        ASSERT_TRUE(again.ok());
        EXPECT_EQ(*again, mutated);
      }
    }
  }
}

}  // namespace
}  // namespace postern
