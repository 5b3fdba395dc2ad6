// Unit tests for lib/net/mx_resolver.cpp against a real DNS server: dnsmasq (Debian dnsmasq-base),
// started by the test on 127.0.0.1 with a free port and killed by its PID at the end. Checks MX
// order, random order among equal preferences, the A/AAAA fallback, NXDOMAIN, null MX, MX hosts
// without addresses, cancel, and a bounded timeout against a socket that never answers. Every
// event loop run is bounded by a 10 s safety timer.
#include "lib/net/mx_resolver.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/net/dns_message.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern {
namespace {

const char* kDnsmasq = "/usr/sbin/dnsmasq";

uint16_t free_udp_port() {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return 0;
  socklen_t length = sizeof(address);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length);
  return ntohs(address.sin_port);
}

// One blocking query with a short timeout: true when the server answered it.
bool server_answers(uint16_t port) {
  UniqueFd fd(socket(AF_INET, SOCK_DGRAM, 0));
  timeval timeout{0, 100 * 1000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Result<std::string> query = build_dns_query(7, "two.test", kDnsTypeMx);
  if (!query) return false;
  if (sendto(fd.get(), query->data(), query->size(), 0, reinterpret_cast<sockaddr*>(&address),
             sizeof(address)) < 0) {
    return false;
  }
  char buffer[512];
  return recv(fd.get(), buffer, sizeof(buffer), 0) > 0;
}

class Dnsmasq {
 public:
  // Starts dnsmasq; tries a few ports in case another process takes the one picked.
  bool start() {
    for (int attempt = 0; attempt < 5; ++attempt) {
      port_ = free_udp_port();
      if (port_ == 0) continue;
      std::vector<std::string> args = {
          kDnsmasq,
          "--no-daemon",
          "--keep-in-foreground",
          "--no-resolv",
          "--no-hosts",
          "--conf-file=/dev/null",
          "--pid-file=",
          "--user=nobody",
          "--port=" + std::to_string(port_),
          "--listen-address=127.0.0.1",
          "--bind-interfaces",
          "--local=/test/",  // names under .test that are not configured: NXDOMAIN
          "--mx-host=two.test,mx1.two.test,10",
          "--mx-host=two.test,mx2.two.test,20",
          "--host-record=mx1.two.test,127.0.0.2",
          "--host-record=mx2.two.test,127.0.0.3,::3",
          "--mx-host=equal.test,mxa.equal.test,5",
          "--mx-host=equal.test,mxb.equal.test,5",
          "--host-record=mxa.equal.test,127.0.0.5",
          "--host-record=mxb.equal.test,127.0.0.6",
          "--host-record=aonly.test,127.0.0.4",
          "--mx-host=noaddr.test,ghost.noaddr.test,10",
          "--dns-rr=null.test,15,000000",  // RFC 7505: preference 0, exchange "."
          "--host-record=mx00.big.test,127.0.0.7",
      };
      // 40 MX records: over 512 bytes, so only an EDNS(0) query gets them untruncated.
      for (int i = 0; i < 40; ++i) {
        args.push_back(fmt::format("--mx-host=big.test,mx{:02}.big.test,{}", i, 10 + i));
      }
      pid_ = fork();
      if (pid_ == 0) {
        std::vector<char*> argv;
        for (std::string& arg : args) argv.push_back(arg.data());
        argv.push_back(nullptr);
        execv(kDnsmasq, argv.data());
        _exit(127);
      }
      if (pid_ < 0) return false;
      for (int poll = 0; poll < 50; ++poll) {  // up to ~5 s
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
          pid_ = -1;
          break;  // exited (port taken?): next attempt
        }
        if (server_answers(port_)) return true;
      }
      stop();
    }
    return false;
  }
  void stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  ~Dnsmasq() { stop(); }
  uint16_t port() const { return port_; }

 private:
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

struct BaseFree {
  void operator()(event_base* base) const { event_base_free(base); }
};

class MxResolverTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (access(kDnsmasq, X_OK) != 0) return;
    dnsmasq_ = new Dnsmasq();
    if (!dnsmasq_->start()) {
      delete dnsmasq_;
      dnsmasq_ = nullptr;
    }
  }
  static void TearDownTestSuite() {
    delete dnsmasq_;
    dnsmasq_ = nullptr;
  }
  void SetUp() override {
    ASSERT_EQ(access(kDnsmasq, X_OK), 0) << "dnsmasq missing: run scripts/install-deps";
    ASSERT_NE(dnsmasq_, nullptr) << "dnsmasq did not start";
    base_.reset(event_base_new());
    ASSERT_TRUE(base_);
  }

  MxResolverOptions options() const {
    MxResolverOptions o;
    o.resolver_address = "127.0.0.1:" + std::to_string(dnsmasq_->port());
    o.timeout_ms = 1000;
    o.attempts = 2;
    return o;
  }

  // Resolves one domain, running the loop until the callback (at most 10 s).
  std::optional<MxResult> resolve(MxResolver& resolver, std::string_view domain) {
    std::optional<MxResult> out;
    Result<uint64_t> id = resolver.resolve(domain, [&](MxResult result) {
      out = std::move(result);
      event_base_loopbreak(base_.get());
    });
    EXPECT_TRUE(id.ok());
    if (!id.ok()) return out;
    EXPECT_FALSE(out.has_value()) << "callback ran inside resolve()";
    timeval limit{10, 0};
    event_base_loopexit(base_.get(), &limit);
    event_base_dispatch(base_.get());
    return out;
  }

  std::unique_ptr<MxResolver> make(MxResolverOptions o) {
    Result<std::unique_ptr<MxResolver>> resolver = MxResolver::create(base_.get(), std::move(o));
    EXPECT_TRUE(resolver.ok()) << (resolver.ok() ? "" : resolver.error().message);
    return resolver.ok() ? std::move(*resolver) : nullptr;
  }

  static Dnsmasq* dnsmasq_;
  std::unique_ptr<event_base, BaseFree> base_;
};

Dnsmasq* MxResolverTest::dnsmasq_ = nullptr;

TEST_F(MxResolverTest, MxHostsInPreferenceOrderWithAddresses) {
  auto resolver = make(options());
  ASSERT_TRUE(resolver);
  std::optional<MxResult> result = resolve(*resolver, "Two.Test.");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, MxStatus::kOk) << result->reason;
  EXPECT_TRUE(result->from_mx);
  ASSERT_EQ(result->hosts.size(), 2u);
  EXPECT_EQ(result->hosts[0].host, "mx1.two.test");
  EXPECT_EQ(result->hosts[0].preference, 10);
  EXPECT_EQ(result->hosts[0].addresses, std::vector<std::string>{"127.0.0.2"});
  EXPECT_EQ(result->hosts[1].host, "mx2.two.test");
  EXPECT_EQ(result->hosts[1].preference, 20);
  EXPECT_EQ(result->hosts[1].addresses, (std::vector<std::string>{"127.0.0.3", "::3"}));
  EXPECT_EQ(resolver->pending(), 0u);

  // Without IPv6, no AAAA.
  MxResolverOptions v4 = options();
  v4.want_ipv6 = false;
  auto resolver4 = make(v4);
  result = resolve(*resolver4, "two.test");
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->hosts.size(), 2u);
  EXPECT_EQ(result->hosts[1].addresses, std::vector<std::string>{"127.0.0.3"});

  // max_mx_hosts keeps the most preferred.
  MxResolverOptions one = options();
  one.max_mx_hosts = 1;
  auto resolver1 = make(one);
  result = resolve(*resolver1, "two.test");
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->hosts.size(), 1u);
  EXPECT_EQ(result->hosts[0].host, "mx1.two.test");
}

TEST_F(MxResolverTest, LongMxListOverEdnsOrTcp) {
  auto resolver = make(options());
  std::optional<MxResult> result = resolve(*resolver, "big.test");
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->status, MxStatus::kOk) << result->reason;
  ASSERT_EQ(result->hosts.size(), 1u);  // the only one with an address, of the first ten
  EXPECT_EQ(result->hosts[0].host, "mx00.big.test");
  EXPECT_EQ(result->hosts[0].addresses, std::vector<std::string>{"127.0.0.7"});

  MxResolverOptions plain = options();
  plain.edns_udp_bytes = 0;
  auto plain_resolver = make(plain);
  result = resolve(*plain_resolver, "big.test");
  ASSERT_TRUE(result.has_value());
  // Truncated over UDP, asked again over TCP: dnsmasq answers there too.
  EXPECT_EQ(result->status, MxStatus::kOk) << result->reason;
  ASSERT_EQ(result->hosts.size(), 1u);
  EXPECT_EQ(result->hosts[0].host, "mx00.big.test");
}

TEST_F(MxResolverTest, EqualPreferencesInRandomOrder) {
  auto resolver = make(options());
  ASSERT_TRUE(resolver);
  std::set<std::string> firsts;
  for (int i = 0; i < 40 && firsts.size() < 2; ++i) {
    std::optional<MxResult> result = resolve(*resolver, "equal.test");
    ASSERT_TRUE(result.has_value());
    ASSERT_EQ(result->status, MxStatus::kOk) << result->reason;
    ASSERT_EQ(result->hosts.size(), 2u);
    firsts.insert(result->hosts[0].host);
  }
  // Both orders seen (the chance of one order 40 times in a row is 2^-39).
  EXPECT_EQ(firsts, (std::set<std::string>{"mxa.equal.test", "mxb.equal.test"}));
}

TEST_F(MxResolverTest, NoMxFallsBackToTheDomainsAddress) {
  auto resolver = make(options());
  std::optional<MxResult> result = resolve(*resolver, "aonly.test");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, MxStatus::kOk) << result->reason;
  EXPECT_FALSE(result->from_mx);
  ASSERT_EQ(result->hosts.size(), 1u);
  EXPECT_EQ(result->hosts[0].host, "aonly.test");
  EXPECT_EQ(result->hosts[0].preference, 0);
  EXPECT_EQ(result->hosts[0].addresses, std::vector<std::string>{"127.0.0.4"});
}

TEST_F(MxResolverTest, NxDomainIsNotFound) {
  auto resolver = make(options());
  std::optional<MxResult> result = resolve(*resolver, "nowhere.test");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, MxStatus::kNotFound);
  EXPECT_TRUE(result->hosts.empty());
  EXPECT_EQ(result->reason, "nowhere.test: no such domain");
}

TEST_F(MxResolverTest, NullMxIsDistinct) {
  auto resolver = make(options());
  std::optional<MxResult> result = resolve(*resolver, "null.test");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, MxStatus::kNullMx) << result->reason;
  EXPECT_TRUE(result->hosts.empty());
}

TEST_F(MxResolverTest, MxHostWithoutAddress) {
  auto resolver = make(options());
  std::optional<MxResult> result = resolve(*resolver, "noaddr.test");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, MxStatus::kNoAddress) << result->reason;
  EXPECT_TRUE(result->from_mx);
}

TEST_F(MxResolverTest, SeveralLookupsAtOnceAndCancel) {
  auto resolver = make(options());
  std::vector<std::string> finished;
  int remaining = 2;
  auto note = [&](std::string name) {
    return [&, name](MxResult result) {
      EXPECT_EQ(result.status, MxStatus::kOk) << name;
      finished.push_back(name);
      if (--remaining == 0) event_base_loopbreak(base_.get());
    };
  };
  ASSERT_TRUE(resolver->resolve("two.test", note("two")).ok());
  Result<uint64_t> cancelled = resolver->resolve("aonly.test", note("cancelled"));
  ASSERT_TRUE(cancelled.ok());
  ASSERT_TRUE(resolver->resolve("aonly.test", note("aonly")).ok());
  EXPECT_EQ(resolver->pending(), 3u);
  resolver->cancel(*cancelled);
  EXPECT_EQ(resolver->pending(), 2u);
  timeval limit{10, 0};
  event_base_loopexit(base_.get(), &limit);
  event_base_dispatch(base_.get());
  std::sort(finished.begin(), finished.end());
  EXPECT_EQ(finished, (std::vector<std::string>{"aonly", "two"}));
  EXPECT_EQ(resolver->pending(), 0u);
}

TEST_F(MxResolverTest, SilentServerTimesOutAfterTheConfiguredAttempts) {
  // A bound socket that never answers: every datagram queues up in it, unread.
  UniqueFd silent(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  getsockname(silent.get(), reinterpret_cast<sockaddr*>(&address), &length);
  MxResolverOptions o;
  o.resolver_address = "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
  o.timeout_ms = 100;
  o.attempts = 3;
  auto resolver = make(o);
  std::optional<MxResult> result = resolve(*resolver, "two.test");
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->status, MxStatus::kTemporary);
  EXPECT_EQ(result->reason, "no answer from 127.0.0.1 after 3 attempts");
  // Exactly the configured number of queries was sent, each the same MX question.
  int datagrams = 0;
  char buffer[512];
  ssize_t n;
  while ((n = recv(silent.get(), buffer, sizeof(buffer), 0)) > 0 && datagrams < 100) {
    ++datagrams;
    Result<std::string> expected_start =
        build_dns_query(0, "two.test", kDnsTypeMx, o.edns_udp_bytes);
    ASSERT_TRUE(expected_start.ok());
    EXPECT_EQ(std::string(buffer + 2, static_cast<size_t>(n) - 2), expected_start->substr(2));
  }
  EXPECT_EQ(datagrams, 3);
}

TEST_F(MxResolverTest, BadInputRejectedAtOnce) {
  auto resolver = make(options());
  bool called = false;
  EXPECT_FALSE(resolver->resolve("bad..name", [&](MxResult) { called = true; }).ok());
  EXPECT_FALSE(resolver->resolve(std::string(64, 'a') + ".test", [&](MxResult) {}).ok());
  EXPECT_FALSE(called);
  EXPECT_EQ(resolver->pending(), 0u);
  MxResolverOptions bad = options();
  bad.resolver_address = "dns.example:53";
  EXPECT_FALSE(MxResolver::create(base_.get(), bad).ok());
  bad = options();
  bad.attempts = 0;
  EXPECT_FALSE(MxResolver::create(base_.get(), bad).ok());
}

// A resolver played by the test on its own socket, for answers dnsmasq would never give.
class FakeResolver {
 public:
  enum class Mode { kWrongIdFirst, kTruncated, kGarbage, kServFail };
  FakeResolver(event_base* base, Mode mode) : mode_(mode) {
    fd_ = UniqueFd(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_.get(), reinterpret_cast<sockaddr*>(&address), sizeof(address));
    socklen_t length = sizeof(address);
    getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    ev_ = event_new(base, fd_.get(), EV_READ | EV_PERSIST, &FakeResolver::on_read, this);
    event_add(ev_, nullptr);
  }
  ~FakeResolver() { event_free(ev_); }
  uint16_t port() const { return port_; }
  int queries() const { return queries_; }

 private:
  static std::string u16(uint16_t v) {
    return std::string{static_cast<char>(v >> 8), static_cast<char>(v)};
  }
  static void on_read(evutil_socket_t fd, short, void* arg) {
    auto& self = *static_cast<FakeResolver*>(arg);
    char buffer[512];
    sockaddr_storage peer{};
    socklen_t peer_length = sizeof(peer);
    ssize_t n =
        recvfrom(fd, buffer, sizeof(buffer), 0, reinterpret_cast<sockaddr*>(&peer), &peer_length);
    if (n < 12) return;
    ++self.queries_;
    std::string query(buffer, static_cast<size_t>(n));
    Result<DnsMessage> parsed = parse_dns_message(query);
    if (!parsed) return;
    size_t end = 12;  // the question: its name's labels, then type and class
    while (end < query.size() && query[end] != 0) end += 1 + static_cast<uint8_t>(query[end]);
    std::string question = query.substr(12, end + 1 + 4 - 12);
    auto reply = [&](uint16_t id, uint16_t flags, uint16_t answers, const std::string& records) {
      std::string out =
          u16(id) + u16(flags) + u16(1) + u16(answers) + u16(0) + u16(0) + question + records;
      sendto(fd, out.data(), out.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_length);
    };
    auto record = [&](uint16_t type, const std::string& data) {
      return std::string("\xc0\x0c", 2) + u16(type) + u16(kDnsClassIn) + u16(0) + u16(60) +
             u16(static_cast<uint16_t>(data.size())) + data;
    };
    switch (self.mode_) {
      case Mode::kWrongIdFirst:
        if (parsed->question_type == kDnsTypeMx) {
          std::string mx = record(kDnsTypeMx, u16(7) + std::string("\x02mx\x04"
                                                                   "fake\x04test\0",
                                                                   14));
          // Two forgeries come first, both to be ignored: another ID, and our ID with another
          // question (pointing at an "evil" MX).
          reply(static_cast<uint16_t>(parsed->id + 1), 0x8180, 1,
                record(kDnsTypeMx, u16(1) + std::string("\x04"
                                                        "evil\0",
                                                        6)));
          std::string other = u16(parsed->id) + u16(0x8180) + u16(1) + u16(1) + u16(0) + u16(0) +
                              std::string("\x05other\x04test\0", 12) + u16(kDnsTypeMx) +
                              u16(kDnsClassIn) + std::string("\xc0\x0c", 2) + u16(kDnsTypeMx) +
                              u16(kDnsClassIn) + u16(0) + u16(60) + u16(8) + u16(1) +
                              std::string(
                                  "\x04"
                                  "evil\0",
                                  6);
          sendto(fd, other.data(), other.size(), 0, reinterpret_cast<sockaddr*>(&peer),
                 peer_length);
          reply(parsed->id, 0x8180, 1, mx);
        } else if (parsed->question_type == kDnsTypeA) {
          reply(parsed->id, 0x8180, 1, record(kDnsTypeA, std::string("\x7f\x00\x00\x09", 4)));
        } else {
          reply(parsed->id, 0x8180, 0, "");
        }
        break;
      case Mode::kTruncated:
        reply(parsed->id, 0x8380, 0, "");
        break;
      case Mode::kGarbage: {
        std::string junk = u16(parsed->id) + u16(0x8180) + u16(1) + u16(0) + "\x07zz";
        sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&peer), peer_length);
        break;
      }
      case Mode::kServFail:
        reply(parsed->id, 0x8182, 0, "");
        break;
    }
  }

  Mode mode_;
  UniqueFd fd_;
  event* ev_ = nullptr;
  uint16_t port_ = 0;
  int queries_ = 0;
};

TEST_F(MxResolverTest, ForgedAndMismatchedAnswersIgnored) {
  FakeResolver fake(base_.get(), FakeResolver::Mode::kWrongIdFirst);
  MxResolverOptions o;
  o.resolver_address = "127.0.0.1:" + std::to_string(fake.port());
  o.timeout_ms = 2000;
  o.attempts = 1;
  auto resolver = make(o);
  std::optional<MxResult> result = resolve(*resolver, "fake.test");
  ASSERT_TRUE(result.has_value());
  ASSERT_EQ(result->status, MxStatus::kOk) << result->reason;
  ASSERT_EQ(result->hosts.size(), 1u);
  EXPECT_EQ(result->hosts[0].host, "mx.fake.test");
  EXPECT_EQ(result->hosts[0].preference, 7);
  EXPECT_EQ(result->hosts[0].addresses, std::vector<std::string>{"127.0.0.9"});
  EXPECT_EQ(fake.queries(), 3);  // MX, A, AAAA: nothing was retried
}

TEST_F(MxResolverTest, TruncatedGarbageAndServFailAreTemporary) {
  const std::pair<FakeResolver::Mode, std::string> cases[] = {
      // The fake listens on UDP only: the TCP retry is refused.
      {FakeResolver::Mode::kTruncated, "DNS over TCP: Connection refused"},
      {FakeResolver::Mode::kGarbage,
       "no answer from 127.0.0.1 after 2 attempts (last datagram: malformed DNS answer: DNS "
       "message truncated)"},
      {FakeResolver::Mode::kServFail, "DNS error rcode 2"},
  };
  for (const auto& [mode, reason] : cases) {
    FakeResolver fake(base_.get(), mode);
    MxResolverOptions o;
    o.resolver_address = "127.0.0.1:" + std::to_string(fake.port());
    o.timeout_ms = 200;
    o.attempts = 2;
    auto resolver = make(o);
    std::optional<MxResult> result = resolve(*resolver, "fake.test");
    ASSERT_TRUE(result.has_value()) << reason;
    EXPECT_EQ(result->status, MxStatus::kTemporary);
    EXPECT_EQ(result->reason, reason);
    // A datagram that does not parse is ignored (it may be forged), so the query is retried.
    EXPECT_EQ(fake.queries(), mode == FakeResolver::Mode::kGarbage ? 2 : 1);
  }
}

TEST(ResolverAddress, Forms) {
  Result<ResolverAddress> a = parse_resolver_address("127.0.0.1:5353");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->family, AF_INET);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 5353);
  a = parse_resolver_address("10.0.0.1");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 53);
  a = parse_resolver_address("[::1]:5300");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->family, AF_INET6);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, 5300);
  a = parse_resolver_address("2001:db8::53");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->port, 53);
  EXPECT_TRUE(parse_resolver_address("127.0.0.1:65535").ok());
  EXPECT_FALSE(parse_resolver_address("127.0.0.1:65536").ok());
  EXPECT_FALSE(parse_resolver_address("127.0.0.1:0").ok());
  EXPECT_FALSE(parse_resolver_address("127.0.0.1:x").ok());
  EXPECT_FALSE(parse_resolver_address("[::1").ok());
  EXPECT_FALSE(parse_resolver_address("localhost").ok());
}

}  // namespace
}  // namespace postern
