// The restart back-off of one service (Postfix master's "throttling"). A worker that exits
// when it was not asked to, or a program that cannot be started at all, throttles its service:
// no worker of it is started for a delay that begins at service_throttle_time (never below
// kMinThrottle, so 0s is no busy loop), doubles with each throttle of the same streak and never
// exceeds service_throttle_limit. Then the service is started again: forever, never given up.
// A streak ends once the service has run for service_throttle_reset_time since its last
// throttle without a crash; the next crash starts from service_throttle_time again.
// Crashes of other workers of the service while it is throttled are counted, but neither extend
// the throttle nor double the next one (a service with many workers is not punished per worker).
// Process: master. Pure bookkeeping: no clock, no timer, no log (the caller has those), so that
// tests/master/service_throttle_test.cpp can drive the schedule with made-up times.
#pragma once

#include <chrono>
#include <cstdint>

namespace postern::master {

using ThrottleClock = std::chrono::steady_clock;

// The shortest throttle whatever service_throttle_time says: a program that exits at once is
// started at most ten times a second even with service_throttle_time = 0s.
inline constexpr std::chrono::milliseconds kMinThrottle{100};

struct ThrottleSettings {
  std::chrono::milliseconds first{2000};         // service_throttle_time
  std::chrono::milliseconds limit{60000};        // service_throttle_limit
  std::chrono::milliseconds reset_after{60000};  // service_throttle_reset_time
};

// What one crash means for the service.
struct ThrottleDecision {
  bool throttle = false;               // false: the service is throttled already
  std::chrono::milliseconds delay{0};  // with throttle: no new worker before this has passed
  int64_t crashes = 0;                 // consecutive crashes in this streak, this one included
  bool streak_reset = false;           // the service had run cleanly: the back-off starts over
};

class ServiceThrottle {
 public:
  ServiceThrottle(const ThrottleSettings& settings, ThrottleClock::time_point started)
      : settings_(settings), running_since_(started) {}

  // A worker exited unexpectedly (or could not be started) at now.
  ThrottleDecision crashed(ThrottleClock::time_point now);
  // The throttle's delay has passed and the service's workers are started again at now.
  void ended(ThrottleClock::time_point now);

  bool throttled() const { return throttled_; }
  int64_t crashes() const { return crashes_; }

  // The delay of the throttle numbered round (0 for the first) of a streak.
  static std::chrono::milliseconds delay_for(const ThrottleSettings& settings, int64_t round);

 private:
  ThrottleSettings settings_;
  ThrottleClock::time_point running_since_;  // start, or the end of the last throttle
  int64_t crashes_ = 0;                      // in this streak
  int64_t rounds_ = 0;                       // throttles in this streak
  bool throttled_ = false;
};

}  // namespace postern::master
