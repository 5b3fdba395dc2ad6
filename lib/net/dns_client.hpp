// The asynchronous DNS query engine on a caller's libevent event_base: one question in, one
// DnsClientAnswer out, from the event loop. Used by relay (through lib/net/mx_resolver) and by
// the SPF, DKIM and DMARC lookups (through lib/net/dns_lookup_session), so that all of Postern's
// DNS goes to one resolver address (smtp_dns_resolver_address) with one timeout policy and one
// parser. libevent's evdns resolves only A/AAAA/PTR, so this sends its own queries: one UDP socket
// per query, connected to the resolver (the kernel drops datagrams from anyone else), a random
// ID per query, EDNS(0) offered, and a truncated (TC) answer asked again once over TCP
// (RFC 7766). Everything that arrives is hostile: it is read by lib/net/dns_message's bounded
// parser, and a datagram that does not parse, or does not carry our ID and echo our question, is
// ignored (it may be forged) while the query keeps waiting. A TCP answer is read to at most its
// two-byte length prefix plus kMaxDnsMessageBytes. CNAME chains are followed inside one answer
// (select_dns_answer, at most kMaxDnsCnameChain links). Limits: timeout per attempt, attempts
// (at most kMaxDnsAttempts), datagrams read per wakeup, message size and answer counts.
// Not thread-safe: a client belongs to the thread that runs its event_base.
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/net/dns_message.hpp"

namespace postern {

inline constexpr int kMaxDnsAttempts = 10;
// Datagrams read from one query's socket per wakeup, so a flood cannot hold the loop.
inline constexpr int kMaxDnsDatagramsPerWakeup = 16;

struct DnsClientOptions {
  // "127.0.0.1:5353", "[::1]:53", "127.0.0.1" (port 53); empty: the first nameserver in
  // /etc/resolv.conf (127.0.0.1 when there is none, as glibc does).
  std::string resolver_address;
  int timeout_ms = 2000;  // per attempt, and for the one TCP attempt
  int attempts = 2;       // UDP sends per query (the first and the retries)
  // EDNS(0) UDP payload offered (1232: the DNS flag day 2020 value); 0: plain 512-byte DNS.
  uint16_t edns_udp_bytes = 1232;
};

// Parses "host:port" / "[v6]:port" / "host" into a socket address (numeric only).
struct ResolverAddress {
  int family = 0;
  std::string host;
  uint16_t port = 53;
};
Result<ResolverAddress> parse_resolver_address(std::string_view text);

enum class DnsClientOutcome {
  kAnswer,        // NOERROR: answer.records may be empty (NODATA)
  kNxDomain,      // RCODE 3
  kServerError,   // another rcode (SERVFAIL, REFUSED...): rcode says which
  kTimeout,       // no usable answer after every attempt
  kNetworkError,  // a socket error, the TCP connection refused or closed early
  kMalformed,     // the answer could not be used: a TCP answer that does not parse or match,
                  // a CNAME loop or an over-long chain
};

struct DnsClientAnswer {
  DnsClientOutcome outcome = DnsClientOutcome::kTimeout;
  std::string name;  // as asked, lower-cased, no trailing dot
  uint16_t type = 0;
  int rcode = -1;  // the response's rcode, -1 without a response
  bool over_tcp = false;
  // kAnswer: the records of the asked type at the end of the CNAME chain, their owner, and the
  // smallest TTL of the records used (CNAMEs included).
  DnsAnswerSet answer;
  std::string reason;  // why, for an outcome other than kAnswer and kNxDomain
};

class DnsClient {
 public:
  using Callback = std::function<void(DnsClientAnswer)>;

  // The base must outlive the client. Fails for a bad resolver address or options.
  static Result<std::unique_ptr<DnsClient>> create(event_base* base, DnsClientOptions options);
  ~DnsClient();
  DnsClient(const DnsClient&) = delete;
  DnsClient& operator=(const DnsClient&) = delete;

  // Sends one question; done runs once, from the event loop, never from inside query(), and may
  // destroy the client. Fails at once for a name that is not a valid domain. The returned ID can
  // cancel the query.
  Result<uint64_t> query(std::string_view name, uint16_t type, Callback done);
  // Forgets a query: its callback will not run. Unknown IDs are ignored.
  void cancel(uint64_t query_id);
  size_t pending() const { return queries_.size(); }
  const DnsClientOptions& options() const { return options_; }
  const ResolverAddress& server() const { return server_; }

 private:
  struct Query;  // one question: its socket, event, retries and outcome

  DnsClient(event_base* base, DnsClientOptions options, ResolverAddress server);
  socklen_t server_socket_address(sockaddr_storage& address) const;
  timeval attempt_timeout() const;
  void on_datagrams(Query& query);
  void on_udp_timeout(Query& query);
  void start_tcp(Query& query);
  void on_tcp(Query& query, short what);
  void accept_message(Query& query, DnsMessage message);
  void finish(Query& query, DnsClientAnswer answer);
  void fail(Query& query, DnsClientOutcome outcome, std::string why);
  static void on_event(evutil_socket_t fd, short what, void* arg);
  static void on_tcp_event(evutil_socket_t fd, short what, void* arg);

  event_base* base_;
  DnsClientOptions options_;
  ResolverAddress server_;
  std::mt19937 random_ids_;  // per client: clients of different threads share nothing
  uint64_t next_query_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Query>> queries_;
};

}  // namespace postern
