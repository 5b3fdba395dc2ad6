// master/service_throttle: the restart back-off of one service, driven with made-up times.
// The schedule doubles from service_throttle_time, stops at service_throttle_limit, never goes
// below kMinThrottle (0s included), starts over after service_throttle_reset_time of clean
// running, and never ends: there is no crash count after which a service is given up.
#include "master/service_throttle.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace postern::master {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

ThrottleSettings settings(milliseconds first, milliseconds limit, milliseconds reset_after) {
  ThrottleSettings s;
  s.first = first;
  s.limit = limit;
  s.reset_after = reset_after;
  return s;
}

// Crash, wait out the throttle, start again and crash after `runs` of running: the delays.
std::vector<int64_t> crash_loop(ServiceThrottle& throttle, ThrottleClock::time_point& now,
                                int count, milliseconds runs = milliseconds(0)) {
  std::vector<int64_t> delays;
  for (int i = 0; i < count; ++i) {
    now += runs;
    ThrottleDecision decision = throttle.crashed(now);
    EXPECT_TRUE(decision.throttle);
    delays.push_back(decision.delay.count());
    now += decision.delay;
    throttle.ended(now);
  }
  return delays;
}

TEST(ServiceThrottle, ShippedDefaultsDoubleFromTwoSecondsUpToAMinute) {
  ThrottleSettings shipped;  // the struct's defaults are main.cf's: 2s, 60s, 60s
  EXPECT_EQ(shipped.first, seconds(2));
  EXPECT_EQ(shipped.limit, seconds(60));
  EXPECT_EQ(shipped.reset_after, seconds(60));
  ThrottleClock::time_point now{};
  ServiceThrottle throttle(shipped, now);
  EXPECT_EQ(crash_loop(throttle, now, 9),
            (std::vector<int64_t>{2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000}));
}

TEST(ServiceThrottle, NeverGivesUp) {
  ThrottleClock::time_point now{};
  ServiceThrottle throttle(settings(seconds(1), seconds(4), seconds(60)), now);
  std::vector<int64_t> delays = crash_loop(throttle, now, 10000);
  EXPECT_EQ(delays[0], 1000);
  EXPECT_EQ(delays[1], 2000);
  for (size_t i = 2; i < delays.size(); ++i) ASSERT_EQ(delays[i], 4000) << i;
  EXPECT_EQ(throttle.crashes(), 10000);
  EXPECT_FALSE(throttle.throttled());
}

TEST(ServiceThrottle, ZeroThrottleTimeHasAFloorAndStillDoubles) {
  ThrottleClock::time_point now{};
  ServiceThrottle throttle(settings(seconds(0), seconds(1), seconds(60)), now);
  EXPECT_EQ(kMinThrottle, milliseconds(100));
  EXPECT_EQ(crash_loop(throttle, now, 7),
            (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000, 1000}));
}

TEST(ServiceThrottle, TheLimitWinsOverALargerFirstDelay) {
  ThrottleClock::time_point now{};
  ServiceThrottle throttle(settings(seconds(120), seconds(60), seconds(60)), now);
  EXPECT_EQ(crash_loop(throttle, now, 3), (std::vector<int64_t>{60000, 60000, 60000}));
}

TEST(ServiceThrottle, ALimitBelowTheFloorIsTheFloor) {
  EXPECT_EQ(ServiceThrottle::delay_for(settings(seconds(0), milliseconds(0), seconds(1)), 0),
            kMinThrottle);
  EXPECT_EQ(ServiceThrottle::delay_for(settings(seconds(0), milliseconds(0), seconds(1)), 50),
            kMinThrottle);
}

TEST(ServiceThrottle, DelayForAHugeRoundStopsAtTheLimit) {
  ThrottleSettings s = settings(seconds(2), seconds(86400), seconds(60));
  EXPECT_EQ(ServiceThrottle::delay_for(s, 0), seconds(2));
  EXPECT_EQ(ServiceThrottle::delay_for(s, 1), seconds(4));
  EXPECT_EQ(ServiceThrottle::delay_for(s, 15), seconds(65536));
  EXPECT_EQ(ServiceThrottle::delay_for(s, 16), seconds(86400));
  EXPECT_EQ(ServiceThrottle::delay_for(s, INT64_MAX), seconds(86400));
}

TEST(ServiceThrottle, CrashesWhileThrottledAreCountedButChangeNothing) {
  ThrottleClock::time_point now{};
  ServiceThrottle throttle(settings(seconds(2), seconds(60), seconds(60)), now);
  ThrottleDecision first = throttle.crashed(now);
  EXPECT_TRUE(first.throttle);
  EXPECT_EQ(first.delay, seconds(2));
  EXPECT_EQ(first.crashes, 1);
  EXPECT_TRUE(throttle.throttled());
  // The service's other workers die during the throttle: no new throttle, no doubling.
  for (int i = 0; i < 5; ++i) {
    ThrottleDecision during = throttle.crashed(now + milliseconds(100 * i));
    EXPECT_FALSE(during.throttle);
    EXPECT_EQ(during.crashes, 2 + i);
  }
  now += seconds(2);
  throttle.ended(now);
  ThrottleDecision next = throttle.crashed(now + milliseconds(10));
  EXPECT_TRUE(next.throttle);
  EXPECT_EQ(next.delay, seconds(4));  // the second throttle, not the seventh
  EXPECT_EQ(next.crashes, 7);
}

TEST(ServiceThrottle, ACleanRunResetsTheBackoff) {
  ThrottleClock::time_point now{};
  ServiceThrottle throttle(settings(seconds(2), seconds(60), seconds(30)), now);
  EXPECT_EQ(crash_loop(throttle, now, 4), (std::vector<int64_t>{2000, 4000, 8000, 16000}));
  // Runs 29.999s: not clean long enough, the back-off goes on.
  now += milliseconds(29999);
  ThrottleDecision short_run = throttle.crashed(now);
  EXPECT_FALSE(short_run.streak_reset);
  EXPECT_EQ(short_run.delay, seconds(32));
  now += short_run.delay;
  throttle.ended(now);
  // Runs 30s: recovered; this crash is the first of a new streak.
  now += seconds(30);
  ThrottleDecision after_clean = throttle.crashed(now);
  EXPECT_TRUE(after_clean.streak_reset);
  EXPECT_EQ(after_clean.delay, seconds(2));
  EXPECT_EQ(after_clean.crashes, 1);
}

TEST(ServiceThrottle, TheCleanRunIsCountedFromTheThrottlesEndNotFromTheCrash) {
  // A program that exits at once after a throttle as long as the reset time must not reset
  // its own back-off: the time spent throttled is not time run cleanly.
  ThrottleClock::time_point now{};
  ServiceThrottle throttle(settings(seconds(2), seconds(60), seconds(60)), now);
  std::vector<int64_t> delays = crash_loop(throttle, now, 12, milliseconds(5));
  for (size_t i = 5; i < delays.size(); ++i) EXPECT_EQ(delays[i], 60000) << i;
  EXPECT_EQ(throttle.crashes(), 12);
}

TEST(ServiceThrottle, TheFirstCrashAfterALongCleanStartIsThrottledFromTheStart) {
  ThrottleClock::time_point start{};
  ServiceThrottle throttle(settings(seconds(2), seconds(60), seconds(60)), start);
  ThrottleDecision decision = throttle.crashed(start + std::chrono::hours(5));
  EXPECT_TRUE(decision.throttle);
  EXPECT_FALSE(decision.streak_reset);  // nothing to reset
  EXPECT_EQ(decision.delay, seconds(2));
  EXPECT_EQ(decision.crashes, 1);
}

}  // namespace
}  // namespace postern::master
