// Failed-login throttling for submission and imapd: counts AUTH failures per client address and
// per user name within a sliding window, tells the daemon how long to wait before answering the
// next attempt (growing delays), and when to refuse for a while (454 4.7.0 on submission, or 421
// and hang up; NO [UNAVAILABLE] on IMAP). One instance per process, used from its event loop
// (not thread-safe). Keys come from the network (hostile): user names are cut to kMaxKeyBytes,
// and at most max_tracked_keys keys are kept; past that, the least recently failed key is
// dropped (its failures are the oldest; a refused key can thus be pushed out by as many fresh
// keys as the bound, which a flood of that size makes moot anyway). The clock is injectable so
// tests need no sleeps.
//
// For a key with n failures in the last `window` (a successful login clears the user's count,
// not the address's, so one good account cannot launder an address's failures):
//   delay before answering = 0 while n <= free_failures, then first_delay doubling per failure
//   up to max_delay (defaults: n=0..2: 0, 3: 1s, 4: 2s, 5: 4s, 6: 8s, 7+: 16s);
//   the failure that makes n reach refuse_after_failures starts a refusal of refuse_for, after
//   which the key starts afresh. Failures recorded while refused are ignored (the daemon does
//   not check passwords then). The verdict for an attempt is the stricter of its two keys.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace postern {

struct AuthThrottleLimits {
  uint32_t free_failures = 2;
  std::chrono::milliseconds first_delay{1000};
  std::chrono::milliseconds max_delay{16000};
  uint32_t refuse_after_failures = 10;
  std::chrono::milliseconds window{10 * 60 * 1000};
  std::chrono::milliseconds refuse_for{10 * 60 * 1000};
  size_t max_tracked_keys = 100000;
};

class MainConfig;
// The limits from main.cf's auth_throttle_* parameters (submission and imapd share them).
AuthThrottleLimits auth_throttle_limits(const MainConfig& config);

struct AuthThrottleVerdict {
  std::chrono::milliseconds delay{0};        // wait this long before answering the attempt
  bool refuse = false;                       // refuse the attempt without checking it
  std::chrono::milliseconds retry_after{0};  // when refusing: time until the refusal ends
};

class AuthThrottle {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr size_t kMaxKeyBytes = 320;

  explicit AuthThrottle(AuthThrottleLimits limits = {}, Clock clock = nullptr);

  // What to do with an attempt from client_address (textual IP) as user (may be empty when the
  // client has not named one yet).
  AuthThrottleVerdict check(std::string_view client_address, std::string_view user) const;
  void record_failure(std::string_view client_address, std::string_view user);
  void record_success(std::string_view client_address, std::string_view user);

  size_t tracked_keys() const { return entries_.size(); }
  // Failures currently counted for one key (tests, logging).
  uint32_t address_failures(std::string_view client_address) const;
  uint32_t user_failures(std::string_view user) const;

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  struct Entry {
    std::vector<TimePoint> failures;  // oldest first, at most refuse_after_failures
    TimePoint refused_until{};
    bool refused = false;
    std::list<std::string>::iterator lru_position;  // in lru_, most recently failed first
  };

  static std::string make_key(char kind, std::string_view name);
  TimePoint now() const;
  uint32_t live_failures(const Entry& entry, TimePoint now) const;
  AuthThrottleVerdict verdict_for(const std::string& key, TimePoint now) const;
  void fail_key(const std::string& key, TimePoint now);
  void forget(const std::string& key);
  void make_room();

  AuthThrottleLimits limits_;
  Clock clock_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;
};

}  // namespace postern
