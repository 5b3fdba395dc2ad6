// A process-wide cache of DNS answers for the SPF, DKIM and DMARC lookups, shared by every
// DnsLookupSession of a process (libmilter runs one per connection thread), so a busy sender's
// SPF record or DKIM key is asked once per TTL rather than once per message. Keyed by the
// lower-cased name without its trailing dot and the type. What it keeps came from the network:
// an answer lives no longer than its TTL, cut to max_ttl_seconds; NXDOMAIN and NODATA live
// negative_ttl_seconds (RFC 2308's negative caching, without reading the SOA); temporary
// failures and malformed answers are never kept. Bounded: at most max_entries answers (the
// oldest stored goes first) of at most max_answer_bytes each. Thread-safe (one mutex); the clock
// is injectable so tests can move time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "lib/net/dns_lookup.hpp"

namespace postern {

struct DnsCacheOptions {
  size_t max_entries = 10000;
  uint32_t max_ttl_seconds = 3600;     // the ceiling on any answer's TTL
  uint32_t negative_ttl_seconds = 60;  // NXDOMAIN and NODATA (kOk without values)
  size_t max_answer_bytes = 16384;     // larger answers (values and reason) are not kept
  // Milliseconds on a monotonic clock, called from any thread that uses the cache; empty:
  // std::chrono::steady_clock.
  std::function<int64_t()> now_ms;
};

class DnsCache {
 public:
  explicit DnsCache(DnsCacheOptions options = {});
  DnsCache(const DnsCache&) = delete;
  DnsCache& operator=(const DnsCache&) = delete;

  // The answer stored for name/type while it lives, its ttl_seconds then being what is left of
  // its life (whole seconds); nothing once it has expired.
  std::optional<DnsAnswer> find(std::string_view name, uint16_t type);
  // Keeps an answer by the rules above; anything else is ignored.
  void store(std::string_view name, uint16_t type, const DnsAnswer& answer);

  struct Counters {
    uint64_t hits = 0;
    uint64_t misses = 0;  // including expired entries
    uint64_t stored = 0;
    uint64_t evicted = 0;  // dropped to make room
  };
  Counters counters() const;
  size_t size() const;
  void clear();

 private:
  using Key = std::pair<std::string, uint16_t>;
  struct Entry {
    DnsAnswer answer;
    int64_t expires_ms = 0;
    std::list<Key>::iterator age;  // the entry's place in age_
  };

  int64_t now() const;

  DnsCacheOptions options_;
  mutable std::mutex mutex_;
  std::map<Key, Entry> entries_;
  std::list<Key> age_;  // oldest stored first
  Counters counters_;
};

}  // namespace postern
