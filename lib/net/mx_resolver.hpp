// Asynchronous MX lookup for relay (RFC 5321 5.1, null MX RFC 7505), on the caller's libevent
// event_base. The MX query and the A/AAAA queries of the MX hosts all go through one
// lib/net/dns_client (the query engine SPF, DKIM and DMARC use too), so one resolver address, one
// timeout policy and one bounded parser cover the whole lookup; the client checks that answers
// come from the resolver, carry our random ID and echo our question, offers EDNS(0) and asks a
// truncated answer again over TCP. This file holds only the MX decisions: preference order,
// random order among equals, the A/AAAA fallback, null MX. Limits: timeout per attempt and
// attempts per query (DnsClient), MX hosts per domain (MxResolverOptions), message size and
// answer counts (dns_message).
#pragma once

#include <event2/event.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/net/dns_client.hpp"  // also ResolverAddress, parse_resolver_address

namespace postern {

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

  MxResolver(MxResolverOptions options, std::unique_ptr<DnsClient> client);
  void on_mx_answer(uint64_t lookup_id, DnsClientAnswer answer);
  void on_address_answer(uint64_t lookup_id, size_t query_index, DnsClientAnswer answer);
  // Starts the A (and AAAA) queries of every host; false when none could be started.
  bool start_address_phase(Lookup& lookup);
  void finish_if_done(uint64_t lookup_id);
  void finish(uint64_t lookup_id, MxResult result);

  MxResolverOptions options_;
  std::unique_ptr<DnsClient> client_;
  std::mt19937 shuffle_;  // the order among equal preferences
  uint64_t next_lookup_id_ = 1;
  std::map<uint64_t, std::unique_ptr<Lookup>> lookups_;
};

}  // namespace postern
