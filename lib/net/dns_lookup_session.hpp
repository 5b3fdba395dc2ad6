// The DnsLookup that SPF, DKIM and DMARC evaluate against in postern-authmilter: a private
// libevent event_base and a lib/net/dns_client on it, so every question goes to the one resolver
// (smtp_dns_resolver_address) with the relay's timeouts, EDNS(0) and TCP retry, and none through
// a blocking libc call. lookup() sends every question of a batch at once (at most
// kMaxDnsQueriesInFlight in flight) and runs its loop until each is answered or has timed out;
// a safety timer bounds the loop at the attempts' worst case even if an event were lost.
// Answers are hostile data: they arrive through the client's checks and dns_message's bounds.
//
// Threads: libmilter calls each connection from its own thread; give each thread its own
// session and never share one. The DnsCache it may consult is the one thing shared (it locks).
//
// Per-message memo: a session remembers every answer it gave (at most kMaxDnsSessionMemo),
// failures included, until clear_memo(). Reuse one session for all the lookups of one message,
// so SPF, DKIM and DMARC asking the same question get one answer and wait once; call clear_memo()
// when the next message starts. The memo ignores TTLs (a message's checks take seconds); the
// DnsCache is what honours them across messages.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/base/result.hpp"
#include "lib/net/dns_client.hpp"
#include "lib/net/dns_lookup.hpp"

namespace postern {

class DnsCache;  // lib/net/dns_cache.hpp

inline constexpr size_t kMaxDnsQueriesInFlight = 32;  // UDP sockets one session holds at once
inline constexpr size_t kMaxDnsSessionMemo = 1024;    // answers remembered per message

class DnsLookupSession final : public DnsLookup {
 public:
  // cache may be null; when given it must outlive the session.
  static Result<std::unique_ptr<DnsLookupSession>> create(DnsClientOptions options,
                                                          DnsCache* cache = nullptr);
  ~DnsLookupSession() override;
  DnsLookupSession(const DnsLookupSession&) = delete;
  DnsLookupSession& operator=(const DnsLookupSession&) = delete;

  // Answers every question in order: from the memo, else the cache, else the resolver (a name
  // asked twice in one batch is sent once). A question with a bad name or a type other than A,
  // AAAA, MX, TXT and PTR gets kMalformed without being sent.
  std::vector<DnsAnswer> lookup(std::span<const DnsQuestion> questions) override;

  // Forgets the memo: call it between messages.
  void clear_memo() { memo_.clear(); }
  // Questions sent to the resolver so far (not those answered by the memo or the cache).
  uint64_t queries_sent() const { return queries_sent_; }

 private:
  using Key = std::pair<std::string, uint16_t>;  // lower-cased name without trailing dot, type

  DnsLookupSession(EventBaseHandle base, std::unique_ptr<DnsClient> client, DnsCache* cache);
  // Sends questions[indexes] and runs the loop until all are answered.
  void ask(std::span<const DnsQuestion> questions, std::span<const size_t> indexes,
           std::vector<DnsAnswer>& answers);

  EventBaseHandle base_;  // declared first: freed after the client's events
  std::unique_ptr<DnsClient> client_;
  DnsCache* cache_;
  std::map<Key, DnsAnswer> memo_;
  uint64_t queries_sent_ = 0;
};

// What a DnsClient answer means for the evaluators (DnsLookupStatus, values by type).
DnsAnswer dns_answer_from_client(const DnsClientAnswer& answer);

}  // namespace postern
