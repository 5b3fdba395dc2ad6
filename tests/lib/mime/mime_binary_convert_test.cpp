// Tests for lib/mime/mime_binary_convert.cpp: binary parts of an APPENDed literal8 re-encoded as
// base64. The round trip is checked through the same code FETCH BINARY[] uses
// (lib/mime/mime_section), and the text around the converted parts must be untouched.
#include "lib/mime/mime_binary_convert.hpp"

#include <gtest/gtest.h>

#include <string>

#include "lib/mime/mime_section.hpp"

namespace postern {
namespace {

// Every byte value, then NUL, bare CR and LF and CRLF in a row.
std::string all_bytes() {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  bytes += std::string("\0\r\n\r\r\n\n\0", 8);
  return bytes;
}

std::string binary_of(const std::string& message, std::vector<uint32_t> part) {
  MimeTree tree = parse_mime(message);
  auto decoded = extract_binary(message, tree, part);
  EXPECT_TRUE(decoded.ok());
  return decoded.ok() ? *decoded : std::string();
}

TEST(MimeBinaryConvert, SinglePartRoundTrips) {
  const std::string head =
      "Subject: x\r\nContent-Type: application/octet-stream\r\n"
      "Content-Transfer-Encoding: binary\r\n\r\n";
  const std::string message = head + all_bytes();
  BinaryConversion converted = convert_binary_parts(message);
  EXPECT_EQ(converted.parts_converted, 1u);
  EXPECT_EQ(converted.message.find('\0'), std::string::npos);
  EXPECT_NE(converted.message.find("Content-Transfer-Encoding: base64\r\n\r\n"), std::string::npos);
  EXPECT_TRUE(converted.message.ends_with("\r\n"));
  EXPECT_EQ(binary_of(converted.message, {1}), all_bytes());
  // 76 columns per line, as RFC 2045 asks.
  const std::string body = converted.message.substr(converted.message.find("\r\n\r\n") + 4);
  EXPECT_EQ(body.find("\r\n"), 76u);
}

TEST(MimeBinaryConvert, OnlyBinaryLeavesChangeInAMultipart) {
  const std::string text_part = "--b\r\nContent-Type: text/plain\r\n\r\nplain text\r\n";
  const std::string message =
      "Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n" + text_part +
      "--b\r\nContent-Transfer-Encoding:  BINARY (sent raw)\r\nContent-Type: image/png\r\n\r\n" +
      all_bytes() + "\r\n--b--\r\nepilogue\r\n";
  BinaryConversion converted = convert_binary_parts(message);
  EXPECT_EQ(converted.parts_converted, 1u);
  EXPECT_TRUE(converted.message.starts_with(
      "Content-Type: multipart/mixed; boundary=b\r\n\r\npreamble\r\n" + text_part));
  EXPECT_TRUE(converted.message.ends_with("\r\n--b--\r\nepilogue\r\n"));
  EXPECT_NE(converted.message.find("Content-Transfer-Encoding: base64\r\nContent-Type: image/png"),
            std::string::npos);
  EXPECT_EQ(parse_mime(converted.message).parts.size(), 3u);
  EXPECT_EQ(binary_of(converted.message, {2}), all_bytes());
  EXPECT_EQ(binary_of(converted.message, {1}), "plain text");
}

TEST(MimeBinaryConvert, OtherPartsAreLeftAsTheyAre) {
  // No binary part: a copy. 8bit with NUL stays (the caller refuses it). A message/rfc822 or
  // multipart labelled binary keeps its label (RFC 2045 6.4); its binary leaves are converted.
  const std::string eight_bit =
      "Content-Transfer-Encoding: 8bit\r\n\r\n" + std::string("a\0b\r\n", 5);
  BinaryConversion same = convert_binary_parts(eight_bit);
  EXPECT_EQ(same.parts_converted, 0u);
  EXPECT_EQ(same.message, eight_bit);

  const std::string nested =
      "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "Subject: inner\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
      std::string("\0\n", 2);
  BinaryConversion converted = convert_binary_parts(nested);
  EXPECT_EQ(converted.parts_converted, 1u);
  EXPECT_TRUE(converted.message.starts_with(
      "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: binary\r\n\r\n"
      "Subject: inner\r\nContent-Transfer-Encoding: base64\r\n\r\n"));
  EXPECT_EQ(binary_of(converted.message, {1, 1}), std::string("\0\n", 2));
}

TEST(MimeBinaryConvert, EmptyBinaryBodyAndBareLfHeaders) {
  BinaryConversion empty = convert_binary_parts("Content-Transfer-Encoding: binary\r\n\r\n");
  EXPECT_EQ(empty.parts_converted, 1u);
  EXPECT_EQ(empty.message, "Content-Transfer-Encoding: base64\r\n\r\n");

  BinaryConversion lf =
      convert_binary_parts("Content-Transfer-Encoding: binary\n\n" + std::string(100, '\0'));
  EXPECT_EQ(lf.parts_converted, 1u);
  EXPECT_TRUE(lf.message.starts_with("Content-Transfer-Encoding: base64\n\n"));
  EXPECT_EQ(lf.message.find("\r"), std::string::npos);
  EXPECT_EQ(binary_of(lf.message, {1}), std::string(100, '\0'));
}

}  // namespace
}  // namespace postern
