// Unit tests for lib/smtp/smtp_data_reader.cpp: dot-unstuffing, the exact CRLF.CRLF end, bare LF /
// bare CR detection, bytes after the end left alone, and every result checked with the input fed
// whole, one byte at a time and in random splits, against a slow line-based reference decoder.
#include "lib/smtp/smtp_data_reader.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace postern {
namespace {

struct Decoded {
  std::string message;
  DataEvent event = DataEvent::kNeedMore;
  size_t consumed = 0;  // total over all feeds
};

// Feeds input in pieces of at most piece bytes (0: whole), stopping at the first event.
Decoded decode(std::string_view input, size_t piece, bool forbid = true) {
  SmtpDataReader reader(forbid);
  Decoded out;
  auto sink = [&](std::string_view bytes) { out.message.append(bytes); };
  size_t pos = 0;
  while (pos < input.size()) {
    size_t n = piece == 0 ? input.size() - pos : std::min(piece, input.size() - pos);
    DataFeedResult r = reader.feed(input.substr(pos, n), sink);
    out.consumed += r.consumed;
    pos += r.consumed;
    if (r.event != DataEvent::kNeedMore) {
      out.event = r.event;
      break;
    }
    EXPECT_EQ(r.consumed, n);
  }
  EXPECT_EQ(reader.message_bytes(), out.message.size());
  return out;
}

// Slow, obviously-correct reference for forbid=true: one byte at a time over whole lines.
Decoded reference(std::string_view input) {
  Decoded out;
  std::string line;
  for (size_t i = 0; i < input.size(); ++i) {
    char c = input[i];
    line.push_back(c);
    if (c == '\n') {
      if (line.size() < 2 || line[line.size() - 2] != '\r') {
        out.event = DataEvent::kBareLf;
        out.consumed = i;
        line.pop_back();
        if (!line.empty() && line[0] == '.') line.erase(0, 1);
        out.message += line;
        return out;
      }
      if (line == ".\r\n") {
        out.event = DataEvent::kEnd;
        out.consumed = i + 1;
        return out;
      }
      if (line[0] == '.') line.erase(0, 1);
      out.message += line;
      line.clear();
    } else if (line.size() >= 2 && line[line.size() - 2] == '\r') {
      out.event = DataEvent::kBareCr;
      out.consumed = i - 1;
      line.resize(line.size() - 2);
      if (!line.empty() && line[0] == '.') line.erase(0, 1);
      out.message += line;
      return out;
    }
  }
  out.consumed = input.size();
  if (line == ".\r") line.clear();  // held back: it may be the start of the end
  if (!line.empty() && line[0] == '.') line.erase(0, 1);
  out.message += line;
  return out;
}

void expect_all_splits(std::string_view input, std::string_view message, DataEvent event,
                       size_t consumed) {
  for (size_t piece : {size_t{0}, size_t{1}, size_t{2}, size_t{3}, size_t{7}}) {
    Decoded d = decode(input, piece);
    EXPECT_EQ(d.event, event) << "piece " << piece;
    // On an error the message is dropped, so only the message at the end matters.
    if (event == DataEvent::kEnd) {
      EXPECT_EQ(d.message, message) << "piece " << piece;
    }
    if (event == DataEvent::kEnd) {
      EXPECT_EQ(d.consumed, consumed) << "piece " << piece;
    }
  }
}

TEST(SmtpDataReaderTest, SimpleMessage) {
  std::string in = "Subject: x\r\n\r\nHello\r\n.\r\n";
  expect_all_splits(in, "Subject: x\r\n\r\nHello\r\n", DataEvent::kEnd, in.size());
}

TEST(SmtpDataReaderTest, EmptyMessage) {
  expect_all_splits(".\r\n", "", DataEvent::kEnd, 3);
}

TEST(SmtpDataReaderTest, EmptyFirstLine) {
  expect_all_splits("\r\n.\r\n", "\r\n", DataEvent::kEnd, 5);
}

TEST(SmtpDataReaderTest, DotUnstuffing) {
  std::string in = "..x\r\n...\r\n..\r\n.y\r\nz.\r\n.\r\n";
  expect_all_splits(in, ".x\r\n..\r\n.\r\ny\r\nz.\r\n", DataEvent::kEnd, in.size());
}

TEST(SmtpDataReaderTest, BytesAfterTheEndAreNotConsumed) {
  std::string in = "a\r\n.\r\nMAIL FROM:<>\r\n";
  expect_all_splits(in, "a\r\n", DataEvent::kEnd, 6);
}

TEST(SmtpDataReaderTest, DotNotAtLineStartIsData) {
  std::string in = "a.\r\n.b\r\n\r\n.\r\n";
  expect_all_splits(in, "a.\r\nb\r\n\r\n", DataEvent::kEnd, in.size());
}

TEST(SmtpDataReaderTest, BareLfInLine) {
  expect_all_splits("ab\ncd\r\n.\r\n", "ab", DataEvent::kBareLf, 2);
}

TEST(SmtpDataReaderTest, BareLfAtLineStart) {
  expect_all_splits("ab\r\n\n", "ab\r\n", DataEvent::kBareLf, 4);
}

TEST(SmtpDataReaderTest, SmugglingEndWithBareLf) {
  // "\n.\r\n" and ".\n": the classic smuggling ends are refused, never taken as the end.
  expect_all_splits("a\n.\r\nMAIL", "a", DataEvent::kBareLf, 1);
  expect_all_splits("a\r\n.\nMAIL", "a\r\n", DataEvent::kBareLf, 4);
  expect_all_splits("a\r\n.\r.\r\n", "a\r\n", DataEvent::kBareCr, 4);
}

TEST(SmtpDataReaderTest, BareCr) {
  expect_all_splits("ab\rcd\r\n.\r\n", "ab", DataEvent::kBareCr, 2);
  expect_all_splits("ab\r\r\n", "ab", DataEvent::kBareCr, 2);
}

TEST(SmtpDataReaderTest, HugeLineIsFine) {
  std::string line(3 * 1024 * 1024, 'x');
  std::string in = line + "\r\n.\r\n";
  Decoded whole = decode(in, 0);
  EXPECT_EQ(whole.event, DataEvent::kEnd);
  EXPECT_EQ(whole.message, line + "\r\n");
  Decoded pieces = decode(in, 4096);
  EXPECT_EQ(pieces.message, line + "\r\n");
}

TEST(SmtpDataReaderTest, ResetStartsANewMessage) {
  SmtpDataReader reader(true);
  std::string out;
  auto sink = [&](std::string_view b) { out.append(b); };
  EXPECT_EQ(reader.feed("x\r\n.", sink).event, DataEvent::kNeedMore);
  reader.reset();
  out.clear();
  DataFeedResult r = reader.feed(".y\r\n.\r\n", sink);
  EXPECT_EQ(r.event, DataEvent::kEnd);
  EXPECT_EQ(out, "y\r\n");
  EXPECT_EQ(reader.message_bytes(), 3u);
}

TEST(SmtpDataReaderTest, AllowedBareNewlinesAreDataAndNeverEndTheMessage) {
  Decoded d = decode("a\nb\rc\n.\r\n\r\n.\r\n", 0, false);
  EXPECT_EQ(d.event, DataEvent::kEnd);
  EXPECT_EQ(d.message, "a\nb\rc\n.\r\n\r\n");
  for (size_t piece : {size_t{1}, size_t{2}}) {
    Decoded p = decode("x\r\n.\rz\r\n.\r\n", piece, false);
    EXPECT_EQ(p.event, DataEvent::kEnd);
    EXPECT_EQ(p.message, "x\r\n\rz\r\n");
  }
}

TEST(SmtpDataReaderTest, RandomInputsMatchTheReference) {
  std::mt19937 rng(12345);
  const char alphabet[] = {'.', '\r', '\n', 'a', '.', '\r', '\n'};
  for (int round = 0; round < 3000; ++round) {
    std::string in;
    size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i) in.push_back(alphabet[rng() % sizeof alphabet]);
    if (rng() % 2) in = "a\r\n" + in + "\r\n.\r\n";
    Decoded expected = reference(in);
    for (size_t piece : {size_t{0}, size_t{1}, size_t{1 + rng() % 5}}) {
      Decoded got = decode(in, piece);
      ASSERT_EQ(got.event, expected.event) << "input " << testing::PrintToString(in);
      if (expected.event == DataEvent::kEnd) {
        ASSERT_EQ(got.consumed, expected.consumed) << "input " << testing::PrintToString(in);
      }
      if (expected.event == DataEvent::kEnd || expected.event == DataEvent::kNeedMore) {
        ASSERT_EQ(got.message, expected.message) << "input " << testing::PrintToString(in);
      }
    }
  }
}

}  // namespace
}  // namespace postern
