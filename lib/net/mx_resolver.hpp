// Asynchronous MX lookup for relay (RFC 5321 5.1, null MX RFC 7505), on the caller's libevent
// event_base. libevent's evdns resolves only A/AAAA/PTR, so this sends its own queries: one UDP
// socket per query, built and parsed by lib/net/dns_message (bounded, treats every response as
// hostile). A/AAAA of the MX hosts go through the same code, so one resolver address, one
// timeout policy and one parser cover the whole lookup. Responses must come from the resolver
// address (connected socket), carry our random ID and echo our question; datagrams that do not
// are ignored. Queries offer EDNS(0); a truncated (TC) answer is asked again once over TCP.
// Limits: timeout per attempt, attempts per query (one over TCP), MX hosts per domain
// (MxResolverOptions), message size and answer counts (dns_message).
#pragma once

#include <event2/event.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern {

struct DnsMessage;  // lib/net/dns_message.hpp

struct MxResolverOptions {
  // "127.0.0.1:5353", "[::1]:53", "127.0.0.1" (port 53); empty: the first nameserver in
  // /etc/resolv.conf (127.0.0.1 when there is none, as glibc does).
  std::string resolver_address;
  int timeout_ms = 2000;     // per attempt
  int attempts = 2;          // sends per query (the first and the retries)
  bool want_ipv6 = true;     // also look up AAAA
  size_t max_mx_hosts = 10;  // MX hosts looked at per domain, the most preferred first
  // EDNS(0) UDP payload offered (1232: the DNS flag day 2020 value); 0: plain 512-byte DNS.
  uint16_t edns_udp_bytes = 1232;
};

struct MxHost {
  uint16_t preference = 0;
  std::string host;                    // lower-cased, no trailing dot
  std::vector<std::string> addresses;  // text form, IPv4 first, as the resolver gave them
};

enum class MxStatus {
  kOk,         // hosts holds at least one host with at least one address
  kNullMx,     // "MX 0 ." (RFC 7505): the domain accepts no mail (permanent)
  kNotFound,   // NXDOMAIN, or neither MX nor A/AAAA records (permanent)
  kNoAddress,  // MX records exist but none of their hosts has an address (permanent)
  kTemporary,  // timeout, SERVFAIL, a malformed TCP answer, a socket error
};

struct MxResult {
  MxStatus status = MxStatus::kTemporary;
  bool from_mx = false;       // false: the domain's own A/AAAA (no MX records, RFC 5321 5.1)
  std::vector<MxHost> hosts;  // by preference; random order among equal preferences
  std::string reason;         // why, for a status other than kOk
};

// Parses "host:port" / "[v6]:port" / "host" into a socket address (numeric only).
struct ResolverAddress {
  int family = 0;
  std::string host;
  uint16_t port = 53;
};
Result<ResolverAddress> parse_resolver_address(std::string_view text);

class MxResolver {
 public:
  using Callback = std::function<void(MxResult)>;

  // The base must outlive the resolver.
  static Result<std::unique_ptr<MxResolver>> create(event_base* base, MxResolverOptions options);
  ~MxResolver();
  MxResolver(const MxResolver&) = delete;
  MxResolver& operator=(const MxResolver&) = delete;

  // Starts a lookup; done runs once, from the event loop, never from inside resolve(). Fails
  // at once for a name that is not a valid domain. The returned ID can cancel the lookup.
  Result<uint64_t> resolve(std::string_view domain, Callback done);
  // The addresses (A, and AAAA when want_ipv6) of one host, without an MX lookup: for next
  // hops written "[host]" (RFC 5321 5.1 literal routing, as Postfix reads brackets). The result
  // has one MxHost (preference 0, from_mx false) or kNotFound / kTemporary; done runs as for
  // resolve().
  Result<uint64_t> resolve_host(std::string_view host, Callback done);
  // Forgets a lookup: its callback will not run. Unknown IDs are ignored.
  void cancel(uint64_t lookup_id);
  size_t pending() const { return lookups_.size(); }

 private:
  struct Lookup;  // one resolve() call: its MX query, then its A/AAAA queries
  struct Query;   // one DNS question: its socket, event, retries and outcome

  MxResolver(event_base* base, MxResolverOptions options, ResolverAddress server);
  void start_query(Lookup& lookup, const std::string& name, uint16_t type, size_t host_index);
  void query_done(Query& query);
  void on_mx_answer(Lookup& lookup, Query& query);
  void start_address_phase(Lookup& lookup);
  void finish_if_done(uint64_t lookup_id);
  void finish(uint64_t lookup_id, MxResult result);
  void accept_answer(Query& query, DnsMessage message);
  void fail_query(Query& query, std::string why);
  void start_tcp(Query& query);
  socklen_t server_socket_address(sockaddr_storage& address) const;
  static void on_event(evutil_socket_t fd, short what, void* arg);
  static void on_tcp_event(evutil_socket_t fd, short what, void* arg);

  event_base* base_;
  MxResolverOptions options_;
  ResolverAddress server_;
  uint64_t next_lookup_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Lookup>> lookups_;
};

}  // namespace postern
