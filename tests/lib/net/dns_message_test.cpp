// Unit tests for lib/net/dns_message.cpp: the query's exact bytes, decoding of MX/A/AAAA/CNAME/
// PTR/TXT answers with compression, the choice of records at the end of a CNAME chain (NXDOMAIN
// vs NODATA), and every guard against a hostile response: pointer loops and forward pointers,
// name 255 / label 63 at N and N+1, answer count, TXT strings and CNAME chain length at N and
// N+1, truncation at every byte, record data lengths that do not match.
#include "lib/net/dns_message.hpp"

#include <gtest/gtest.h>

#include <initializer_list>
#include <string>
#include <vector>

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
  // An answer of type NULL (10, skipped by the parser) carries a chain of pointers; a CNAME
  // answer then points at the chain's last element. Each pointer points at the previous one; the
  // first one points at the question name.
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
    m += record(kPointerToQuestion, 10 /* NULL */, pointers);
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

// A TXT record's data: each string behind its length byte.
std::string txt_data(std::initializer_list<std::string> strings) {
  std::string out;
  for (const std::string& piece : strings) out += static_cast<char>(piece.size()) + piece;
  return out;
}

std::string txt_response(const std::string& data) {
  return header(9, 0x8180, 1, 1) + wire_name("_dmarc.example.test") + u16(kDnsTypeTxt) +
         u16(kDnsClassIn) + record(kPointerToQuestion, kDnsTypeTxt, data);
}

TEST(DnsMessage, TxtKeepsEveryStringAndJoinsThem) {
  // Three strings, one of them empty, case and spaces kept as sent.
  Result<DnsMessage> message =
      parse_dns_message(txt_response(txt_data({"v=DMARC1; p=", "", "Reject"})));
  ASSERT_TRUE(message.ok()) << message.error().message;
  ASSERT_EQ(message->answers.size(), 1u);
  const DnsRecord& txt = message->answers[0];
  EXPECT_EQ(txt.type, kDnsTypeTxt);
  EXPECT_EQ(txt.strings, (std::vector<std::string>{"v=DMARC1; p=", "", "Reject"}));
  EXPECT_EQ(txt.joined_text(), "v=DMARC1; p=Reject");
  // Bytes of every value, a 255-byte string (the most a length byte can say) included.
  std::string all_bytes;
  for (int b = 0; b < 255; ++b) all_bytes += static_cast<char>(b);
  message = parse_dns_message(txt_response(txt_data({all_bytes, "x"})));
  ASSERT_TRUE(message.ok()) << message.error().message;
  EXPECT_EQ(message->answers[0].strings[0], all_bytes);
  EXPECT_EQ(message->answers[0].joined_text(), all_bytes + "x");
  // The data must hold at least one string, and each string must end inside the data.
  EXPECT_FALSE(parse_dns_message(txt_response("")).ok());
  EXPECT_FALSE(parse_dns_message(txt_response("\x05"
                                              "abcd"))
                   .ok());
  EXPECT_FALSE(parse_dns_message(txt_response(txt_data({"ab"}) + "\x03"
                                                                 "x"))
                   .ok());
  // A string may not run on past its record: the record says 3 bytes, the string 4.
  EXPECT_FALSE(parse_dns_message(header(9, 0x8180, 1, 1) + wire_name("a.test") + u16(kDnsTypeTxt) +
                                 u16(kDnsClassIn) + kPointerToQuestion + u16(kDnsTypeTxt) +
                                 u16(kDnsClassIn) + u16(0) + u16(60) + u16(3) +
                                 "\x04"
                                 "abc" +
                                 "d")
                   .ok());
}

TEST(DnsMessage, TxtStringCountAtNAndNPlusOne) {
  auto strings = [](size_t count) {
    std::string data;
    for (size_t i = 0; i < count; ++i) data += txt_data({"s"});
    return data;
  };
  Result<DnsMessage> at = parse_dns_message(txt_response(strings(kMaxDnsTxtStrings)));
  ASSERT_TRUE(at.ok()) << at.error().message;
  EXPECT_EQ(at->answers[0].strings.size(), kMaxDnsTxtStrings);
  EXPECT_EQ(at->answers[0].joined_text(), std::string(kMaxDnsTxtStrings, 's'));
  Result<DnsMessage> over = parse_dns_message(txt_response(strings(kMaxDnsTxtStrings + 1)));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

std::string ptr_response() {
  std::string out = header(3, 0x8180, 1, 1) + wire_name("9.2.0.192.in-addr.arpa") +
                    u16(kDnsTypePtr) + u16(kDnsClassIn);
  // "Mail" then a pointer to "arpa" in the question (offset 12 + 2 + 2 + 2 + 4 + 8 = 30).
  out += record(kPointerToQuestion, kDnsTypePtr, std::string("\x04Mail\xc0\x1e", 7));
  return out;
}

TEST(DnsMessage, PtrIsANameWithCompression) {
  Result<DnsMessage> message = parse_dns_message(ptr_response());
  ASSERT_TRUE(message.ok()) << message.error().message;
  ASSERT_EQ(message->answers.size(), 1u);
  EXPECT_EQ(message->answers[0].type, kDnsTypePtr);
  EXPECT_EQ(message->answers[0].name, "9.2.0.192.in-addr.arpa");
  EXPECT_EQ(message->answers[0].target, "mail.arpa");
  // Data longer or shorter than the name.
  std::string base =
      header(3, 0x8180, 1, 1) + wire_name("a.test") + u16(kDnsTypePtr) + u16(kDnsClassIn);
  EXPECT_FALSE(
      parse_dns_message(base + record(kPointerToQuestion, kDnsTypePtr, wire_name("h.test") + "x"))
          .ok());
  EXPECT_FALSE(parse_dns_message(base + record(kPointerToQuestion, kDnsTypePtr, "\x04host")).ok());
}

TEST(DnsMessage, EveryTruncationOfTxtAndPtrRejected) {
  for (const std::string& full : {txt_response(txt_data({"v=spf1 ", "-all"})), ptr_response()}) {
    ASSERT_TRUE(parse_dns_message(full).ok());
    for (size_t length = 0; length < full.size(); ++length) {
      EXPECT_FALSE(parse_dns_message(full.substr(0, length)).ok()) << length;
    }
  }
}

// A response to name/type with the given rcode and records.
DnsMessage response(const std::string& name, uint16_t type, int rcode,
                    std::vector<DnsRecord> records) {
  DnsMessage m;
  m.response = true;
  m.rcode = rcode;
  m.question_name = name;
  m.question_type = type;
  m.answers = std::move(records);
  return m;
}

DnsRecord cname(const std::string& owner, const std::string& target, uint32_t ttl = 300) {
  DnsRecord r;
  r.name = owner;
  r.type = kDnsTypeCname;
  r.klass = kDnsClassIn;
  r.ttl = ttl;
  r.target = target;
  return r;
}

DnsRecord txt(const std::string& owner, const std::string& text, uint32_t ttl = 300) {
  DnsRecord r;
  r.name = owner;
  r.type = kDnsTypeTxt;
  r.klass = kDnsClassIn;
  r.ttl = ttl;
  r.strings = {text};
  return r;
}

TEST(DnsMessage, SelectFollowsTheCnameChain) {
  // a -> b -> c, c has two TXT records; a TXT of b and one for another name are not the answer.
  Result<DnsAnswerSet> set = select_dns_answer(response(
      "a.test", kDnsTypeTxt, kDnsNoError,
      {txt("b.test", "not me"), cname("a.test", "b.test", 600), cname("b.test", "c.test", 90),
       txt("c.test", "one", 3600), txt("other.test", "forged"), txt("c.test", "two", 120)}));
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->kind, DnsAnswerKind::kRecords);
  EXPECT_EQ(set->canonical_name, "c.test");
  ASSERT_EQ(set->records.size(), 2u);
  EXPECT_EQ(set->records[0].joined_text(), "one");
  EXPECT_EQ(set->records[1].joined_text(), "two");
  EXPECT_EQ(set->ttl_seconds, 90u);  // the chain's second CNAME is the shortest-lived

  // Without a chain, only the question name's records; class other than IN ignored.
  DnsRecord chaos = txt("a.test", "chaos");
  chaos.klass = 3;
  set = select_dns_answer(
      response("a.test", kDnsTypeTxt, kDnsNoError, {chaos, txt("a.test", "in", 50)}));
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->records.size(), 1u);
  EXPECT_EQ(set->records[0].joined_text(), "in");
  EXPECT_EQ(set->ttl_seconds, 50u);
}

TEST(DnsMessage, SelectTellsNxDomainFromNoData) {
  Result<DnsAnswerSet> set = select_dns_answer(response("a.test", kDnsTypeTxt, kDnsNoError, {}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->kind, DnsAnswerKind::kNoData);
  EXPECT_EQ(set->ttl_seconds, 0u);
  // Records of another type only: still NODATA for TXT.
  DnsRecord a;
  a.name = "a.test";
  a.type = kDnsTypeA;
  a.klass = kDnsClassIn;
  a.address = "192.0.2.1";
  set = select_dns_answer(response("a.test", kDnsTypeTxt, kDnsNoError, {a}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->kind, DnsAnswerKind::kNoData);
  // A CNAME whose end has nothing of the type: NODATA at the end of the chain.
  set =
      select_dns_answer(response("a.test", kDnsTypeTxt, kDnsNoError, {cname("a.test", "b.test")}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->kind, DnsAnswerKind::kNoData);
  EXPECT_EQ(set->canonical_name, "b.test");
  // RCODE 3, with or without a chain before the missing name (RFC 6604).
  set = select_dns_answer(response("a.test", kDnsTypeTxt, kDnsNxDomain, {}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->kind, DnsAnswerKind::kNxDomain);
  set = select_dns_answer(
      response("a.test", kDnsTypeTxt, kDnsNxDomain, {cname("a.test", "gone.test")}));
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->kind, DnsAnswerKind::kNxDomain);
  EXPECT_EQ(set->canonical_name, "gone.test");
  for (int rcode : {int{kDnsServFail}, int{kDnsRefused}, int{kDnsFormErr}, int{kDnsNotImp}, 15}) {
    set = select_dns_answer(response("a.test", kDnsTypeTxt, rcode, {txt("a.test", "x")}));
    ASSERT_TRUE(set.ok());
    EXPECT_EQ(set->kind, DnsAnswerKind::kServerError) << rcode;
    EXPECT_TRUE(set->records.empty());
  }
}

TEST(DnsMessage, SelectCnameChainLimitAndLoops) {
  auto chain = [](size_t links) {
    std::vector<DnsRecord> records;
    for (size_t i = 0; i < links; ++i) {
      records.push_back(
          cname("n" + std::to_string(i) + ".test", "n" + std::to_string(i + 1) + ".test"));
    }
    records.push_back(txt("n" + std::to_string(links) + ".test", "end"));
    return response("n0.test", kDnsTypeTxt, kDnsNoError, records);
  };
  Result<DnsAnswerSet> at = select_dns_answer(chain(kMaxDnsCnameChain));
  ASSERT_TRUE(at.ok()) << at.error().message;
  EXPECT_EQ(at->kind, DnsAnswerKind::kRecords);
  EXPECT_EQ(at->canonical_name, "n" + std::to_string(kMaxDnsCnameChain) + ".test");
  Result<DnsAnswerSet> over = select_dns_answer(chain(kMaxDnsCnameChain + 1));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  // a -> b -> a, and a name that aliases itself.
  Result<DnsAnswerSet> loop = select_dns_answer(response(
      "a.test", kDnsTypeTxt, kDnsNoError, {cname("a.test", "b.test"), cname("b.test", "a.test")}));
  ASSERT_FALSE(loop.ok());
  EXPECT_EQ(loop.error().message, "DNS CNAME chain loops");
  EXPECT_FALSE(
      select_dns_answer(response("a.test", kDnsTypeTxt, kDnsNoError, {cname("a.test", "a.test")}))
          .ok());
  // Asking for the CNAME itself follows nothing.
  Result<DnsAnswerSet> own = select_dns_answer(
      response("a.test", kDnsTypeCname, kDnsNoError, {cname("a.test", "a.test")}));
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->records.size(), 1u);
}

}  // namespace
}  // namespace postern
