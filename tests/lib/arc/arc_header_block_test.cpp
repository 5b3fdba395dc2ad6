// Unit tests for lib/arc/arc_header_block.cpp: a stored message's header block read into fields
// whatever the chunk sizes (one byte at a time too), where the body begins, and the limits at
// N (accepted) and N+1 (rejected).
#include "lib/arc/arc_header_block.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

struct Read {
  bool ok = false;
  std::vector<DkimHeader> headers;
  size_t block_bytes = 0;
};

Read read_in_pieces(std::string_view message, size_t piece) {
  ArcHeaderBlockReader reader;
  Read out;
  size_t at = 0;
  while (at < message.size() && !reader.done()) {
    std::string_view chunk = message.substr(at, piece);
    Result<size_t> used = reader.add(chunk);
    if (!used) return out;
    EXPECT_LE(*used, chunk.size());
    if (!reader.done()) {
      EXPECT_EQ(*used, chunk.size());
    }
    at += chunk.size();
  }
  if (!reader.done() && !reader.finish().ok()) return out;
  out.ok = true;
  out.block_bytes = reader.block_bytes();
  out.headers = reader.take_headers();
  return out;
}

TEST(ArcHeaderBlock, FieldsAndBodyStartWhateverTheChunkSizes) {
  const std::string message =
      "From: a@example.org\r\nSubject: two\r\n\tlines\r\nX-Empty:\r\nTo : b@example.net\r\n"
      "\r\nbody line\r\n\r\nFrom: not a header\r\n";
  const size_t body_at = message.find("body line");
  for (size_t piece : {size_t{1}, size_t{2}, size_t{7}, size_t{64}, message.size()}) {
    Read read = read_in_pieces(message, piece);
    ASSERT_TRUE(read.ok) << piece;
    EXPECT_EQ(read.block_bytes, body_at) << piece;
    ASSERT_EQ(read.headers.size(), 4u);
    EXPECT_EQ(read.headers[0].name, "From");
    EXPECT_EQ(read.headers[0].value, " a@example.org");
    EXPECT_EQ(read.headers[1].value, " two\r\n\tlines");
    EXPECT_EQ(read.headers[2].name, "X-Empty");
    EXPECT_EQ(read.headers[2].value, "");
    EXPECT_EQ(read.headers[3].name, "To");
  }
}

TEST(ArcHeaderBlock, BareLineFeedsAndAMessageWithoutBody) {
  Read read = read_in_pieces("A: 1\nB: 2\n  more", 3);
  ASSERT_TRUE(read.ok);
  ASSERT_EQ(read.headers.size(), 2u);
  EXPECT_EQ(read.headers[1].value, " 2\n  more");
  EXPECT_EQ(read.block_bytes, 16u);  // all of it: no body
}

TEST(ArcHeaderBlock, LinesThatAreNotFieldsDoNotParse) {
  EXPECT_FALSE(read_in_pieces("no colon here\r\n\r\n", 5).ok);
  EXPECT_FALSE(read_in_pieces(" continued: first\r\n\r\n", 5).ok);
  EXPECT_FALSE(read_in_pieces(": no name\r\n\r\n", 5).ok);
  EXPECT_FALSE(read_in_pieces("Bad Name: x\r\n\r\n", 5).ok);
  EXPECT_FALSE(read_in_pieces("Bad\x01Name: x\r\n\r\n", 5).ok);
}

TEST(ArcHeaderBlock, FieldCountLimit) {
  std::string block;
  for (size_t k = 0; k < kMaxArcHeaderBlockFields; ++k) block += "X: y\r\n";
  Read at_limit = read_in_pieces(block + "\r\n", 4096);
  ASSERT_TRUE(at_limit.ok);
  EXPECT_EQ(at_limit.headers.size(), kMaxArcHeaderBlockFields);
  EXPECT_FALSE(read_in_pieces(block + "X: y\r\n\r\n", 4096).ok);
}

TEST(ArcHeaderBlock, ByteLimitWhateverTheChunkSizes) {
  // One field whose line (with CRLF) is exactly the limit, then one byte more.
  std::string name = "X: ";
  std::string at_limit =
      name + std::string(kMaxArcHeaderBlockBytes - name.size() - 2, 'v') + "\r\n";
  std::string over = name + std::string(kMaxArcHeaderBlockBytes - name.size() - 1, 'v') + "\r\n";
  for (size_t piece : {size_t{65536}, size_t{1000003}, at_limit.size() + 2}) {
    Read accepted = read_in_pieces(at_limit + "\r\nbody", piece);
    ASSERT_TRUE(accepted.ok) << piece;
    EXPECT_EQ(accepted.block_bytes, kMaxArcHeaderBlockBytes + 2);
    EXPECT_FALSE(read_in_pieces(over + "\r\nbody", piece).ok) << piece;
  }
  // A line that never ends is refused once it passes the limit, not held.
  ArcHeaderBlockReader reader;
  std::string endless(kMaxArcHeaderBlockBytes / 4, 'x');
  bool refused = false;
  for (int k = 0; k < 6 && !refused; ++k) refused = !reader.add(endless).ok();
  EXPECT_TRUE(refused);
}

}  // namespace
}  // namespace postern
