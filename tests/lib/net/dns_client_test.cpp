// Unit tests for lib/net/dns_client.cpp against the DNS server of dns_test_server.hpp on a free
// loopback port: TXT with several strings, EDNS(0) offered, a ~800-byte TXT truncated over UDP
// and then read whole over TCP (and read whole over UDP when EDNS allows it), CNAME to TXT, PTR,
// NXDOMAIN vs NODATA, SERVFAIL and REFUSED, the timeout after the configured attempts, cancel,
// a client destroyed from its own callback, and the options' bounds. Every event loop run is
// bounded by a 10 s safety timer. (relay's MX lookup through this client is mx_resolver_test's.)
#include "lib/net/dns_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/net/dns_message.hpp"
#include "tests/lib/net/dns_test_server.hpp"

namespace postern {
namespace {

using testing::dns_a_data;
using testing::dns_rr;
using testing::dns_txt_data;
using testing::dns_wire_name;
using testing::DnsTestServer;

class DnsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.start()) << "cannot bind a loopback DNS server";
    base_.reset(event_base_new());
    ASSERT_TRUE(base_);
  }

  DnsClientOptions options() const {
    DnsClientOptions o;
    o.resolver_address = server_.address();
    o.timeout_ms = 1000;
    o.attempts = 2;
    return o;
  }

  std::unique_ptr<DnsClient> make(DnsClientOptions o) {
    Result<std::unique_ptr<DnsClient>> client = DnsClient::create(base_.get(), std::move(o));
    EXPECT_TRUE(client.ok()) << (client.ok() ? "" : client.error().message);
    return client.ok() ? std::move(*client) : nullptr;
  }

  // One question, the loop run until its callback (at most 10 s).
  std::optional<DnsClientAnswer> ask(DnsClient& client, std::string_view name, uint16_t type) {
    std::optional<DnsClientAnswer> out;
    Result<uint64_t> id = client.query(name, type, [&](DnsClientAnswer answer) {
      out = std::move(answer);
      event_base_loopbreak(base_.get());
    });
    EXPECT_TRUE(id.ok()) << (id.ok() ? "" : id.error().message);
    if (!id.ok()) return out;
    EXPECT_FALSE(out.has_value()) << "callback ran inside query()";
    timeval limit{10, 0};
    event_base_loopexit(base_.get(), &limit);
    event_base_dispatch(base_.get());
    return out;
  }

  DnsTestServer server_;
  EventBaseHandle base_;
};

TEST_F(DnsClientTest, TxtWithSeveralStringsOverUdpWithEdnsOffered) {
  server_.add("example.test", kDnsTypeTxt,
              {0,
               {dns_rr("example.test", kDnsTypeTxt, 3600,
                       dns_txt_data({"v=spf1 ", "ip4:192.0.2.0/24", "", " -all"}))}});
  auto client = make(options());
  std::optional<DnsClientAnswer> answer = ask(*client, "Example.TEST.", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->outcome, DnsClientOutcome::kAnswer) << answer->reason;
  EXPECT_EQ(answer->name, "example.test");
  EXPECT_EQ(answer->type, kDnsTypeTxt);
  EXPECT_EQ(answer->rcode, kDnsNoError);
  EXPECT_FALSE(answer->over_tcp);
  EXPECT_EQ(answer->answer.kind, DnsAnswerKind::kRecords);
  ASSERT_EQ(answer->answer.records.size(), 1u);
  EXPECT_EQ(answer->answer.records[0].strings,
            (std::vector<std::string>{"v=spf1 ", "ip4:192.0.2.0/24", "", " -all"}));
  EXPECT_EQ(answer->answer.records[0].joined_text(), "v=spf1 ip4:192.0.2.0/24 -all");
  EXPECT_EQ(answer->answer.ttl_seconds, 3600u);
  std::vector<DnsTestServer::Seen> seen = server_.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].name, "example.test");
  EXPECT_FALSE(seen[0].tcp);
  EXPECT_EQ(seen[0].edns_udp_bytes, 1232);  // EDNS(0) offered at the default size
  EXPECT_EQ(client->pending(), 0u);
}

// A 4096-bit RSA key is ~736 bytes of TXT: four strings, ~800 bytes in all.
std::vector<std::string> long_key_strings() {
  std::vector<std::string> pieces{"v=DKIM1; k=rsa; p="};
  for (char c : {'A', 'B', 'C'}) pieces.push_back(std::string(255, c));
  return pieces;
}

std::string long_key_record() {
  std::vector<std::string> pieces = long_key_strings();
  return dns_rr("sel._domainkey.example.test", kDnsTypeTxt, 600,
                dns_txt_data({pieces[0], pieces[1], pieces[2], pieces[3]}));
}

TEST_F(DnsClientTest, LongTxtTruncatedOverUdpIsReadWholeOverTcp) {
  server_.add("sel._domainkey.example.test", kDnsTypeTxt, {0, {long_key_record()}});
  DnsClientOptions plain = options();
  plain.edns_udp_bytes = 0;  // 512-byte UDP: the server must truncate
  auto client = make(plain);
  std::optional<DnsClientAnswer> answer = ask(*client, "sel._domainkey.example.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->outcome, DnsClientOutcome::kAnswer) << answer->reason;
  EXPECT_TRUE(answer->over_tcp);
  ASSERT_EQ(answer->answer.records.size(), 1u);
  EXPECT_EQ(answer->answer.records[0].strings, long_key_strings());
  EXPECT_EQ(answer->answer.records[0].joined_text().size(), 18u + 3 * 255);
  std::vector<DnsTestServer::Seen> seen = server_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen[0].tcp);
  EXPECT_EQ(seen[0].edns_udp_bytes, 0);
  EXPECT_TRUE(seen[1].tcp);
}

TEST_F(DnsClientTest, LongTxtFitsOverUdpWhenEdnsAllowsIt) {
  server_.add("sel._domainkey.example.test", kDnsTypeTxt, {0, {long_key_record()}});
  auto client = make(options());
  std::optional<DnsClientAnswer> answer = ask(*client, "sel._domainkey.example.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->outcome, DnsClientOutcome::kAnswer) << answer->reason;
  EXPECT_FALSE(answer->over_tcp);
  ASSERT_EQ(answer->answer.records.size(), 1u);
  EXPECT_EQ(answer->answer.records[0].strings, long_key_strings());
  EXPECT_EQ(server_.seen().size(), 1u);
}

TEST_F(DnsClientTest, TruncatedEvenWithEdnsGoesToTcp) {
  DnsTestServer::Reply reply{0, {dns_rr("t.test", kDnsTypeTxt, 60, dns_txt_data({"short"}))}};
  reply.force_truncation = true;
  server_.add("t.test", kDnsTypeTxt, reply);
  auto client = make(options());
  std::optional<DnsClientAnswer> answer = ask(*client, "t.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->outcome, DnsClientOutcome::kAnswer) << answer->reason;
  EXPECT_TRUE(answer->over_tcp);
  ASSERT_EQ(answer->answer.records.size(), 1u);
  EXPECT_EQ(answer->answer.records[0].joined_text(), "short");
}

TEST_F(DnsClientTest, CnameToTxtFollowedInsideTheAnswer) {
  server_.add(
      "_dmarc.alias.test", kDnsTypeTxt,
      {0,
       {dns_rr("_dmarc.alias.test", kDnsTypeCname, 120, dns_wire_name("policy.Host.test")),
        dns_rr("policy.host.test", kDnsTypeTxt, 3600, dns_txt_data({"v=DMARC1; p=none"})),
        // Not on the chain: ignored.
        dns_rr("elsewhere.test", kDnsTypeTxt, 3600, dns_txt_data({"v=DMARC1; p=reject"}))}});
  auto client = make(options());
  std::optional<DnsClientAnswer> answer = ask(*client, "_dmarc.alias.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->outcome, DnsClientOutcome::kAnswer) << answer->reason;
  EXPECT_EQ(answer->answer.canonical_name, "policy.host.test");
  ASSERT_EQ(answer->answer.records.size(), 1u);
  EXPECT_EQ(answer->answer.records[0].joined_text(), "v=DMARC1; p=none");
  EXPECT_EQ(answer->answer.ttl_seconds, 120u);  // the CNAME's

  // A chain that loops is unusable.
  server_.add("loop.test", kDnsTypeTxt,
              {0,
               {dns_rr("loop.test", kDnsTypeCname, 60, dns_wire_name("loop2.test")),
                dns_rr("loop2.test", kDnsTypeCname, 60, dns_wire_name("loop.test"))}});
  answer = ask(*client, "loop.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kMalformed);
  EXPECT_EQ(answer->reason, "malformed DNS answer: DNS CNAME chain loops");
}

TEST_F(DnsClientTest, PtrRecord) {
  server_.add(
      "9.2.0.192.in-addr.arpa", kDnsTypePtr,
      {0,
       {dns_rr("9.2.0.192.in-addr.arpa", kDnsTypePtr, 86400, dns_wire_name("Mail.Example.test"))}});
  auto client = make(options());
  std::optional<DnsClientAnswer> answer = ask(*client, "9.2.0.192.in-addr.arpa", kDnsTypePtr);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->outcome, DnsClientOutcome::kAnswer) << answer->reason;
  ASSERT_EQ(answer->answer.records.size(), 1u);
  EXPECT_EQ(answer->answer.records[0].target, "mail.example.test");
}

TEST_F(DnsClientTest, NxDomainIsNotNoData) {
  server_.add("exists.test", kDnsTypeA,
              {0, {dns_rr("exists.test", kDnsTypeA, 60, dns_a_data("192.0.2.7"))}});
  auto client = make(options());
  std::optional<DnsClientAnswer> answer = ask(*client, "nowhere.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kNxDomain);
  EXPECT_EQ(answer->rcode, kDnsNxDomain);
  EXPECT_EQ(answer->answer.kind, DnsAnswerKind::kNxDomain);

  answer = ask(*client, "exists.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kAnswer);
  EXPECT_EQ(answer->answer.kind, DnsAnswerKind::kNoData);
  EXPECT_TRUE(answer->answer.records.empty());

  answer = ask(*client, "exists.test", kDnsTypeA);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->answer.records.size(), 1u);
  EXPECT_EQ(answer->answer.records[0].address, "192.0.2.7");
}

TEST_F(DnsClientTest, ServFailAndRefusedAreServerErrors) {
  server_.add("broken.test", kDnsTypeTxt, {kDnsServFail, {}});
  server_.add("refused.test", kDnsTypeTxt, {kDnsRefused, {}});
  auto client = make(options());
  std::optional<DnsClientAnswer> answer = ask(*client, "broken.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kServerError);
  EXPECT_EQ(answer->rcode, kDnsServFail);
  EXPECT_EQ(answer->reason, "DNS error rcode 2");
  answer = ask(*client, "refused.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kServerError);
  EXPECT_EQ(answer->rcode, kDnsRefused);
  EXPECT_EQ(server_.seen().size(), 2u);  // an answer, even a failure, is not retried
}

TEST_F(DnsClientTest, SilentServerTimesOutAfterTheConfiguredAttempts) {
  DnsTestServer::Reply silent;
  silent.silent = true;
  server_.add("slow.test", kDnsTypeTxt, silent);
  DnsClientOptions o = options();
  o.timeout_ms = 100;
  o.attempts = 3;
  auto client = make(o);
  std::optional<DnsClientAnswer> answer = ask(*client, "slow.test", kDnsTypeTxt);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kTimeout);
  EXPECT_EQ(answer->rcode, -1);
  EXPECT_EQ(answer->reason, "no answer from 127.0.0.1 after 3 attempts");
  EXPECT_EQ(server_.seen().size(), 3u);
}

TEST_F(DnsClientTest, JunkFloodDoesNotKeepTheQueryAlive) {
  DnsTestServer::Reply babble;
  babble.babble = true;  // a junk datagram every 10 ms, for 3 s
  server_.add("flood.test", kDnsTypeTxt, babble);
  DnsClientOptions o = options();
  o.timeout_ms = 100;
  o.attempts = 2;
  auto client = make(o);
  auto start = std::chrono::steady_clock::now();
  std::optional<DnsClientAnswer> answer = ask(*client, "flood.test", kDnsTypeTxt);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kTimeout);
  EXPECT_EQ(answer->reason,
            "no answer from 127.0.0.1 after 2 attempts (last datagram: malformed DNS answer: DNS "
            "message truncated)");
  // Two attempts of 100 ms, not the flood's 3 s (some slack for a loaded machine).
  EXPECT_LT(elapsed, std::chrono::milliseconds(1500));
  EXPECT_EQ(server_.seen().size(), 2u);
}

TEST_F(DnsClientTest, CancelAndBadNames) {
  server_.add("a.test", kDnsTypeA, {0, {dns_rr("a.test", kDnsTypeA, 60, dns_a_data("192.0.2.1"))}});
  auto client = make(options());
  bool cancelled_ran = false;
  Result<uint64_t> cancelled =
      client->query("a.test", kDnsTypeA, [&](DnsClientAnswer) { cancelled_ran = true; });
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(client->pending(), 1u);
  client->cancel(*cancelled);
  client->cancel(*cancelled + 1000);  // unknown: ignored
  EXPECT_EQ(client->pending(), 0u);
  std::optional<DnsClientAnswer> answer = ask(*client, "a.test", kDnsTypeA);
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(answer->outcome, DnsClientOutcome::kAnswer);
  EXPECT_FALSE(cancelled_ran);

  bool called = false;
  EXPECT_FALSE(client->query("bad..name", kDnsTypeA, [&](DnsClientAnswer) { called = true; }).ok());
  EXPECT_FALSE(client->query(std::string(64, 'a') + ".test", kDnsTypeA, nullptr).ok());
  EXPECT_FALSE(client->query("", kDnsTypeA, nullptr).ok());
  EXPECT_FALSE(called);
  EXPECT_EQ(client->pending(), 0u);
}

TEST_F(DnsClientTest, CallbackMayDestroyTheClient) {
  server_.add("a.test", kDnsTypeA, {0, {dns_rr("a.test", kDnsTypeA, 60, dns_a_data("192.0.2.1"))}});
  std::unique_ptr<DnsClient> client = make(options());
  int calls = 0;
  ASSERT_TRUE(client
                  ->query("a.test", kDnsTypeA,
                          [&](DnsClientAnswer answer) {
                            EXPECT_EQ(answer.outcome, DnsClientOutcome::kAnswer);
                            ++calls;
                            client.reset();
                            event_base_loopbreak(base_.get());
                          })
                  .ok());
  timeval limit{10, 0};
  event_base_loopexit(base_.get(), &limit);
  event_base_dispatch(base_.get());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(client, nullptr);
}

TEST_F(DnsClientTest, OptionsAreBounded) {
  DnsClientOptions o = options();
  o.attempts = kMaxDnsAttempts;
  EXPECT_TRUE(DnsClient::create(base_.get(), o).ok());
  o.attempts = kMaxDnsAttempts + 1;
  EXPECT_FALSE(DnsClient::create(base_.get(), o).ok());
  o = options();
  o.attempts = 0;
  EXPECT_FALSE(DnsClient::create(base_.get(), o).ok());
  o = options();
  o.timeout_ms = 0;
  EXPECT_FALSE(DnsClient::create(base_.get(), o).ok());
  o = options();
  o.resolver_address = "resolver.example:53";
  EXPECT_FALSE(DnsClient::create(base_.get(), o).ok());
}

}  // namespace
}  // namespace postern
