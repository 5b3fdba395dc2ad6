// Unit tests for lib/net/dns_lookup_session.cpp against the DNS server of dns_test_server.hpp on
// a free loopback port: a batch of 5 questions of every type answered out of order, the mapping
// of NOERROR/NODATA/NXDOMAIN/SERVFAIL/REFUSED/timeout/unusable answers to DnsLookupStatus, a
// ~800-byte DKIM key read over TCP after a truncated UDP answer, CNAME to TXT, the per-message
// memo, a shared DnsCache consulted before asking, and four threads each with its own session
// over one cache.
#include "lib/net/dns_lookup_session.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "lib/net/dns_cache.hpp"
#include "lib/net/dns_message.hpp"
#include "tests/lib/net/dns_test_server.hpp"

namespace postern {
namespace {

using testing::dns_a_data;
using testing::dns_rr;
using testing::dns_txt_data;
using testing::dns_u16;
using testing::dns_wire_name;
using testing::DnsTestServer;

class DnsLookupSessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start()) << "cannot bind a loopback DNS server";
    server_.add(
        "example.test", kDnsTypeTxt,
        {0, {dns_rr("example.test", kDnsTypeTxt, 300, dns_txt_data({"v=spf1 ", "a mx -all"}))}});
    server_.add("example.test", kDnsTypeA,
                {0,
                 {dns_rr("example.test", kDnsTypeA, 600, dns_a_data("192.0.2.10")),
                  dns_rr("example.test", kDnsTypeA, 200, dns_a_data("192.0.2.11"))}});
    std::string v6("\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x10", 16);
    server_.add("example.test", kDnsTypeAaaa, {0, {dns_rr("example.test", kDnsTypeAaaa, 600, v6)}});
    server_.add(
        "example.test", kDnsTypeMx,
        {0,
         {dns_rr("example.test", kDnsTypeMx, 600, dns_u16(20) + dns_wire_name("mx2.example.test")),
          dns_rr("example.test", kDnsTypeMx, 600,
                 dns_u16(10) + dns_wire_name("MX1.example.test"))}});
    server_.add("10.2.0.192.in-addr.arpa", kDnsTypePtr,
                {0,
                 {dns_rr("10.2.0.192.in-addr.arpa", kDnsTypePtr, 600,
                         dns_wire_name("mail.example.test"))}});
  }

  DnsClientOptions options() const {
    DnsClientOptions o;
    o.resolver_address = server_.address();
    o.timeout_ms = 1000;
    o.attempts = 2;
    return o;
  }

  std::unique_ptr<DnsLookupSession> make(DnsClientOptions o, DnsCache* cache = nullptr) {
    Result<std::unique_ptr<DnsLookupSession>> session =
        DnsLookupSession::create(std::move(o), cache);
    EXPECT_TRUE(session.ok()) << (session.ok() ? "" : session.error().message);
    return session.ok() ? std::move(*session) : nullptr;
  }

  DnsTestServer server_;
};

TEST_F(DnsLookupSessionTest, BatchOfFiveAnsweredOutOfOrder) {
  server_.hold_until(5);  // the replies go out only once all five questions are in, last first
  auto session = make(options());
  ASSERT_TRUE(session);
  std::vector<DnsQuestion> questions = {{"example.test", kDnsTypeTxt},
                                        {"example.test", kDnsTypeA},
                                        {"example.test", kDnsTypeAaaa},
                                        {"Example.Test.", kDnsTypeMx},
                                        {"10.2.0.192.in-addr.arpa", kDnsTypePtr}};
  std::vector<DnsAnswer> answers = session->lookup(questions);
  ASSERT_EQ(answers.size(), 5u);
  for (const DnsAnswer& answer : answers) {
    EXPECT_EQ(answer.status, DnsLookupStatus::kOk) << answer.reason;
  }
  EXPECT_EQ(answers[0].values, std::vector<std::string>{"v=spf1 a mx -all"});
  EXPECT_EQ(answers[0].ttl_seconds, 300u);
  EXPECT_EQ(answers[1].values, (std::vector<std::string>{"192.0.2.10", "192.0.2.11"}));
  EXPECT_EQ(answers[1].ttl_seconds, 200u);  // the smaller of the two
  EXPECT_EQ(answers[2].values, std::vector<std::string>{"2001:db8::10"});
  EXPECT_EQ(answers[3].values, (std::vector<std::string>{"mx2.example.test", "mx1.example.test"}));
  EXPECT_EQ(answers[3].preferences, (std::vector<uint16_t>{20, 10}));
  EXPECT_EQ(answers[4].values, std::vector<std::string>{"mail.example.test"});
  EXPECT_TRUE(answers[4].preferences.empty());
  // All five went out before any answer came back: one query each, none retried.
  std::vector<DnsTestServer::Seen> seen = server_.seen();
  EXPECT_EQ(seen.size(), 5u);
  EXPECT_EQ(session->queries_sent(), 5u);
}

TEST_F(DnsLookupSessionTest, AtMost32QuestionsInFlight) {
  std::vector<DnsQuestion> questions;
  for (int i = 0; i < 40; ++i) {
    std::string name = "n" + std::to_string(i) + ".test";
    server_.add(
        name, kDnsTypeA,
        {0, {dns_rr(name, kDnsTypeA, 60, dns_a_data(("192.0.2." + std::to_string(i)).c_str()))}});
    questions.push_back({name, kDnsTypeA});
  }
  // The server answers nothing until a 33rd question is in. Sent 32 at a time, the first 32
  // time out; the 33rd comes with the second round, which is then answered.
  server_.hold_until(kMaxDnsQueriesInFlight + 1);
  DnsClientOptions o = options();
  o.timeout_ms = 200;
  o.attempts = 1;
  auto session = make(o);
  std::vector<DnsAnswer> answers = session->lookup(questions);
  ASSERT_EQ(answers.size(), 40u);
  for (size_t i = 0; i < 40; ++i) {
    if (i < kMaxDnsQueriesInFlight) {
      EXPECT_EQ(answers[i].status, DnsLookupStatus::kTemporary) << i;
    } else {
      ASSERT_EQ(answers[i].status, DnsLookupStatus::kOk) << i << " " << answers[i].reason;
      EXPECT_EQ(answers[i].values, std::vector<std::string>{"192.0.2." + std::to_string(i)});
    }
  }
  EXPECT_EQ(session->queries_sent(), 40u);
}

TEST_F(DnsLookupSessionTest, StatusOfEveryKindOfAnswer) {
  server_.add("broken.test", kDnsTypeTxt, {kDnsServFail, {}});
  server_.add("refused.test", kDnsTypeTxt, {kDnsRefused, {}});
  DnsTestServer::Reply silent;
  silent.silent = true;
  server_.add("slow.test", kDnsTypeTxt, silent);
  server_.add("loop.test", kDnsTypeTxt,
              {0, {dns_rr("loop.test", kDnsTypeCname, 60, dns_wire_name("loop.test"))}});
  DnsClientOptions o = options();
  o.timeout_ms = 150;
  auto session = make(o);
  std::vector<DnsQuestion> questions = {
      {"example.test", kDnsTypePtr},    // the name exists: NODATA
      {"nowhere.test", kDnsTypeTxt},    // NXDOMAIN
      {"broken.test", kDnsTypeTxt},     // SERVFAIL
      {"refused.test", kDnsTypeTxt},    // REFUSED
      {"slow.test", kDnsTypeTxt},       // no answer
      {"loop.test", kDnsTypeTxt},       // a CNAME to itself: unusable
      {"bad..name", kDnsTypeTxt},       // never sent
      {"example.test", kDnsTypeCname},  // a type the interface does not offer
  };
  std::vector<DnsAnswer> answers = session->lookup(questions);
  ASSERT_EQ(answers.size(), questions.size());
  EXPECT_EQ(answers[0].status, DnsLookupStatus::kOk);
  EXPECT_TRUE(answers[0].values.empty());
  EXPECT_EQ(answers[1].status, DnsLookupStatus::kNxDomain);
  EXPECT_EQ(answers[1].reason, "NXDOMAIN");
  EXPECT_EQ(answers[2].status, DnsLookupStatus::kTemporary);
  EXPECT_EQ(answers[2].reason, "SERVFAIL");
  EXPECT_EQ(answers[3].status, DnsLookupStatus::kTemporary);
  EXPECT_EQ(answers[3].reason, "REFUSED");
  EXPECT_EQ(answers[4].status, DnsLookupStatus::kTemporary);
  EXPECT_EQ(answers[4].reason, "timeout: no answer from 127.0.0.1 after 2 attempts");
  EXPECT_EQ(answers[5].status, DnsLookupStatus::kMalformed);
  EXPECT_EQ(answers[6].status, DnsLookupStatus::kMalformed);
  EXPECT_EQ(answers[7].status, DnsLookupStatus::kMalformed);
  EXPECT_EQ(answers[7].reason, "DNS type 5 not supported");
  for (const DnsAnswer& answer : answers) {
    if (answer.status != DnsLookupStatus::kOk) {
      EXPECT_TRUE(answer.values.empty());
    }
  }
  // Sent: all but the last two; slow.test twice (two attempts).
  EXPECT_EQ(session->queries_sent(), 6u);
  EXPECT_EQ(server_.seen().size(), 7u);
  EXPECT_TRUE(session->lookup({}).empty());
}

TEST_F(DnsLookupSessionTest, LongDkimKeyOverTcpAndThroughACname) {
  std::string key = "v=DKIM1; k=rsa; p=" + std::string(780, 'K');
  server_.add("s1._domainkey.example.test", kDnsTypeTxt,
              {0,
               {dns_rr("s1._domainkey.example.test", kDnsTypeCname, 900,
                       dns_wire_name("keys.provider.test")),
                dns_rr("keys.provider.test", kDnsTypeTxt, 3600,
                       dns_txt_data({key.substr(0, 255), key.substr(255, 255), key.substr(510, 255),
                                     key.substr(765)}))}});
  DnsClientOptions o = options();
  o.edns_udp_bytes = 0;  // the ~800-byte answer is truncated over UDP
  auto session = make(o);
  DnsAnswer answer = session->lookup_one("s1._domainkey.example.test", kDnsTypeTxt);
  ASSERT_EQ(answer.status, DnsLookupStatus::kOk) << answer.reason;
  EXPECT_EQ(answer.values, std::vector<std::string>{key});
  EXPECT_EQ(answer.ttl_seconds, 900u);
  std::vector<DnsTestServer::Seen> seen = server_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].tcp);
  EXPECT_TRUE(seen[1].tcp);
}

TEST_F(DnsLookupSessionTest, PerMessageMemo) {
  auto session = make(options());
  std::vector<DnsQuestion> twice = {{"example.test", kDnsTypeTxt}, {"EXAMPLE.test.", kDnsTypeTxt}};
  std::vector<DnsAnswer> answers = session->lookup(twice);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].values, std::vector<std::string>{"v=spf1 a mx -all"});
  EXPECT_EQ(answers[1].values, answers[0].values);
  EXPECT_EQ(session->queries_sent(), 1u);  // asked twice in one batch, sent once
  // Asked again in the same message: from the memo, failures included.
  EXPECT_EQ(session->lookup_one("example.test", kDnsTypeTxt).values, answers[0].values);
  EXPECT_EQ(session->lookup_one("nowhere.test", kDnsTypeTxt).status, DnsLookupStatus::kNxDomain);
  EXPECT_EQ(session->lookup_one("nowhere.test", kDnsTypeTxt).status, DnsLookupStatus::kNxDomain);
  EXPECT_EQ(session->queries_sent(), 2u);
  // The next message asks the resolver again.
  session->clear_memo();
  EXPECT_EQ(session->lookup_one("example.test", kDnsTypeTxt).values, answers[0].values);
  EXPECT_EQ(session->queries_sent(), 3u);
  EXPECT_EQ(server_.seen().size(), 3u);
}

TEST_F(DnsLookupSessionTest, SharedCacheConsultedBeforeAsking) {
  DnsCache cache;
  auto first = make(options(), &cache);
  auto second = make(options(), &cache);
  DnsAnswer answer = first->lookup_one("example.test", kDnsTypeMx);
  ASSERT_EQ(answer.status, DnsLookupStatus::kOk);
  EXPECT_EQ(first->lookup_one("nowhere.test", kDnsTypeA).status, DnsLookupStatus::kNxDomain);
  server_.add("broken.test", kDnsTypeTxt, {kDnsServFail, {}});
  EXPECT_EQ(first->lookup_one("broken.test", kDnsTypeTxt).status, DnsLookupStatus::kTemporary);
  EXPECT_EQ(server_.seen().size(), 3u);
  // Another session (another message, another thread) gets the answers from the cache...
  DnsAnswer cached = second->lookup_one("example.test", kDnsTypeMx);
  EXPECT_EQ(cached.status, DnsLookupStatus::kOk);
  EXPECT_EQ(cached.values, answer.values);
  EXPECT_EQ(cached.preferences, answer.preferences);
  EXPECT_LE(cached.ttl_seconds, 600u);
  EXPECT_EQ(second->lookup_one("nowhere.test", kDnsTypeA).status, DnsLookupStatus::kNxDomain);
  EXPECT_EQ(second->queries_sent(), 0u);
  // ...but a temporary failure is asked again.
  EXPECT_EQ(second->lookup_one("broken.test", kDnsTypeTxt).status, DnsLookupStatus::kTemporary);
  EXPECT_EQ(second->queries_sent(), 1u);
  EXPECT_EQ(server_.seen().size(), 4u);
}

TEST_F(DnsLookupSessionTest, FourThreadsEachWithASessionOverOneCache) {
  DnsCache cache;
  std::vector<std::vector<DnsAnswer>> results(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      Result<std::unique_ptr<DnsLookupSession>> session =
          DnsLookupSession::create(options(), &cache);
      if (!session) return;
      for (int round = 0; round < 5; ++round) {
        (*session)->clear_memo();
        std::vector<DnsAnswer> answers =
            (*session)->lookup(std::vector<DnsQuestion>{{"example.test", kDnsTypeTxt},
                                                        {"example.test", kDnsTypeA},
                                                        {"10.2.0.192.in-addr.arpa", kDnsTypePtr},
                                                        {"nowhere.test", kDnsTypeTxt}});
        results[t].insert(results[t].end(), answers.begin(), answers.end());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const std::vector<DnsAnswer>& answers : results) {
    ASSERT_EQ(answers.size(), 20u);
    for (size_t i = 0; i < answers.size(); i += 4) {
      EXPECT_EQ(answers[i].values, std::vector<std::string>{"v=spf1 a mx -all"});
      EXPECT_EQ(answers[i + 1].values, (std::vector<std::string>{"192.0.2.10", "192.0.2.11"}));
      EXPECT_EQ(answers[i + 2].values, std::vector<std::string>{"mail.example.test"});
      EXPECT_EQ(answers[i + 3].status, DnsLookupStatus::kNxDomain);
    }
  }
  // The cache kept the server to far fewer than the 80 questions asked.
  EXPECT_LT(server_.seen().size(), 80u);
  EXPECT_GE(server_.seen().size(), 4u);
}

}  // namespace
}  // namespace postern
