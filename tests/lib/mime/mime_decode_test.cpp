// Tests for lib/mime/mime_decode.cpp: base64 and quoted-printable as RFC 2045 writes them, and the
// lenient handling of what mailers get wrong.
#include "lib/mime/mime_decode.hpp"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(MimeDecode, Base64) {
  EXPECT_EQ(decode_base64("aGVsbG8="), "hello");
  EXPECT_EQ(decode_base64("aGVs\r\nbG8gd29y\r\nbGQ="), "hello world");
  EXPECT_EQ(decode_base64("aGVs*bG8"), "hello");  // junk skipped
  EXPECT_EQ(decode_base64(""), "");
  EXPECT_EQ(decode_base64("YQ==YWJj"), "a");  // data after padding is ignored
  EXPECT_EQ(decode_base64("/w=="), "\xff");
}

TEST(MimeDecode, QuotedPrintable) {
  EXPECT_EQ(decode_quoted_printable("caf=C3=A9"), "caf\xc3\xa9");
  EXPECT_EQ(decode_quoted_printable("soft=\r\nbreak"), "softbreak");
  EXPECT_EQ(decode_quoted_printable("soft= \t\nbreak"), "softbreak");
  EXPECT_EQ(decode_quoted_printable("pad  \r\nx"), "pad\r\nx");
  EXPECT_EQ(decode_quoted_printable("bad=ZZ=4"), "bad=ZZ=4");
  EXPECT_EQ(decode_quoted_printable("lower=c3=a9"), "lower\xc3\xa9");
  EXPECT_EQ(decode_quoted_printable("end="), "end");
}

TEST(MimeDecode, TransferEncodingNames) {
  EXPECT_EQ(decode_transfer_encoding("x", ""), "x");
  EXPECT_EQ(decode_transfer_encoding("x", " 8BIT (c)"), "x");
  EXPECT_EQ(decode_transfer_encoding("aGk=", "Base64"), "hi");
  EXPECT_EQ(decode_transfer_encoding("=41", "Quoted-Printable"), "A");
  EXPECT_FALSE(decode_transfer_encoding("x", "x-uuencode"));
}

}  // namespace
}  // namespace postern
