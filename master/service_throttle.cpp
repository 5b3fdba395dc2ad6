// The restart back-off of one service (master/service_throttle.hpp). Process: master. Bounded:
// the doubling stops at the limit, so no loop runs more than ~64 rounds and nothing overflows.
#include "master/service_throttle.hpp"

#include <algorithm>

namespace postern::master {

std::chrono::milliseconds ServiceThrottle::delay_for(const ThrottleSettings& settings,
                                                     int64_t round) {
  std::chrono::milliseconds limit = std::max(settings.limit, kMinThrottle);
  std::chrono::milliseconds delay = std::clamp(settings.first, kMinThrottle, limit);
  for (int64_t i = 0; i < round && delay < limit; ++i) delay = std::min(delay * 2, limit);
  return delay;
}

ThrottleDecision ServiceThrottle::crashed(ThrottleClock::time_point now) {
  ThrottleDecision decision;
  if (throttled_) {
    decision.crashes = ++crashes_;
    return decision;
  }
  if (crashes_ > 0 && now - running_since_ >= settings_.reset_after) {
    crashes_ = 0;
    rounds_ = 0;
    decision.streak_reset = true;
  }
  decision.throttle = true;
  decision.delay = delay_for(settings_, rounds_);
  decision.crashes = ++crashes_;
  ++rounds_;
  throttled_ = true;
  return decision;
}

void ServiceThrottle::ended(ThrottleClock::time_point now) {
  throttled_ = false;
  running_since_ = now;
}

}  // namespace postern::master
