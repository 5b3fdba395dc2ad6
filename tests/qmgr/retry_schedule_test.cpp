// Tests qmgr/retry_schedule: the back-off doubles from the minimum to the maximum and never
// overflows, and the queue lifetime boundary is exact.
#include "qmgr/retry_schedule.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

namespace postern {
namespace {

TEST(RetrySchedule, DoublesFromTheMinimumUpToTheMaximum) {
  EXPECT_EQ(backoff_seconds(0, 300, 4000), 300);
  EXPECT_EQ(backoff_seconds(1, 300, 4000), 600);
  EXPECT_EQ(backoff_seconds(2, 300, 4000), 1200);
  EXPECT_EQ(backoff_seconds(3, 300, 4000), 2400);
  EXPECT_EQ(backoff_seconds(4, 300, 4000), 4000);  // 4800 capped
  EXPECT_EQ(backoff_seconds(50, 300, 4000), 4000);
}

TEST(RetrySchedule, HugeAttemptCountsDoNotOverflow) {
  EXPECT_EQ(backoff_seconds(std::numeric_limits<uint32_t>::max(), 300, 4000), 4000);
  const int64_t big = std::numeric_limits<int64_t>::max() / 2;
  EXPECT_EQ(backoff_seconds(200, big, std::numeric_limits<int64_t>::max()),
            std::numeric_limits<int64_t>::max());
}

TEST(RetrySchedule, AMinimumOfZeroCountsAsOneSecond) {
  EXPECT_EQ(backoff_seconds(0, 0, 0), 1);
  EXPECT_EQ(backoff_seconds(5, 0, 4000), 32);
}

TEST(RetrySchedule, TheMinimumWinsOverASmallerMaximum) {
  EXPECT_EQ(backoff_seconds(0, 300, 100), 300);
  EXPECT_EQ(backoff_seconds(3, 300, 100), 300);
}

TEST(RetrySchedule, LifetimeBoundaryIsExact) {
  const int64_t arrival = 1'000'000;
  EXPECT_FALSE(queue_lifetime_exceeded(arrival, arrival + 99, 100));
  EXPECT_TRUE(queue_lifetime_exceeded(arrival, arrival + 100, 100));
  EXPECT_TRUE(queue_lifetime_exceeded(arrival, arrival, 0));  // 0: one try only
}

}  // namespace
}  // namespace postern
