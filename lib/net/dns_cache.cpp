// The shared DNS answer cache (see dns_cache.hpp). Every method takes the one mutex; the clock
// is read before it, so a slow clock cannot hold the lock.
#include "lib/net/dns_cache.hpp"

#include <algorithm>
#include <chrono>

#include "lib/base/ascii.hpp"

namespace postern {

namespace {

std::string cache_name(std::string_view name) {
  std::string out = ascii_lowercase(name);
  if (!out.empty() && out.back() == '.') out.pop_back();
  return out;
}

size_t answer_bytes(const DnsAnswer& answer) {
  size_t bytes = answer.reason.size() + answer.preferences.size() * sizeof(uint16_t);
  for (const std::string& value : answer.values) bytes += value.size();
  return bytes;
}

}  // namespace

DnsCache::DnsCache(DnsCacheOptions options) : options_(std::move(options)) {}

int64_t DnsCache::now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::optional<DnsAnswer> DnsCache::find(std::string_view name, uint16_t type) {
  int64_t now_ms = now();
  Key key{cache_name(name), type};
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++counters_.misses;
    return std::nullopt;
  }
  if (now_ms >= it->second.expires_ms) {
    age_.erase(it->second.age);
    entries_.erase(it);
    ++counters_.misses;
    return std::nullopt;
  }
  ++counters_.hits;
  DnsAnswer answer = it->second.answer;
  answer.ttl_seconds = static_cast<uint32_t>((it->second.expires_ms - now_ms) / 1000);
  return answer;
}

void DnsCache::store(std::string_view name, uint16_t type, const DnsAnswer& answer) {
  uint32_t ttl_seconds = 0;
  if (answer.status == DnsLookupStatus::kNxDomain ||
      (answer.status == DnsLookupStatus::kOk && answer.values.empty())) {
    ttl_seconds = options_.negative_ttl_seconds;
  } else if (answer.status == DnsLookupStatus::kOk) {
    ttl_seconds = answer.ttl_seconds;
  }
  ttl_seconds = std::min(ttl_seconds, options_.max_ttl_seconds);
  // TTL 0 means "do not cache" (RFC 1035 3.2.1); failures are never kept.
  if (ttl_seconds == 0 || options_.max_entries == 0) return;
  if (answer_bytes(answer) > options_.max_answer_bytes) return;
  int64_t expires_ms = now() + static_cast<int64_t>(ttl_seconds) * 1000;
  Key key{cache_name(name), type};
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    age_.erase(it->second.age);
    entries_.erase(it);
  }
  while (entries_.size() >= options_.max_entries && !age_.empty()) {
    entries_.erase(age_.front());
    age_.pop_front();
    ++counters_.evicted;
  }
  age_.push_back(key);
  entries_.emplace(std::move(key), Entry{answer, expires_ms, std::prev(age_.end())});
  ++counters_.stored;
}

DnsCache::Counters DnsCache::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

size_t DnsCache::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return entries_.size();
}

void DnsCache::clear() {
  std::lock_guard<std::mutex> lock(mutex_);
  entries_.clear();
  age_.clear();
}

}  // namespace postern
