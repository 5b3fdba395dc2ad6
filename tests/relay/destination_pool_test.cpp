// Tests relay/destination_pool: the per-destination slot limit, the waiting FIFO and its bound,
// a destination failure handed to the deliveries that waited behind it, and grants that always
// come from the event loop. Connections themselves are tested in relay_server_test.
#include "relay/destination_pool.hpp"

#include <event2/event.h>
#include <gtest/gtest.h>

#include <vector>

#include "lib/base/event_handles.hpp"

namespace postern::relay {
namespace {

struct GrantSeen {
  uint64_t job = 0;
  bool with_client = false;
  std::optional<RecipientResult> failure;
};

class DestinationPoolTest : public ::testing::Test {
 protected:
  DestinationPool make(int limit, size_t max_waiting) {
    return DestinationPool(base_.get(), limit, max_waiting, 2,
                           [this](uint64_t job, std::unique_ptr<SmtpClient> client,
                                  std::optional<RecipientResult> failure) {
                             seen_.push_back(GrantSeen{job, client != nullptr, failure});
                           });
  }
  void run_loop() { event_base_loop(base_.get(), EVLOOP_NONBLOCK); }

  EventBaseHandle base_{event_base_new()};
  std::vector<GrantSeen> seen_;
};

TEST_F(DestinationPoolTest, GrantsComeFromTheLoopUpToTheLimit) {
  DestinationPool pool = make(2, 10);
  EXPECT_TRUE(pool.acquire("[a]:25", 1));
  EXPECT_TRUE(pool.acquire("[a]:25", 2));
  EXPECT_TRUE(pool.acquire("[a]:25", 3));
  EXPECT_TRUE(seen_.empty());  // never from inside acquire()
  run_loop();
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].job, 1u);
  EXPECT_EQ(seen_[1].job, 2u);
  EXPECT_FALSE(seen_[0].with_client);
  EXPECT_EQ(pool.active("[a]:25"), 2u);
  // Another destination has its own slots.
  EXPECT_TRUE(pool.acquire("[b]:25", 4));
  run_loop();
  ASSERT_EQ(seen_.size(), 3u);
  EXPECT_EQ(seen_[2].job, 4u);
  // A slot given back goes to the first one waiting.
  pool.release("[a]:25", nullptr);
  run_loop();
  ASSERT_EQ(seen_.size(), 4u);
  EXPECT_EQ(seen_[3].job, 3u);
  EXPECT_FALSE(seen_[3].failure);
  pool.release("[a]:25", nullptr);
  pool.release("[a]:25", nullptr);
  pool.release("[b]:25", nullptr);
  EXPECT_EQ(pool.active("[a]:25"), 0u);
}

TEST_F(DestinationPoolTest, WaitingQueueIsBounded) {
  DestinationPool pool = make(1, 2);
  EXPECT_TRUE(pool.acquire("d", 1));
  EXPECT_TRUE(pool.acquire("d", 2));
  EXPECT_TRUE(pool.acquire("d", 3));
  EXPECT_FALSE(pool.acquire("d", 4));  // 2 waiting: the limit
  run_loop();
  EXPECT_EQ(seen_.size(), 1u);
}

TEST_F(DestinationPoolTest, FailureReachesEveryoneWaiting) {
  DestinationPool pool = make(1, 10);
  pool.acquire("d", 1);
  pool.acquire("d", 2);
  pool.acquire("d", 3);
  run_loop();
  ASSERT_EQ(seen_.size(), 1u);
  pool.release("d", nullptr, local_result("4.4.1", "connect to d: Connection refused"));
  run_loop();
  ASSERT_EQ(seen_.size(), 3u);
  for (size_t i = 1; i < 3; ++i) {
    ASSERT_TRUE(seen_[i].failure);
    EXPECT_EQ(seen_[i].failure->dsn, "4.4.1");
  }
  EXPECT_EQ(pool.active("d"), 0u);
  // A delivery that arrives afterwards tries again itself.
  pool.acquire("d", 4);
  run_loop();
  ASSERT_EQ(seen_.size(), 4u);
  EXPECT_FALSE(seen_[3].failure);
}

TEST_F(DestinationPoolTest, ForgottenJobGetsNoGrant) {
  DestinationPool pool = make(1, 10);
  pool.acquire("d", 1);
  pool.acquire("d", 2);
  pool.acquire("d", 3);
  pool.forget("d", 2);
  run_loop();
  pool.release("d", nullptr);
  run_loop();
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[1].job, 3u);
}

}  // namespace
}  // namespace postern::relay
