// Tests for lib/config/master_cf.cpp: the Postfix service table (columns and their "-" defaults,
// continuation lines, comments, -o overrides, inet [host:]port forms, duplicates) and its
// errors with file:line, with the line and file limits at N and N+1.
#include "lib/config/master_cf.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace postern {
namespace {

std::vector<ServiceEntry> parse_ok(std::string_view text) {
  Result<std::vector<ServiceEntry>> r = parse_master_cf(text, "master.cf");
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? *r : std::vector<ServiceEntry>{};
}

std::string parse_error(std::string_view text) {
  Result<std::vector<ServiceEntry>> r = parse_master_cf(text, "master.cf");
  EXPECT_FALSE(r.ok()) << "accepted: " << text.substr(0, 200);
  return r.ok() ? "" : r.error().message;
}

constexpr std::string_view kDefaultTable =
    "# service type  private unpriv  chroot  wakeup  maxproc command + args\n"
    "smtp      inet  n       -       n       -       -       smtpd\n"
    "submission inet n       -       n       -       -       submission\n"
    "  -o smtpd_tls_security_level=encrypt\n"
    "  -o smtpd_sasl_auth_enable=yes\n"
    "465       inet  n       -       n       -       -       submission -o "
    "smtpd_tls_wrappermode=yes\n"
    "qmgr      unix  n       -       n       300     1       qmgr\n"
    "relay     unix  -       -       -       -       4       relay -v\n"
    "delivery  unix  -       n       -       -       -       delivery\n";

TEST(MasterCf, DefaultTable) {
  std::vector<ServiceEntry> services = parse_ok(kDefaultTable);
  ASSERT_EQ(services.size(), 6u);

  const ServiceEntry& smtp = services[0];
  EXPECT_EQ(smtp.name, "smtp");
  EXPECT_EQ(smtp.type, "inet");
  EXPECT_FALSE(smtp.is_private);
  EXPECT_TRUE(smtp.unprivileged);
  EXPECT_FALSE(smtp.chroot);
  EXPECT_EQ(smtp.wakeup_seconds, 0);
  EXPECT_EQ(smtp.max_processes, 1);
  EXPECT_EQ(smtp.command, "smtpd");
  EXPECT_TRUE(smtp.args.empty());
  EXPECT_EQ(smtp.listen_host, "");
  EXPECT_EQ(smtp.listen_port, 25);
  EXPECT_EQ(smtp.line, 2);

  const ServiceEntry& submission = services[1];
  EXPECT_EQ(submission.listen_port, 587);
  EXPECT_EQ(submission.line, 3);
  ASSERT_EQ(submission.overrides.size(), 2u);
  EXPECT_EQ(submission.overrides[0],
            (std::pair<std::string, std::string>{"smtpd_tls_security_level", "encrypt"}));
  EXPECT_EQ(submission.overrides[1].first, "smtpd_sasl_auth_enable");
  EXPECT_TRUE(submission.args.empty());

  EXPECT_EQ(services[2].name, "465");
  EXPECT_EQ(services[2].listen_port, 465);
  EXPECT_EQ(services[2].line, 6);
  ASSERT_EQ(services[2].overrides.size(), 1u);

  const ServiceEntry& qmgr = services[3];
  EXPECT_EQ(qmgr.type, "unix");
  EXPECT_FALSE(qmgr.is_private);
  EXPECT_EQ(qmgr.wakeup_seconds, 300);
  EXPECT_EQ(qmgr.listen_port, 0);

  const ServiceEntry& relay = services[4];
  EXPECT_TRUE(relay.is_private);  // "-" defaults
  EXPECT_TRUE(relay.unprivileged);
  EXPECT_FALSE(relay.chroot);
  EXPECT_EQ(relay.max_processes, 4);
  EXPECT_EQ(relay.args, std::vector<std::string>{"-v"});

  EXPECT_FALSE(services[5].unprivileged);
}

TEST(MasterCf, CommentsBlankLinesAndContinuationsAcrossThem) {
  std::vector<ServiceEntry> services = parse_ok(
      "\n# comment\n   # indented comment\n"
      "smtp inet n - n - - smtpd\n"
      "   # comment inside the entry\n"
      "\n"
      "   -o smtpd_helo_required=yes\r\n"
      "\tmore-arg\n");
  ASSERT_EQ(services.size(), 1u);
  ASSERT_EQ(services[0].overrides.size(), 1u);
  EXPECT_EQ(services[0].overrides[0].second, "yes");
  EXPECT_EQ(services[0].args, std::vector<std::string>{"more-arg"});
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok("# nothing\n\n").empty());
}

TEST(MasterCf, OverrideForms) {
  std::vector<ServiceEntry> services =
      parse_ok("smtp inet n - n - - smtpd -osyslog_name=postern/mx -o smtpd_banner=a=b -o x=\n");
  ASSERT_EQ(services.size(), 1u);
  ASSERT_EQ(services[0].overrides.size(), 3u);
  EXPECT_EQ(services[0].overrides[0].first, "syslog_name");
  EXPECT_EQ(services[0].overrides[0].second, "postern/mx");
  EXPECT_EQ(services[0].overrides[1].second, "a=b");
  EXPECT_EQ(services[0].overrides[2].second, "");
  // Postfix wants "-o name=value" as one word.
  EXPECT_EQ(parse_error("smtp inet n - n - - smtpd -o name = value\n").substr(0, 12),
            "master.cf:1:");
  parse_error("smtp inet n - n - - smtpd -o\n");
  parse_error("smtp inet n - n - - smtpd -o =value\n");
  parse_error("smtp inet n - n - - smtpd -o bad-name=1\n");
}

TEST(MasterCf, InetServiceForms) {
  std::vector<ServiceEntry> services = parse_ok(
      "127.0.0.1:2525 inet n - n - - smtpd\n"
      "[::1]:2526 inet n - n - - smtpd\n"
      "mail.example.com:smtp inet n - n - - smtpd\n"
      "submissions inet n - n - - submission\n"
      "smtps inet n - n - - submission\n"
      "imap inet n - n - - imapd\n"
      "imaps inet n - n - - imapd\n"
      "65535 inet n - n - - smtpd\n"
      "1 inet n - n - - smtpd\n");
  ASSERT_EQ(services.size(), 9u);
  EXPECT_EQ(services[0].listen_host, "127.0.0.1");
  EXPECT_EQ(services[0].listen_port, 2525);
  EXPECT_EQ(services[1].listen_host, "::1");
  EXPECT_EQ(services[1].listen_port, 2526);
  EXPECT_EQ(services[2].listen_host, "mail.example.com");
  EXPECT_EQ(services[2].listen_port, 25);
  EXPECT_EQ(services[3].listen_port, 465);
  EXPECT_EQ(services[4].listen_port, 465);
  EXPECT_EQ(services[5].listen_port, 143);
  EXPECT_EQ(services[6].listen_port, 993);
  EXPECT_EQ(services[7].listen_port, 65535);
  EXPECT_EQ(services[8].listen_port, 1);
  for (const char* bad :
       {"0", "65536", "99999999999", "-1", "pop3", "::1:25", "[::1]", "[::1]25",
        "[::1]:", "[nothost]:25", ":25", "host:", "ho st:25", "[::1:25", "host:port"}) {
    std::string error = parse_error(std::string(bad) + " inet n - n - - smtpd\n");
    EXPECT_EQ(error.substr(0, 12), "master.cf:1:") << bad << ": " << error;
  }
}

TEST(MasterCf, ColumnErrorsNameTheLine) {
  const std::string ok_line = "smtp inet n - n - - smtpd\n";
  for (const char* bad : {
           "x unix - - - - -\n",           // 7 fields
           "x fifo - - - - - cmd\n",       // type
           "x unix maybe - - - - cmd\n",   // private
           "x unix - yes - - - cmd\n",     // unpriv
           "x unix - - Y - - cmd\n",       // chroot
           "x unix - - - -1 - cmd\n",      // wakeup
           "x unix - - - 604801 - cmd\n",  // wakeup above a week
           "x unix - - - - 0 cmd\n",       // maxproc
           "x unix - - - - 1001 cmd\n",    // maxproc
           "x/y unix - - - - - cmd\n",     // unix name with '/'
           ".. unix - - - - - cmd\n",
       }) {
    std::string error = parse_error(ok_line + "# c\n" + bad);
    EXPECT_EQ(error.substr(0, 12), "master.cf:3:") << bad << ": " << error;
  }
  std::vector<ServiceEntry> edge = parse_ok(
      "a unix - - - 604800 1000 cmd\n"
      "b unix - - - 60? 1 cmd\n");
  EXPECT_EQ(edge[0].wakeup_seconds, 604800);
  EXPECT_EQ(edge[0].max_processes, 1000);
  EXPECT_EQ(edge[1].wakeup_seconds, 60);
  parse_error("   smtp inet n - n - - smtpd\n");  // continuation with nothing before it
}

TEST(MasterCf, UnixNameLengthAtNAndNPlusOne) {
  std::string name64(64, 'u');
  EXPECT_EQ(parse_ok(name64 + " unix - - - - - cmd\n")[0].name, name64);
  parse_error(name64 + "u unix - - - - - cmd\n");
}

TEST(MasterCf, DuplicateServiceIsAnError) {
  std::string error = parse_error(
      "smtp inet n - n - - smtpd\n"
      "qmgr unix n - n - - qmgr\n"
      "smtp inet n - n - - smtpd -v\n");
  EXPECT_EQ(error, "master.cf:3: duplicate service smtp inet (first defined at line 1)");
  // The same name with another type is a different service, as in Postfix.
  EXPECT_EQ(parse_ok("smtp inet n - n - - smtpd\nsmtp unix - - n - - relay\n").size(), 2u);
}

TEST(MasterCf, LineLengthAtNAndNPlusOne) {
  constexpr size_t kLimit = 100000;
  std::string head = "x unix - - - - - cmd ";
  std::string line = head + std::string(kLimit - head.size(), 'a');
  ASSERT_EQ(line.size(), kLimit);
  EXPECT_EQ(parse_ok(line + "\n")[0].args[0].size(), kLimit - head.size());
  EXPECT_EQ(parse_error("# first\n" + line + "a\n").substr(0, 12), "master.cf:2:");
}

TEST(MasterCf, WordAndServiceCountLimits) {
  std::string words = "x unix - - - - - cmd";
  for (int i = 0; i < 256 - 8; ++i) words += " w";
  EXPECT_EQ(parse_ok(words + "\n")[0].args.size(), 248u);
  parse_error(words + " w\n");
  std::string table;
  for (int i = 0; i < 1000; ++i) table += "s" + std::to_string(i) + " unix - - - - - cmd\n";
  EXPECT_EQ(parse_ok(table).size(), 1000u);
  EXPECT_EQ(parse_error(table + "one_more unix - - - - - cmd\n").substr(0, 15), "master.cf:1001:");
}

TEST(MasterCf, TheShippedMasterCfLoads) {
  std::string file = __FILE__;
  std::string root =
      file.substr(0, file.size() - std::string("tests/lib/config/master_cf_test.cpp").size());
  Result<std::vector<ServiceEntry>> services = load_master_cf(root + "etc/master.cf");
  ASSERT_TRUE(services.ok()) << services.error().describe();
  ASSERT_FALSE(services->empty());
  EXPECT_EQ(services->front().name, "smtp");
  EXPECT_EQ(services->front().listen_port, 25);
}

TEST(MasterCf, LoadFromFile) {
  char dir_template[] = "/tmp/master_cf_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/master.cf";
  {
    std::ofstream out(path);
    out << kDefaultTable << "smtp inet n - n - - smtpd\n";
  }
  Result<std::vector<ServiceEntry>> dup = load_master_cf(path);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().message.substr(0, path.size() + 4), path + ":10:");
  {
    std::ofstream out(path);
    out << kDefaultTable;
  }
  Result<std::vector<ServiceEntry>> good = load_master_cf(path);
  ASSERT_TRUE(good.ok()) << good.error().describe();
  EXPECT_EQ(good->size(), 6u);
  std::remove(path.c_str());
  Result<std::vector<ServiceEntry>> missing = load_master_cf(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().sys_errno, ENOENT);
  rmdir(dir_template);
}

}  // namespace
}  // namespace postern
