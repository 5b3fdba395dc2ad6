// lib/queue/master_state: the file postern-master publishes and `postern status` reads. The
// reader is fed damaged and hostile text; the writer's temporary name must not follow a link.
#include "lib/queue/master_state.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace postern {
namespace {

MasterState sample() {
  MasterState state;
  state.pid = 812;
  state.started = 1733551200;
  state.updated = 1733551260;
  state.config_dir = "/etc/postern";
  ServiceState smtp;
  smtp.name = "smtp";
  smtp.command = "smtpd";
  smtp.listen = "inet 0.0.0.0:25";
  smtp.workers = 1;
  smtp.max_processes = 1;
  ServiceState relay;
  relay.name = "relay";
  relay.command = "relay";
  relay.listen = "unix /var/spool/postern/private/relay";
  relay.state = "throttled";
  relay.crashes = 3;
  relay.last_exit = "killed by signal 9";
  relay.last_exit_at = 1733551250;
  relay.throttled_until = 1733551290;
  state.services = {smtp, relay};
  return state;
}

TEST(MasterState, RoundTrip) {
  auto parsed = parse_master_state(format_master_state(sample()));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  EXPECT_EQ(parsed->pid, 812);
  EXPECT_EQ(parsed->started, 1733551200);
  EXPECT_EQ(parsed->config_dir, "/etc/postern");
  ASSERT_EQ(parsed->services.size(), 2u);
  EXPECT_EQ(parsed->services[0].name, "smtp");
  EXPECT_EQ(parsed->services[0].state, "up");
  EXPECT_EQ(parsed->services[0].listen, "inet 0.0.0.0:25");
  EXPECT_EQ(parsed->services[1].state, "throttled");
  EXPECT_EQ(parsed->services[1].crashes, 3);
  EXPECT_EQ(parsed->services[1].last_exit, "killed by signal 9");
  EXPECT_EQ(parsed->services[1].throttled_until, 1733551290);
}

TEST(MasterState, ControlCharactersInValuesCannotBreakTheFrame) {
  MasterState state = sample();
  state.services[0].name = "evil\tstate=up\nend\n";
  state.services[0].last_exit = std::string(kMaxStateFieldBytes + 50, 'x');
  auto parsed = parse_master_state(format_master_state(state));
  ASSERT_TRUE(parsed) << parsed.error().describe();
  ASSERT_EQ(parsed->services.size(), 2u);
  EXPECT_EQ(parsed->services[0].name, "evil?state=up?end?");
  EXPECT_EQ(parsed->services[0].last_exit.size(), kMaxStateFieldBytes);
}

TEST(MasterState, DamagedFilesAreErrorsNeverCrashes) {
  const std::string good = format_master_state(sample());
  EXPECT_FALSE(parse_master_state(""));
  EXPECT_FALSE(parse_master_state("postern-master-state 2\nmaster\tpid=1\nend\n"));
  EXPECT_FALSE(parse_master_state(good.substr(0, good.size() - 4)));   // no end
  EXPECT_FALSE(parse_master_state(good.substr(0, good.size() - 1)));   // no final newline
  EXPECT_FALSE(parse_master_state(good + "service\tname=x\n"));         // after end
  EXPECT_FALSE(parse_master_state("postern-master-state 1\nend\n"));   // no master
  EXPECT_FALSE(parse_master_state("postern-master-state 1\nmaster\tpid=-4\nend\n"));
  EXPECT_FALSE(parse_master_state("postern-master-state 1\nmaster\tpid=99999999999999999999\nend\n"));
  EXPECT_FALSE(parse_master_state("postern-master-state 1\nmaster\tpid=1\tpid\nend\n"));
  EXPECT_FALSE(parse_master_state("postern-master-state 1\nmaster\tpid=1\nmaster\tpid=1\nend\n"));
  EXPECT_FALSE(parse_master_state("postern-master-state 1\nmaster\tpid=1\nbogus\tx=1\nend\n"));
  EXPECT_FALSE(parse_master_state("postern-master-state 1\nmaster\tpid=1\nservice\tstate=up\nend\n"));
  // Unknown keys are for later versions: ignored.
  auto extended = parse_master_state("postern-master-state 1\nmaster\tpid=7\tnew=1\nend\n");
  ASSERT_TRUE(extended);
  EXPECT_EQ(extended->pid, 7);
}

TEST(MasterState, LimitsAtNAndNPlusOne) {
  std::string field(kMaxStateFieldBytes, 'a');
  std::string head = "postern-master-state 1\nmaster\tpid=1\nservice\tname=";
  EXPECT_TRUE(parse_master_state(head + field + "\nend\n"));
  EXPECT_FALSE(parse_master_state(head + field + "a\nend\n"));

  MasterState many;
  many.pid = 1;
  many.services.resize(kMaxStateServices);
  for (auto& service : many.services) service.name = "s";
  std::string text = format_master_state(many);
  EXPECT_TRUE(parse_master_state(text));
  std::string more = text.substr(0, text.size() - 4) + "service\tname=s\nend\n";
  EXPECT_FALSE(parse_master_state(more));
  EXPECT_FALSE(parse_master_state(std::string(kMaxStateFileBytes + 1, 'x')));
}

TEST(MasterState, WriteReplacesAtomicallyAndNeverFollowsALink) {
  char dir_template[] = "/tmp/master-state-test-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string path = dir + "/master.state";
  const std::string victim = dir + "/victim";
  { std::ofstream(victim) << "keep\n"; }
  ASSERT_EQ(::symlink(victim.c_str(), (path + ".tmp").c_str()), 0);
  ASSERT_TRUE(write_master_state(path, sample()));
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(parse_master_state(text.str()));
  std::ifstream victim_in(victim);
  std::string victim_text;
  std::getline(victim_in, victim_text);
  EXPECT_EQ(victim_text, "keep");
  struct stat st {};
  ASSERT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_NE(::access((path + ".tmp").c_str(), F_OK), 0);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace postern
