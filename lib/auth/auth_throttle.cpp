// Failed-login throttling (see auth_throttle.hpp for the rules). Runs in submission and imapd's
// event loop. Memory is bounded by max_tracked_keys entries of at most refuse_after_failures time
// points and a key of at most kMaxKeyBytes; each call does O(1) hash-map and list work (and
// looks at no more than refuse_after_failures time points per key).
#include "lib/auth/auth_throttle.hpp"

#include <algorithm>

#include "lib/config/main_cf.hpp"

namespace postern {

AuthThrottle::AuthThrottle(AuthThrottleLimits limits, Clock clock)
    : limits_(limits), clock_(std::move(clock)) {
  if (limits_.refuse_after_failures == 0) limits_.refuse_after_failures = 1;
  if (limits_.max_tracked_keys < 2) limits_.max_tracked_keys = 2;  // one address and one user
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

std::string AuthThrottle::make_key(char kind, std::string_view name) {
  std::string key(1, kind);
  key.append(name.substr(0, kMaxKeyBytes));
  if (kind == 'u') {
    for (char& c : key) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return key;
}

AuthThrottle::TimePoint AuthThrottle::now() const {
  return clock_();
}

uint32_t AuthThrottle::live_failures(const Entry& entry, TimePoint now) const {
  uint32_t count = 0;
  for (TimePoint failed_at : entry.failures) {
    if (now - failed_at < limits_.window) ++count;
  }
  return count;
}

AuthThrottleVerdict AuthThrottle::verdict_for(const std::string& key, TimePoint now) const {
  AuthThrottleVerdict verdict;
  auto found = entries_.find(key);
  if (found == entries_.end()) return verdict;
  const Entry& entry = found->second;
  if (entry.refused && now < entry.refused_until) {
    verdict.refuse = true;
    verdict.retry_after = std::chrono::ceil<std::chrono::milliseconds>(entry.refused_until - now);
    return verdict;
  }
  const uint32_t failures = live_failures(entry, now);
  if (failures <= limits_.free_failures) return verdict;
  std::chrono::milliseconds delay = limits_.first_delay;
  for (uint32_t step = limits_.free_failures + 1; step < failures; ++step) {
    if (delay >= limits_.max_delay) break;
    delay *= 2;
  }
  verdict.delay = std::min(delay, limits_.max_delay);
  return verdict;
}

AuthThrottleVerdict AuthThrottle::check(std::string_view client_address,
                                        std::string_view user) const {
  const TimePoint at = now();
  AuthThrottleVerdict by_address = verdict_for(make_key('a', client_address), at);
  AuthThrottleVerdict by_user =
      user.empty() ? AuthThrottleVerdict{} : verdict_for(make_key('u', user), at);
  if (by_address.refuse || by_user.refuse) {
    AuthThrottleVerdict verdict;
    verdict.refuse = true;
    verdict.retry_after = std::max(by_address.retry_after, by_user.retry_after);
    return verdict;
  }
  return by_address.delay >= by_user.delay ? by_address : by_user;
}

void AuthThrottle::forget(const std::string& key) {
  auto found = entries_.find(key);
  if (found == entries_.end()) return;
  lru_.erase(found->second.lru_position);
  entries_.erase(found);
}

void AuthThrottle::make_room() {
  // The least recently failed key goes first: its failures are the oldest, so it is the first to
  // expire anyway (only a refusal can outlive them; see the header).
  while (entries_.size() >= limits_.max_tracked_keys && !lru_.empty()) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

void AuthThrottle::fail_key(const std::string& key, TimePoint now) {
  auto found = entries_.find(key);
  if (found == entries_.end()) {
    make_room();
    lru_.push_front(key);
    found = entries_.emplace(key, Entry{}).first;
    found->second.lru_position = lru_.begin();
  } else {
    lru_.splice(lru_.begin(), lru_, found->second.lru_position);
  }
  Entry& entry = found->second;
  if (entry.refused) {
    if (now < entry.refused_until) return;  // ignored while refused
    entry.refused = false;                  // the refusal is over: start afresh
    entry.failures.clear();
  }
  std::erase_if(entry.failures, [&](TimePoint t) { return !(now - t < limits_.window); });
  entry.failures.push_back(now);
  if (entry.failures.size() >= limits_.refuse_after_failures) {
    entry.refused = true;
    entry.refused_until = now + limits_.refuse_for;
    entry.failures.clear();
  }
}

void AuthThrottle::record_failure(std::string_view client_address, std::string_view user) {
  const TimePoint at = now();
  fail_key(make_key('a', client_address), at);
  if (!user.empty()) fail_key(make_key('u', user), at);
}

void AuthThrottle::record_success(std::string_view /*client_address*/, std::string_view user) {
  if (!user.empty()) forget(make_key('u', user));
}

uint32_t AuthThrottle::address_failures(std::string_view client_address) const {
  auto found = entries_.find(make_key('a', client_address));
  return found == entries_.end() ? 0 : live_failures(found->second, now());
}

uint32_t AuthThrottle::user_failures(std::string_view user) const {
  auto found = entries_.find(make_key('u', user));
  return found == entries_.end() ? 0 : live_failures(found->second, now());
}

AuthThrottleLimits auth_throttle_limits(const MainConfig& config) {
  AuthThrottleLimits limits;
  limits.free_failures = static_cast<uint32_t>(config.get_int("auth_throttle_free_failures"));
  limits.max_delay = std::chrono::seconds(config.get_seconds("auth_throttle_max_delay"));
  limits.first_delay = std::min(limits.first_delay, limits.max_delay);
  limits.refuse_after_failures =
      static_cast<uint32_t>(config.get_int("auth_throttle_refuse_after"));
  limits.refuse_for = std::chrono::seconds(config.get_seconds("auth_throttle_refuse_time"));
  limits.window = std::chrono::seconds(config.get_seconds("auth_throttle_window"));
  return limits;
}

}  // namespace postern
