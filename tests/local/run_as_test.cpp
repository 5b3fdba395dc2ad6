// Tests for local/run_as.cpp (as root): the child really runs as the given uid and gid with no
// supplementary groups and cannot get root back; only keep_fds survive in it; a child that
// crashes, exits without a line, writes garbage or outlives the timeout is "deferred"; the
// outcome line travels intact.
#include "local/run_as.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>

namespace postern::local {
namespace {

constexpr uid_t kNobody = 65534;
constexpr gid_t kNogroup = 65534;

class RunAsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (identity switch)";
  }
};

TEST_F(RunAsTest, ChildRunsAsTheGivenUser) {
  DeliveryOutcome outcome = run_as(kNobody, kNogroup, 10, {}, [] {
    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    ::getresuid(&ruid, &euid, &suid);
    ::getresgid(&rgid, &egid, &sgid);
    const bool root_back = ::setuid(0) == 0 || ::seteuid(0) == 0;
    return DeliveryOutcome::sent("uid=" + std::to_string(ruid) + "," + std::to_string(euid) + "," +
                                 std::to_string(suid) + " gid=" + std::to_string(rgid) + "," +
                                 std::to_string(egid) + "," + std::to_string(sgid) +
                                 " groups=" + std::to_string(::getgroups(0, nullptr)) +
                                 " root_back=" + (root_back ? "yes" : "no"));
  });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kSent);
  EXPECT_EQ(outcome.reason, "uid=65534,65534,65534 gid=65534,65534,65534 groups=0 root_back=no");
}

TEST_F(RunAsTest, OtherUidAndGroup) {
  DeliveryOutcome outcome = run_as(1234, 4321, 10, {}, [] {
    return DeliveryOutcome::bounced(
        "5.2.2", "euid=" + std::to_string(::geteuid()) + " egid=" + std::to_string(::getegid()));
  });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kBounced);
  EXPECT_EQ(outcome.dsn, "5.2.2");
  EXPECT_EQ(outcome.reason, "euid=1234 egid=4321");
}

TEST_F(RunAsTest, RootStaysRootWhenAskedFor) {
  DeliveryOutcome outcome = run_as(
      0, 0, 10, {}, [] { return DeliveryOutcome::sent("euid=" + std::to_string(::geteuid())); });
  EXPECT_EQ(outcome.reason, "euid=0");
}

TEST_F(RunAsTest, OnlyKeptDescriptorsSurvive) {
  int kept = ::open("/dev/null", O_RDONLY);
  int closed = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(kept, 0);
  ASSERT_GE(closed, 0);
  DeliveryOutcome outcome = run_as(kNobody, kNogroup, 10, {kept}, [&] {
    return DeliveryOutcome::sent(std::string("kept=") +
                                 (::fcntl(kept, F_GETFD) >= 0 ? "open" : "closed") +
                                 " other=" + (::fcntl(closed, F_GETFD) >= 0 ? "open" : "closed"));
  });
  ::close(kept);
  ::close(closed);
  EXPECT_EQ(outcome.reason, "kept=open other=closed");
}

TEST_F(RunAsTest, CrashingChildIsDeferred) {
  DeliveryOutcome outcome = run_as(kNobody, kNogroup, 10, {}, []() -> DeliveryOutcome {
    ::signal(SIGABRT, SIG_DFL);
    std::abort();
  });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_EQ(outcome.dsn, "4.3.0");
  EXPECT_EQ(outcome.reason, "delivery process died");
}

TEST_F(RunAsTest, ChildExitingWithoutALineIsDeferred) {
  DeliveryOutcome outcome =
      run_as(kNobody, kNogroup, 10, {}, []() -> DeliveryOutcome { ::_exit(0); });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_EQ(outcome.reason, "bad result from the child");
}

TEST_F(RunAsTest, SentWithAWrongDsnIsNotBelieved) {
  DeliveryOutcome outcome = run_as(kNobody, kNogroup, 10, {}, [] {
    return DeliveryOutcome{DeliveryOutcome::Kind::kSent, "5.0.0", "mixed up"};
  });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_EQ(outcome.reason, "bad result from the child");
}

TEST_F(RunAsTest, TimeoutKillsTheChildAndDefers) {
  const auto started = std::chrono::steady_clock::now();
  DeliveryOutcome outcome = run_as(kNobody, kNogroup, 1, {}, [] {
    ::sleep(30);
    return DeliveryOutcome::sent("too late");
  });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kDeferred);
  EXPECT_EQ(outcome.reason, "delivery timed out after 1s");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

TEST_F(RunAsTest, LongReasonIsCut) {
  DeliveryOutcome outcome = run_as(kNobody, kNogroup, 10, {}, [] {
    return DeliveryOutcome::bounced("5.3.0", std::string(5000, 'r'));
  });
  EXPECT_EQ(outcome.kind, DeliveryOutcome::Kind::kBounced);
  EXPECT_LE(outcome.reason.size(), kMaxOutcomeReasonBytes + 3);
}

}  // namespace
}  // namespace postern::local
