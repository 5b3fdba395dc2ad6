// Unit tests for lib/net/dns_message.cpp: the query's exact bytes, decoding of MX/A/AAAA/CNAME
// answers with compression, and every guard against a hostile response: pointer loops and
// forward pointers, name 255 / label 63 at N and N+1, answer count at N and N+1, truncation at
// every byte, record data lengths that do not match.
#include "lib/net/dns_message.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

std::string u16(uint16_t v) {
  return std::string{static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string wire_name(std::string_view dotted) {
  std::string out;
  size_t start = 0;
  while (start < dotted.size()) {
    size_t dot = dotted.find('.', start);
    if (dot == std::string_view::npos) dot = dotted.size();
    out += static_cast<char>(dot - start);
    out.append(dotted.substr(start, dot - start));
    start = dot + 1;
  }
  return out + '\0';
}

std::string header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an) {
  return u16(id) + u16(flags) + u16(qd) + u16(an) + u16(0) + u16(0);
}

// A record: owner (wire form), type, class IN, ttl 60, data.
std::string record(const std::string& owner, uint16_t type, const std::string& data) {
  return owner + u16(type) + u16(kDnsClassIn) + u16(0) + u16(60) +
         u16(static_cast<uint16_t>(data.size())) + data;
}

// The question starts at offset 12: a pointer to it is c0 0c.
const std::string kPointerToQuestion("\xc0\x0c", 2);

std::string mx_response() {
  std::string out =
      header(0x4242, 0x8180, 1, 3) + wire_name("Two.Test") + u16(kDnsTypeMx) + u16(kDnsClassIn);
  out += record(kPointerToQuestion, kDnsTypeMx, u16(10) + wire_name("mx1.two.test"));
  // "mx2" then a pointer to the "two.test" of the question.
  out += record(kPointerToQuestion, kDnsTypeMx, u16(20) + std::string("\x03mx2\xc0\x0c", 6));
  out += record(kPointerToQuestion, kDnsTypeA, std::string("\x7f\x00\x00\x02", 4));
  return out;
}

TEST(DnsMessage, QueryBytes) {
  Result<std::string> query = build_dns_query(0xbeef, "mx.Example.org.", kDnsTypeMx);
  ASSERT_TRUE(query.ok());
  std::string expected = header(0xbeef, 0x0100, 1, 0) + wire_name("mx.Example.org") +
                         u16(kDnsTypeMx) + u16(kDnsClassIn);
  EXPECT_EQ(*query, expected);
  EXPECT_FALSE(build_dns_query(1, "", kDnsTypeA).ok());
  EXPECT_FALSE(build_dns_query(1, "a..b", kDnsTypeA).ok());
  EXPECT_FALSE(build_dns_query(1, ".", kDnsTypeA).ok());
}

TEST(DnsMessage, QueryWithEdns) {
  Result<std::string> query = build_dns_query(0x0102, "a.test", kDnsTypeA, 1232);
  ASSERT_TRUE(query.ok());
  std::string expected = u16(0x0102) + u16(0x0100) + u16(1) + u16(0) + u16(0) + u16(1) +
                         wire_name("a.test") + u16(kDnsTypeA) + u16(kDnsClassIn) +
                         std::string(1, '\0') + u16(kDnsTypeOpt) + u16(1232) + u16(0) + u16(0) +
                         u16(0);
  EXPECT_EQ(*query, expected);
}

TEST(DnsMessage, NameLimits) {
  std::string label63(63, 'a');
  EXPECT_TRUE(check_dns_name(label63 + ".test").ok());
  EXPECT_FALSE(check_dns_name(std::string(64, 'a') + ".test").ok());
  // Wire length: 3 * 64 + (1 + 61) + 1 (root) = 255.
  std::string at = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
  EXPECT_TRUE(check_dns_name(at).ok());
  EXPECT_TRUE(check_dns_name(at + ".").ok());
  EXPECT_FALSE(check_dns_name(at + "b").ok());

  // The same limits on names in a response.
  auto response_for = [](const std::string& name) {
    return header(1, 0x8180, 1, 0) + wire_name(name) + u16(kDnsTypeA) + u16(kDnsClassIn);
  };
  Result<DnsMessage> ok = parse_dns_message(response_for(at));
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->question_name, at);
  EXPECT_FALSE(parse_dns_message(response_for(at + "b")).ok());
  EXPECT_TRUE(parse_dns_message(response_for(label63 + ".x")).ok());
  // A 64-byte label has the top bits 01: not a plain label.
  EXPECT_FALSE(parse_dns_message(response_for(std::string(64, 'c') + ".x")).ok());
}

TEST(DnsMessage, DecodesMxAndAddressesWithCompression) {
  Result<DnsMessage> message = parse_dns_message(mx_response());
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(message->id, 0x4242);
  EXPECT_TRUE(message->response);
  EXPECT_FALSE(message->truncated);
  EXPECT_EQ(message->rcode, kDnsNoError);
  EXPECT_EQ(message->question_name, "two.test");
  EXPECT_EQ(message->question_type, kDnsTypeMx);
  ASSERT_EQ(message->answers.size(), 3u);
  EXPECT_EQ(message->answers[0].name, "two.test");
  EXPECT_EQ(message->answers[0].preference, 10);
  EXPECT_EQ(message->answers[0].target, "mx1.two.test");
  EXPECT_EQ(message->answers[1].target, "mx2.two.test");
  EXPECT_EQ(message->answers[1].ttl, 60u);
  EXPECT_EQ(message->answers[2].address, "127.0.0.2");

  std::string aaaa =
      header(7, 0x8383, 1, 2) + wire_name("x.test") + u16(kDnsTypeAaaa) + u16(kDnsClassIn);
  aaaa += record(kPointerToQuestion, kDnsTypeCname, wire_name("Y.test"));
  aaaa += record(wire_name("y.test"), kDnsTypeAaaa,
                 std::string("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16));
  Result<DnsMessage> second = parse_dns_message(aaaa);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->rcode, kDnsNxDomain);
  EXPECT_TRUE(second->truncated);
  EXPECT_EQ(second->answers[0].target, "y.test");
  EXPECT_EQ(second->answers[1].address, "2001:db8::1");
}

TEST(DnsMessage, EveryTruncationRejected) {
  std::string full = mx_response();
  for (size_t length = 0; length < full.size(); ++length) {
    EXPECT_FALSE(parse_dns_message(full.substr(0, length)).ok()) << length;
  }
}

TEST(DnsMessage, PointerLoopsAndForwardPointersRejected) {
  std::string base =
      header(1, 0x8180, 1, 1) + wire_name("a.test") + u16(kDnsTypeMx) + u16(kDnsClassIn);
  // An owner name that points at itself (offset of the record = base.size()).
  uint16_t self = static_cast<uint16_t>(0xc000 | base.size());
  Result<DnsMessage> loop = parse_dns_message(base + record(u16(self), kDnsTypeA, "\1\2\3\4"));
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().message, "DNS pointer does not point backwards");
  uint16_t forward = static_cast<uint16_t>(0xc000 | (base.size() + 2));
  EXPECT_FALSE(parse_dns_message(base + record(u16(forward), kDnsTypeA, "\1\2\3\4")).ok());
  // Two labels pointing at each other: the second points back at the first, which points
  // forward: rejected at the forward hop.
  std::string two = header(1, 0x8180, 1, 0) + "\x01x" + u16(0xc000 | 16) + "\x01y" +
                    u16(0xc000 | 12) + u16(kDnsTypeA) + u16(kDnsClassIn);
  EXPECT_FALSE(parse_dns_message(two).ok());
  // Extended label types (01, 10) are refused.
  EXPECT_FALSE(parse_dns_message(header(1, 0x8180, 1, 0) + "\x41" + "a").ok());
}

TEST(DnsMessage, PointerJumpLimitAtNAndNPlusOne) {
  // A TXT-typed answer (skipped by the parser) carries a chain of pointers; a CNAME answer then
  // points at the chain's last element. Each pointer points at the previous one; the first one
  // points at the question name.
  auto build = [](size_t chain_length) {
    std::string m =
        header(1, 0x8180, 1, 2) + wire_name("a.test") + u16(kDnsTypeCname) + u16(kDnsClassIn);
    std::string pointers;
    size_t data_start = m.size() + 2 + 2 + 2 + 4 + 2;
    size_t previous = 12;
    for (size_t i = 0; i < chain_length; ++i) {
      pointers += u16(static_cast<uint16_t>(0xc000 | previous));
      previous = data_start + 2 * i;
    }
    m += record(kPointerToQuestion, 16 /* TXT */, pointers);
    m += record(kPointerToQuestion, kDnsTypeCname, u16(static_cast<uint16_t>(0xc000 | previous)));
    return m;
  };
  // The CNAME target's own pointer is one jump, then chain_length more.
  Result<DnsMessage> at = parse_dns_message(build(kMaxDnsPointerJumps - 1));
  ASSERT_TRUE(at.ok()) << at.error().message;
  EXPECT_EQ(at->answers[1].target, "a.test");
  Result<DnsMessage> over = parse_dns_message(build(kMaxDnsPointerJumps));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message, "too many DNS name pointers");
}

TEST(DnsMessage, AnswerCountLimit) {
  auto build = [](size_t count) {
    std::string m = header(1, 0x8180, 1, static_cast<uint16_t>(count)) + wire_name("a.test") +
                    u16(kDnsTypeA) + u16(kDnsClassIn);
    for (size_t i = 0; i < count; ++i) m += record(kPointerToQuestion, kDnsTypeA, "\1\2\3\4");
    return m;
  };
  Result<DnsMessage> at = parse_dns_message(build(kMaxDnsAnswers));
  ASSERT_TRUE(at.ok()) << at.error().message;
  EXPECT_EQ(at->answers.size(), kMaxDnsAnswers);
  EXPECT_FALSE(parse_dns_message(build(kMaxDnsAnswers + 1)).ok());
}

TEST(DnsMessage, RecordDataMustMatchItsLength) {
  std::string base =
      header(1, 0x8180, 1, 1) + wire_name("a.test") + u16(kDnsTypeA) + u16(kDnsClassIn);
  EXPECT_FALSE(parse_dns_message(base + record(kPointerToQuestion, kDnsTypeA, "\1\2\3")).ok());
  EXPECT_FALSE(parse_dns_message(base + record(kPointerToQuestion, kDnsTypeA, "\1\2\3\4\5")).ok());
  // MX data longer or shorter than its name.
  EXPECT_FALSE(parse_dns_message(
                   base + record(kPointerToQuestion, kDnsTypeMx, u16(1) + wire_name("m") + "x"))
                   .ok());
  EXPECT_FALSE(
      parse_dns_message(base + record(kPointerToQuestion, kDnsTypeMx, u16(1) + "\x05mx")).ok());
  // Unknown types are skipped by their length.
  Result<DnsMessage> other =
      parse_dns_message(base + record(kPointerToQuestion, 99, std::string(300, 'z')));
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->answers[0].type, 99);
  // Exactly one question.
  EXPECT_FALSE(parse_dns_message(header(1, 0x8180, 0, 0)).ok());
  EXPECT_FALSE(parse_dns_message(header(1, 0x8180, 2, 0) + wire_name("a") + u16(1) + u16(1) +
                                 wire_name("b") + u16(1) + u16(1))
                   .ok());
}

}  // namespace
}  // namespace postern
