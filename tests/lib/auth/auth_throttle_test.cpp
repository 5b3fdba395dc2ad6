// Tests for lib/auth/auth_throttle.cpp with an injected clock (no sleeps): the free failures, the
// doubling delay and its cap, the refusal threshold, its length and the fresh start after it, each
// at N and N+1; the sliding window's edge; per-address and per-user counting; success clearing the
// user only; and the bound on tracked keys at N and N+1 with least-recently-failed eviction.
#include "lib/auth/auth_throttle.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class AuthThrottleTest : public ::testing::Test {
 protected:
  AuthThrottle make(AuthThrottleLimits limits = {}) {
    return AuthThrottle(limits, [this] { return now_; });
  }
  void advance(milliseconds by) { now_ += by; }
  void fail(AuthThrottle& throttle, int times, const std::string& address,
            const std::string& user) {
    for (int i = 0; i < times; ++i) throttle.record_failure(address, user);
  }

  std::chrono::steady_clock::time_point now_{seconds(1000000)};
};

TEST_F(AuthThrottleTest, NoFailuresNoDelay) {
  AuthThrottle throttle = make();
  AuthThrottleVerdict verdict = throttle.check("192.0.2.1", "alice@example.org");
  EXPECT_EQ(verdict.delay, milliseconds(0));
  EXPECT_FALSE(verdict.refuse);
  EXPECT_EQ(throttle.tracked_keys(), 0u);
}

TEST_F(AuthThrottleTest, DelaysGrowAfterTheFreeFailuresAndCap) {
  AuthThrottle throttle = make();
  const milliseconds expected[] = {
      milliseconds(0),     milliseconds(0),     milliseconds(0),      // 0, 1, 2 failures
      milliseconds(1000),  milliseconds(2000),  milliseconds(4000),   // 3, 4, 5
      milliseconds(8000),  milliseconds(16000), milliseconds(16000),  // 6, 7, 8
      milliseconds(16000),                                            // 9
  };
  for (int failures = 0; failures < 10; ++failures) {
    AuthThrottleVerdict verdict = throttle.check("192.0.2.1", "alice@example.org");
    EXPECT_EQ(verdict.delay, expected[failures]) << failures << " failures";
    EXPECT_FALSE(verdict.refuse) << failures << " failures";
    throttle.record_failure("192.0.2.1", "alice@example.org");
  }
  EXPECT_TRUE(throttle.check("192.0.2.1", "alice@example.org").refuse);  // the 10th
}

TEST_F(AuthThrottleTest, RefusalStartsAtTheThresholdAndLastsItsTime) {
  AuthThrottle throttle = make();
  fail(throttle, 9, "192.0.2.1", "alice@example.org");
  EXPECT_FALSE(throttle.check("192.0.2.1", "alice@example.org").refuse);  // N - 1
  throttle.record_failure("192.0.2.1", "alice@example.org");              // N
  AuthThrottleVerdict verdict = throttle.check("192.0.2.1", "alice@example.org");
  ASSERT_TRUE(verdict.refuse);
  EXPECT_EQ(verdict.retry_after, milliseconds(600000));

  // Failures while refused do not extend it.
  fail(throttle, 5, "192.0.2.1", "alice@example.org");
  advance(milliseconds(599999));
  verdict = throttle.check("192.0.2.1", "alice@example.org");
  EXPECT_TRUE(verdict.refuse);
  EXPECT_EQ(verdict.retry_after, milliseconds(1));
  advance(milliseconds(1));
  verdict = throttle.check("192.0.2.1", "alice@example.org");
  EXPECT_FALSE(verdict.refuse);
  EXPECT_EQ(verdict.delay, milliseconds(0));

  // A fresh start after the refusal: the next failure is the first.
  throttle.record_failure("192.0.2.1", "alice@example.org");
  EXPECT_EQ(throttle.address_failures("192.0.2.1"), 1u);
  EXPECT_EQ(throttle.user_failures("alice@example.org"), 1u);
  EXPECT_FALSE(throttle.check("192.0.2.1", "alice@example.org").refuse);
}

TEST_F(AuthThrottleTest, FailuresLeaveTheWindowAtItsEdge) {
  AuthThrottle throttle = make();
  fail(throttle, 9, "192.0.2.1", "alice@example.org");
  advance(milliseconds(599999));  // still inside the 10-minute window
  EXPECT_EQ(throttle.address_failures("192.0.2.1"), 9u);
  EXPECT_EQ(throttle.check("192.0.2.1", "").delay, milliseconds(16000));
  advance(milliseconds(1));  // now outside
  EXPECT_EQ(throttle.address_failures("192.0.2.1"), 0u);
  EXPECT_EQ(throttle.check("192.0.2.1", "").delay, milliseconds(0));
  throttle.record_failure("192.0.2.1", "alice@example.org");
  EXPECT_FALSE(throttle.check("192.0.2.1", "alice@example.org").refuse);
  EXPECT_EQ(throttle.address_failures("192.0.2.1"), 1u);
}

TEST_F(AuthThrottleTest, SlidingWindowCountsOnlyRecentFailures) {
  AuthThrottle throttle = make();
  fail(throttle, 5, "192.0.2.1", "");
  advance(milliseconds(300000));
  fail(throttle, 4, "192.0.2.1", "");
  advance(milliseconds(300000));  // the first five are now 600 s old: out
  EXPECT_EQ(throttle.address_failures("192.0.2.1"), 4u);
  throttle.record_failure("192.0.2.1", "");
  EXPECT_FALSE(throttle.check("192.0.2.1", "").refuse);  // 5 live, not 10
}

TEST_F(AuthThrottleTest, UserIsThrottledAcrossAddresses) {
  AuthThrottle throttle = make();
  for (int i = 0; i < 10; ++i) {
    throttle.record_failure("192.0.2." + std::to_string(i), "Alice@Example.org");
  }
  EXPECT_TRUE(throttle.check("198.51.100.7", "alice@example.org").refuse);
  EXPECT_TRUE(throttle.check("198.51.100.7", "ALICE@example.org").refuse);
  EXPECT_FALSE(throttle.check("198.51.100.7", "bob@example.org").refuse);
  EXPECT_EQ(throttle.check("192.0.2.3", "bob@example.org").delay, milliseconds(0));
}

TEST_F(AuthThrottleTest, AddressIsThrottledAcrossUsers) {
  AuthThrottle throttle = make();
  for (int i = 0; i < 10; ++i) {
    throttle.record_failure("2001:db8::1", "user" + std::to_string(i) + "@example.org");
  }
  EXPECT_TRUE(throttle.check("2001:db8::1", "someone@example.org").refuse);
  EXPECT_TRUE(throttle.check("2001:db8::1", "").refuse);
  EXPECT_FALSE(throttle.check("2001:db8::2", "someone@example.org").refuse);
  EXPECT_EQ(throttle.check("2001:db8::2", "user1@example.org").delay, milliseconds(0));
}

TEST_F(AuthThrottleTest, SuccessClearsTheUserButNotTheAddress) {
  AuthThrottle throttle = make();
  fail(throttle, 5, "192.0.2.1", "alice@example.org");
  throttle.record_success("192.0.2.1", "alice@example.org");
  EXPECT_EQ(throttle.user_failures("alice@example.org"), 0u);
  EXPECT_EQ(throttle.address_failures("192.0.2.1"), 5u);
  EXPECT_EQ(throttle.check("192.0.2.1", "alice@example.org").delay, milliseconds(4000));
  EXPECT_EQ(throttle.check("192.0.2.9", "alice@example.org").delay, milliseconds(0));
}

TEST_F(AuthThrottleTest, CustomLimitsAreHonoured) {
  AuthThrottleLimits limits;
  limits.free_failures = 0;
  limits.first_delay = milliseconds(500);
  limits.max_delay = milliseconds(1500);
  limits.refuse_after_failures = 4;
  limits.refuse_for = milliseconds(1000);
  AuthThrottle throttle = make(limits);
  throttle.record_failure("192.0.2.1", "");
  EXPECT_EQ(throttle.check("192.0.2.1", "").delay, milliseconds(500));
  throttle.record_failure("192.0.2.1", "");
  EXPECT_EQ(throttle.check("192.0.2.1", "").delay, milliseconds(1000));
  throttle.record_failure("192.0.2.1", "");
  EXPECT_EQ(throttle.check("192.0.2.1", "").delay, milliseconds(1500));  // capped, not 2000
  throttle.record_failure("192.0.2.1", "");
  EXPECT_TRUE(throttle.check("192.0.2.1", "").refuse);
  advance(milliseconds(1000));
  EXPECT_FALSE(throttle.check("192.0.2.1", "").refuse);
}

TEST_F(AuthThrottleTest, TrackedKeysAreBoundedWithLeastRecentlyFailedEvicted) {
  AuthThrottleLimits limits;
  limits.max_tracked_keys = 4;
  AuthThrottle throttle = make(limits);
  for (int i = 0; i < 4; ++i) {  // N keys: all kept
    fail(throttle, 3, "192.0.2." + std::to_string(i), "");
    advance(milliseconds(1));
  }
  EXPECT_EQ(throttle.tracked_keys(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(throttle.address_failures("192.0.2." + std::to_string(i)), 3u) << i;
  }
  throttle.record_failure("192.0.2.0", "");  // .0 becomes the most recently failed
  fail(throttle, 1, "192.0.2.4", "");        // N + 1: the least recently failed (.1) goes
  EXPECT_EQ(throttle.tracked_keys(), 4u);
  EXPECT_EQ(throttle.address_failures("192.0.2.1"), 0u);
  EXPECT_EQ(throttle.address_failures("192.0.2.0"), 4u);
  EXPECT_EQ(throttle.address_failures("192.0.2.2"), 3u);
  EXPECT_EQ(throttle.address_failures("192.0.2.4"), 1u);

  for (int i = 0; i < 1000; ++i) throttle.record_failure("198.51.100.1", std::to_string(i));
  EXPECT_EQ(throttle.tracked_keys(), 4u);
}

TEST_F(AuthThrottleTest, LongUserNamesAreCut) {
  AuthThrottle throttle = make();
  const std::string long_name(AuthThrottle::kMaxKeyBytes, 'x');
  fail(throttle, 10, "192.0.2.1", long_name + "a");
  EXPECT_TRUE(throttle.check("192.0.2.77", long_name + "b").refuse);  // same first 320 bytes
  EXPECT_FALSE(throttle.check("192.0.2.77", "y" + long_name).refuse);
}

}  // namespace
}  // namespace postern
