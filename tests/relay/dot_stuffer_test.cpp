// Tests relay/dot_stuffer: RFC 5321 4.5.2 transparency at every chunk boundary, the end of
// data whatever the last line holds, and a '.' split across chunks.
#include "relay/dot_stuffer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::relay {
namespace {

std::string encode_whole(std::string_view message) {
  DotStuffer stuffer;
  std::string out;
  stuffer.encode(message, out);
  stuffer.finish(out);
  return out;
}

// The same message cut at every position into two chunks, and fed byte by byte.
void expect_same_at_every_split(std::string_view message) {
  const std::string whole = encode_whole(message);
  for (size_t cut = 0; cut <= message.size(); ++cut) {
    DotStuffer stuffer;
    std::string out;
    stuffer.encode(message.substr(0, cut), out);
    stuffer.encode(message.substr(cut), out);
    stuffer.finish(out);
    EXPECT_EQ(out, whole) << "cut at " << cut;
  }
  DotStuffer stuffer;
  std::string out;
  for (char c : message) stuffer.encode(std::string_view(&c, 1), out);
  stuffer.finish(out);
  EXPECT_EQ(out, whole) << "byte by byte";
}

TEST(DotStufferTest, DoublesLeadingDots) {
  EXPECT_EQ(encode_whole("a\r\n.b\r\n..c\r\n.\r\n"), "a\r\n..b\r\n...c\r\n..\r\n.\r\n");
  EXPECT_EQ(encode_whole(".first\r\n"), "..first\r\n.\r\n");
  EXPECT_EQ(encode_whole("no.dot.here\r\n"), "no.dot.here\r\n.\r\n");
}

TEST(DotStufferTest, EndsWithCrlfDotCrlf) {
  EXPECT_EQ(encode_whole(""), ".\r\n");
  EXPECT_EQ(encode_whole("x\r\n"), "x\r\n.\r\n");
  EXPECT_EQ(encode_whole("no line end"), "no line end\r\n.\r\n");
  EXPECT_EQ(encode_whole("ends in cr\r"), "ends in cr\r\n.\r\n");
  // A bare LF at the end: the terminator still follows a CRLF.
  EXPECT_EQ(encode_whole("bare\n"), "bare\n\r\n.\r\n");
}

TEST(DotStufferTest, DotAfterBareLfIsStuffedToo) {
  // A receiver that ends lines at a bare LF must not see "\n.\r\n" as the end of data.
  EXPECT_EQ(encode_whole("a\n.\r\nb\r\n"), "a\n..\r\nb\r\n.\r\n");
}

TEST(DotStufferTest, DotSplitAcrossChunks) {
  DotStuffer stuffer;
  std::string out;
  stuffer.encode("line\r", out);
  stuffer.encode("\n", out);
  stuffer.encode(".", out);
  stuffer.encode(".x\r\n", out);
  stuffer.finish(out);
  EXPECT_EQ(out, "line\r\n...x\r\n.\r\n");
}

TEST(DotStufferTest, EverySplitGivesTheSameBytes) {
  expect_same_at_every_split("a\r\n.b\r\n..\r\n.\r\nlast.\r\n");
  expect_same_at_every_split(".\r\n.\r\n");
  expect_same_at_every_split("x\r\n.");
  expect_same_at_every_split("x\n.y\r");
}

TEST(DotStufferTest, UnstuffingGivesTheMessageBack) {
  const std::string message = "Subject: t\r\n\r\n.\r\n..two\r\n.three\r\nend\r\n";
  std::string wire = encode_whole(message);
  ASSERT_GE(wire.size(), 3u);
  ASSERT_EQ(wire.substr(wire.size() - 3), ".\r\n");
  wire.resize(wire.size() - 3);
  // What a receiver does (RFC 5321 4.5.2): drop the first '.' of each line that starts with one.
  std::string back;
  bool line_start = true;
  for (char c : wire) {
    if (line_start && c == '.') {
      line_start = false;
      continue;
    }
    back.push_back(c);
    line_start = c == '\n';
  }
  EXPECT_EQ(back, message);
}

TEST(DotStufferTest, ResetStartsANewMessage) {
  DotStuffer stuffer;
  std::string out;
  stuffer.encode("abc", out);
  stuffer.reset();
  out.clear();
  stuffer.encode(".x\r\n", out);
  stuffer.finish(out);
  EXPECT_EQ(out, "..x\r\n.\r\n");
}

}  // namespace
}  // namespace postern::relay
