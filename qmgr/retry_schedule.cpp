// Back-off and lifetime arithmetic for qmgr's retries (see retry_schedule.hpp). Clamped so that
// a large attempts counter (read from a queue file) cannot overflow.
#include "retry_schedule.hpp"

#include <algorithm>

namespace postern {

int64_t backoff_seconds(uint32_t attempts_before, int64_t minimal_seconds,
                        int64_t maximal_seconds) {
  int64_t minimal = std::max<int64_t>(1, minimal_seconds);
  int64_t maximal = std::max(minimal, maximal_seconds);
  int64_t delay = minimal;
  for (uint32_t i = 0; i < attempts_before && delay < maximal; ++i) {
    delay = delay > maximal / 2 ? maximal : delay * 2;  // never past maximal: no overflow
  }
  return std::min(delay, maximal);
}

bool queue_lifetime_exceeded(int64_t arrival_time, int64_t now, int64_t lifetime_seconds) {
  return now - arrival_time >= lifetime_seconds;
}

}  // namespace postern
