// Tests lib/milter/milter_protocol: the bytes of each packet we send (as libmilter reads them),
// the packet reader fed whole and byte by byte with its length limit at N and N+1, every reply
// kind decoded, every malformed reply refused, and option negotiation.
#include "lib/milter/milter_protocol.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::milter {
namespace {

std::string packet(char command, std::string_view data) {
  std::string out;
  uint32_t length = static_cast<uint32_t>(data.size() + 1);
  out.push_back(static_cast<char>(length >> 24));
  out.push_back(static_cast<char>(length >> 16));
  out.push_back(static_cast<char>(length >> 8));
  out.push_back(static_cast<char>(length));
  out.push_back(command);
  out.append(data);
  return out;
}

std::string u32(uint32_t value) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
  return out;
}

using namespace std::string_literals;

Result<MilterReply> decode(char command, std::string_view data) {
  return decode_reply(MilterPacket{command, std::string(data)});
}

TEST(MilterEncode, PacketsHaveLengthCommandAndData) {
  EXPECT_EQ(encode_option_negotiation(6, 0x1ff, 0x1fffff),
            packet('O', u32(6) + u32(0x1ff) + u32(0x1fffff)));
  EXPECT_EQ(encode_connect("client.example", '4', 2525, "192.0.2.7"),
            packet('C', "client.example\0"s + "4" + "\x09\xdd"s + "192.0.2.7\0"s));
  EXPECT_EQ(encode_connect("unknown", 'U', 0, ""), packet('C', "unknown\0U"s));
  EXPECT_EQ(encode_helo("mx.example"), packet('H', "mx.example\0"s));
  EXPECT_EQ(encode_envelope(MilterCommand::kMail, "a@b.example", {"SIZE=10", "BODY=8BITMIME"}),
            packet('M', "<a@b.example>\0SIZE=10\0BODY=8BITMIME\0"s));
  EXPECT_EQ(encode_envelope(MilterCommand::kRcpt, "", {}), packet('R', "<>\0"s));
  EXPECT_EQ(encode_header("Subject", " hi"), packet('L', "Subject\0 hi\0"s));
  EXPECT_EQ(encode_macros(MilterCommand::kConnect, {{"j", "mx"}, {"{daemon_name}", "mx"}}),
            packet('D', "Cj\0mx\0{daemon_name}\0mx\0"s));
  EXPECT_EQ(encode_simple(MilterCommand::kEndOfMessage), packet('E', ""));
  EXPECT_EQ(encode_body_chunk(std::string(70000, 'x')).size(), 4 + 1 + kMaxMilterBodyChunkBytes);
}

TEST(MilterReader, WholeAndByteByByte) {
  const std::string stream = packet('c', "") + packet('y', "550 5.7.1 no\0"s) + packet('a', "");
  for (size_t step : {stream.size(), size_t{1}, size_t{3}}) {
    MilterPacketReader reader;
    std::vector<char> commands;
    for (size_t pos = 0; pos < stream.size(); pos += step) {
      reader.feed(std::string_view(stream).substr(pos, step));
      while (auto next = reader.next()) {
        ASSERT_TRUE(next->ok());
        commands.push_back((*next)->command);
      }
    }
    EXPECT_EQ(commands, (std::vector<char>{'c', 'y', 'a'})) << step;
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(MilterReader, LengthLimitAtNAndNPlusOneAndZero) {
  {
    MilterPacketReader reader;
    reader.feed(packet('b', std::string(kMaxMilterPacketBytes - 1, 'x')));
    auto next = reader.next();
    ASSERT_TRUE(next && next->ok());
    EXPECT_EQ((*next)->data.size(), kMaxMilterPacketBytes - 1);
  }
  for (uint32_t length : {kMaxMilterPacketBytes + 1, uint32_t{0}, uint32_t{0xffffffff}}) {
    MilterPacketReader reader;
    reader.feed(u32(length) + "b");  // refused on the length alone, before any data
    auto next = reader.next();
    ASSERT_TRUE(next.has_value());
    EXPECT_FALSE(next->ok()) << length;
    EXPECT_FALSE(reader.next()->ok());  // the connection stays refused
  }
}

TEST(MilterDecode, SimpleReplies) {
  EXPECT_EQ(decode('a', "")->kind, MilterReply::Kind::kAccept);
  EXPECT_EQ(decode('c', "")->kind, MilterReply::Kind::kContinue);
  EXPECT_EQ(decode('r', "")->kind, MilterReply::Kind::kReject);
  EXPECT_EQ(decode('t', "")->kind, MilterReply::Kind::kTempfail);
  EXPECT_EQ(decode('d', "")->kind, MilterReply::Kind::kDiscard);
  EXPECT_EQ(decode('s', "")->kind, MilterReply::Kind::kSkip);
  EXPECT_EQ(decode('p', "")->kind, MilterReply::Kind::kProgress);
  EXPECT_EQ(decode('4', "")->kind, MilterReply::Kind::kShutdown);
  EXPECT_EQ(decode('f', "")->kind, MilterReply::Kind::kShutdown);
  EXPECT_FALSE(decode('a', "x").ok());  // data where none belongs
  EXPECT_FALSE(decode('Z', "").ok());
  EXPECT_TRUE(decode('r', "")->is_final());
  EXPECT_FALSE(decode('c', "")->is_final());
}

TEST(MilterDecode, ReplyCodes) {
  Result<MilterReply> gtube = decode('y', "554 5.7.1 Gtube pattern\0"s);
  ASSERT_TRUE(gtube.ok());
  EXPECT_EQ(gtube->code, "554");
  EXPECT_EQ(gtube->text, "5.7.1 Gtube pattern");
  Result<MilterReply> multi = decode('y', "550-5.7.1 first\r\n550 5.7.1 second\0"s);
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(multi->text, "5.7.1 first\r\n550 5.7.1 second");
  EXPECT_EQ(decode('y', "451\0"s)->code, "451");
  for (std::string bad : {"250 ok\0"s, "55 x\0"s, "5x0 x\0"s, "550x\0"s, "550 no NUL"s,
                          "550 a\0trailing"s, "550 bell\x07\0"s}) {
    EXPECT_FALSE(decode('y', bad).ok()) << bad;
  }
}

TEST(MilterDecode, MessageActions) {
  Result<MilterReply> add = decode('h', "X-Spam\0 yes\n\tfolded\0"s);
  ASSERT_TRUE(add.ok());
  EXPECT_EQ(add->header_name, "X-Spam");
  EXPECT_EQ(add->header_value, " yes\n\tfolded");
  Result<MilterReply> insert = decode('i', u32(0) + "DKIM-Signature\0 v=1\0"s);
  ASSERT_TRUE(insert.ok());
  EXPECT_EQ(insert->kind, MilterReply::Kind::kInsertHeader);
  Result<MilterReply> change = decode('m', u32(2) + "X-Old\0\0"s);  // delete the 2nd X-Old
  ASSERT_TRUE(change.ok());
  EXPECT_EQ(change->header_index, 2u);
  EXPECT_EQ(change->header_value, "");
  EXPECT_FALSE(decode('h', "Bad Name\0v\0"s).ok());
  EXPECT_FALSE(decode('h', "X:\0v\0"s).ok());
  EXPECT_FALSE(decode('h', "\0v\0"s).ok());
  EXPECT_FALSE(decode('h', "X\0v"s).ok());
  EXPECT_FALSE(decode('m', "ab"s).ok());

  EXPECT_EQ(decode('+', "<x@y>\0"s)->address, "<x@y>");
  EXPECT_FALSE(decode('+', "\0"s).ok());
  EXPECT_FALSE(decode('-', "a\0b\0"s).ok());
  Result<MilterReply> with_args = decode('2', "<x@y>\0NOTIFY=NEVER\0"s);
  ASSERT_TRUE(with_args.ok());
  EXPECT_EQ(with_args->esmtp_args, "NOTIFY=NEVER");
  Result<MilterReply> from = decode('e', "<new@y>\0"s);
  ASSERT_TRUE(from.ok());
  EXPECT_EQ(from->kind, MilterReply::Kind::kChangeFrom);
  EXPECT_FALSE(decode('e', "<new@y>\0a\0b\0"s).ok());
  EXPECT_EQ(decode('b', "new body\r\n")->body, "new body\r\n");
  EXPECT_EQ(decode('q', "looks like spam\0"s)->reason, "looks like spam");
  EXPECT_FALSE(decode('q', "no NUL"s).ok());
}

TEST(MilterNegotiate, AgreesWithinWhatWasOffered) {
  Result<MilterReply> reply =
      decode('O', u32(6) + u32(kActionAddHeaders | kActionChangeHeaders) +
                      u32(kNoReplyConnect | kHeaderLeadingSpace) + u32(1) + "{auth_type} i\0"s);
  ASSERT_TRUE(reply.ok());
  Result<MilterNegotiation> agreed = negotiate(*reply, kAllMilterActions, kAllMilterProtocolFlags);
  ASSERT_TRUE(agreed.ok());
  EXPECT_EQ(agreed->version, 6u);
  EXPECT_EQ(agreed->protocol, kNoReplyConnect | kHeaderLeadingSpace);
  ASSERT_EQ(agreed->macro_lists.size(), 1u);
  EXPECT_EQ(agreed->macro_lists[0].second, "{auth_type} i");

  auto optneg = [](uint32_t version, uint32_t actions, uint32_t protocol) {
    return *decode('O', u32(version) + u32(actions) + u32(protocol));
  };
  EXPECT_TRUE(negotiate(optneg(2, 0, 0), kAllMilterActions, 0).ok());
  EXPECT_FALSE(negotiate(optneg(1, 0, 0), kAllMilterActions, 0).ok());
  EXPECT_FALSE(negotiate(optneg(7, 0, 0), kAllMilterActions, 0).ok());
  EXPECT_FALSE(negotiate(optneg(6, kActionQuarantine, 0), kActionAddHeaders, 0).ok());
  EXPECT_FALSE(negotiate(optneg(6, 0, kSkip), kAllMilterActions, kNoConnect).ok());
  EXPECT_FALSE(negotiate(*decode('c', ""), kAllMilterActions, 0).ok());
  EXPECT_FALSE(decode('O', u32(6) + u32(0)).ok());                     // short
  EXPECT_FALSE(decode('O', u32(6) + u32(0) + u32(0) + u32(9) + "i\0"s).ok());  // stage 9
  EXPECT_FALSE(decode('O', u32(6) + u32(0) + u32(0) + u32(1) + "i"s).ok());    // no NUL
}

}  // namespace
}  // namespace postern::milter
