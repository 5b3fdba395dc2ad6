// Tests cli/master_process: the pid-file check that keeps us from signalling a process that is
// not postern-master, and the pid parser. (Signalling a real master is tested by the suite
// tests of log reopen, config set and the account commands.)
#include "cli/master_process.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern::cli {
namespace {

TEST(MasterProcessTest, RunningMasterChecksThePidFile) {
  test_support::TempDir tmp("master_process_test");
  std::string pid_file = tmp.path() + "/master.pid";
  auto missing = running_master(pid_file);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().describe().find("not running"), std::string::npos);
  EXPECT_EQ(missing.error().kind, ErrorKind::kTemporary);

  std::ofstream(pid_file) << "  " << ::getpid() << "\n";  // this test is no postern-master
  auto stranger = running_master(pid_file);
  ASSERT_FALSE(stranger.ok());
  EXPECT_NE(stranger.error().describe().find("is not it"), std::string::npos);

  std::ofstream(pid_file, std::ios::trunc) << "not a pid\n";
  EXPECT_FALSE(running_master(pid_file).ok());
}

TEST(MasterProcessTest, ParsePid) {
  EXPECT_EQ(parse_pid(" 4242\n"), 4242);
  EXPECT_EQ(parse_pid("0"), std::nullopt);
  EXPECT_EQ(parse_pid("12a"), std::nullopt);
  EXPECT_EQ(parse_pid("1234567890"), std::nullopt);  // more than 9 digits
  EXPECT_EQ(parse_pid(""), std::nullopt);
}

}  // namespace
}  // namespace postern::cli
