// When qmgr tries a deferred message again: exponential back-off from minimal_backoff_time,
// doubling per attempt, capped at maximal_backoff_time (as Postfix's qmgr does). Pure functions,
// run in postern-qmgr; inputs are our own queue file counters and the admin's config, still
// clamped so that no overflow can happen whatever the attempts counter says.
#pragma once

#include <cstdint>

namespace postern {

// Seconds to wait after a failed attempt, when attempts_before attempts had already failed
// (0 for the first failure): minimal * 2^attempts_before, at most maximal (and at least 1).
int64_t backoff_seconds(uint32_t attempts_before, int64_t minimal_seconds, int64_t maximal_seconds);

// True when a message that arrived at arrival_time has been queued for lifetime_seconds or
// longer: its pending recipients bounce instead of being deferred again.
bool queue_lifetime_exceeded(int64_t arrival_time, int64_t now, int64_t lifetime_seconds);

}  // namespace postern
