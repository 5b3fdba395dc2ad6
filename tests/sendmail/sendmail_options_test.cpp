// Tests for sendmail/sendmail_options.cpp: the command lines cron, anacron, mutt and scripts
// really use, Postfix's meanings (-N, -f '<>', -B upper-cased), getopt-style clusters and glued
// values, every option accepted and ignored, the errors (unknown flag or mode, value missing or
// bad), and the program names that select a mode (also when called with a path).
#include "sendmail/sendmail_options.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::sendmail {
namespace {

Result<SendmailOptions> parse(const std::vector<std::string>& args,
                              std::string_view program = "sendmail") {
  return parse_sendmail_args(args, program);
}

SendmailOptions parse_ok(const std::vector<std::string>& args,
                         std::string_view program = "sendmail") {
  Result<SendmailOptions> options = parse(args, program);
  EXPECT_TRUE(options.ok()) << (options.ok() ? "" : options.error().message);
  return options.ok() ? *options : SendmailOptions{};
}

void expect_usage_error(const std::vector<std::string>& args, std::string_view needle = "") {
  Result<SendmailOptions> options = parse(args);
  std::string joined;
  for (const std::string& arg : args) joined += arg + " ";
  ASSERT_FALSE(options.ok()) << "accepted: " << joined;
  EXPECT_EQ(options.error().kind, ErrorKind::kParse) << joined;
  EXPECT_NE(options.error().message.find(needle), std::string::npos)
      << joined << "-> " << options.error().message;
}

TEST(SendmailOptionsTest, NoArgumentsIsDeliverWithDefaults) {
  SendmailOptions options = parse_ok({});
  EXPECT_EQ(options.mode, SendmailMode::kDeliver);
  EXPECT_FALSE(options.sender.has_value());
  EXPECT_FALSE(options.extract_recipients);
  EXPECT_FALSE(options.ignore_dots);
  EXPECT_TRUE(options.recipients.empty());
  EXPECT_FALSE(options.config_dir.has_value());
}

TEST(SendmailOptionsTest, CronCommandLine) {
  SendmailOptions options = parse_ok({"-FCronDaemon", "-i", "-B8BITMIME", "-oem", "alice"});
  EXPECT_EQ(options.mode, SendmailMode::kDeliver);
  EXPECT_EQ(options.full_name, "CronDaemon");
  EXPECT_TRUE(options.ignore_dots);
  EXPECT_EQ(options.body_type, "8BITMIME");
  EXPECT_EQ(options.recipients, std::vector<std::string>{"alice"});
}

TEST(SendmailOptionsTest, AnacronCommandLine) {
  SendmailOptions options = parse_ok({"-FAnacron", "-odi", "root"});
  EXPECT_EQ(options.full_name, "Anacron");
  EXPECT_EQ(options.recipients, std::vector<std::string>{"root"});
  EXPECT_FALSE(options.ignore_dots);
}

TEST(SendmailOptionsTest, DashOiDashT) {
  SendmailOptions options = parse_ok({"-oi", "-t"});
  EXPECT_TRUE(options.ignore_dots);
  EXPECT_TRUE(options.extract_recipients);
  EXPECT_TRUE(options.recipients.empty());
}

TEST(SendmailOptionsTest, SenderInNextWordOrGlued) {
  EXPECT_EQ(parse_ok({"-f", "user", "bob"}).sender, "user");
  EXPECT_EQ(parse_ok({"-fuser", "bob"}).sender, "user");
  EXPECT_EQ(parse_ok({"-f", "<user@example.org>", "bob"}).sender, "user@example.org");
  EXPECT_EQ(parse_ok({"-r", "other", "bob"}).sender, "other");
  EXPECT_EQ(parse_ok({"-rother"}).sender, "other");
  EXPECT_EQ(parse_ok({"-f", "user", "bob"}).recipients, std::vector<std::string>{"bob"});
}

TEST(SendmailOptionsTest, NullSender) {
  SendmailOptions angle = parse_ok({"-f", "<>", "bob"});
  ASSERT_TRUE(angle.sender.has_value());
  EXPECT_EQ(*angle.sender, "");
  SendmailOptions empty = parse_ok({"-f", "", "bob"});
  ASSERT_TRUE(empty.sender.has_value());
  EXPECT_EQ(*empty.sender, "");
  EXPECT_EQ(empty.recipients, std::vector<std::string>{"bob"});
  SendmailOptions glued = parse_ok({"-f<>", "bob"});
  ASSERT_TRUE(glued.sender.has_value());
  EXPECT_EQ(*glued.sender, "");
}

TEST(SendmailOptionsTest, NotifyValues) {
  EXPECT_EQ(parse_ok({"-N", "success,delay"}).notify, "SUCCESS,DELAY");
  EXPECT_EQ(parse_ok({"-Nfailure"}).notify, "FAILURE");
  EXPECT_EQ(parse_ok({"-N", "success,failure,delay"}).notify, "SUCCESS,FAILURE,DELAY");
  EXPECT_EQ(parse_ok({"-N", "never"}).notify, "NEVER");
  EXPECT_EQ(parse_ok({"-N", "Never"}).notify, "NEVER");
}

TEST(SendmailOptionsTest, BadNotifyIsRefused) {
  expect_usage_error({"-N", "sometimes"}, "-N");
  expect_usage_error({"-N", ""}, "-N");
  expect_usage_error({"-N", "success,"}, "-N");
  expect_usage_error({"-N", "success,,delay"}, "-N");
  expect_usage_error({"-N", "never,success"}, "-N");
  expect_usage_error({"-N", ",failure"}, "-N");
}

TEST(SendmailOptionsTest, ReturnAndEnvid) {
  EXPECT_EQ(parse_ok({"-R", "hdrs"}).ret, "HDRS");
  EXPECT_EQ(parse_ok({"-Rfull"}).ret, "FULL");
  expect_usage_error({"-R", "some"}, "-R");
  EXPECT_EQ(parse_ok({"-V", "envid-1"}).envid, "envid-1");
  EXPECT_EQ(parse_ok({"-V", std::string(100, 'e')}).envid, std::string(100, 'e'));
  expect_usage_error({"-V", std::string(101, 'e')}, "-V");
  expect_usage_error({"-V", "has space"}, "-V");
  expect_usage_error({"-V", ""}, "-V");
}

TEST(SendmailOptionsTest, BodyTypeIsUpperCased) {
  EXPECT_EQ(parse_ok({"-B", "7bit"}).body_type, "7BIT");
  EXPECT_EQ(parse_ok({"-B8bitmime"}).body_type, "8BITMIME");
  expect_usage_error({"-B", "binarymime"}, "-B");
}

TEST(SendmailOptionsTest, ClustersAndGluedValues) {
  SendmailOptions options = parse_ok({"-ti", "bob"});
  EXPECT_TRUE(options.extract_recipients);
  EXPECT_TRUE(options.ignore_dots);
  EXPECT_EQ(options.recipients, std::vector<std::string>{"bob"});
  SendmailOptions with_value = parse_ok({"-tvfalice", "bob"});
  EXPECT_TRUE(with_value.extract_recipients);
  EXPECT_TRUE(with_value.verbose);
  EXPECT_EQ(with_value.sender, "alice");
  SendmailOptions value_next = parse_ok({"-if", "alice", "bob"});
  EXPECT_TRUE(value_next.ignore_dots);
  EXPECT_EQ(value_next.sender, "alice");
  EXPECT_EQ(value_next.recipients, std::vector<std::string>{"bob"});
}

TEST(SendmailOptionsTest, DoubleDashEndsOptions) {
  SendmailOptions options = parse_ok({"-i", "--", "-bob", "-t"});
  EXPECT_TRUE(options.ignore_dots);
  EXPECT_FALSE(options.extract_recipients);
  EXPECT_EQ(options.recipients, (std::vector<std::string>{"-bob", "-t"}));
}

TEST(SendmailOptionsTest, FirstRecipientEndsOptions) {
  SendmailOptions options = parse_ok({"bob", "-t", "carol"});
  EXPECT_FALSE(options.extract_recipients);
  EXPECT_EQ(options.recipients, (std::vector<std::string>{"bob", "-t", "carol"}));
}

TEST(SendmailOptionsTest, IgnoredOptionsAreAccepted) {
  const std::vector<std::vector<std::string>> ignored = {
      {"-odi"},    {"-odb"},        {"-odq"},    {"-oem"},      {"-oep"},      {"-om"},
      {"-o7"},     {"-o8"},         {"-oAfile"}, {"-O", "x=y"}, {"-U"},        {"-G"},
      {"-h", "5"}, {"-L", "label"}, {"-m"},      {"-n"},        {"-X", "file"}};
  for (std::vector<std::string> args : ignored) {
    args.push_back("bob");
    SendmailOptions options = parse_ok(args);
    EXPECT_EQ(options.recipients, std::vector<std::string>{"bob"}) << args[0];
    EXPECT_EQ(options.mode, SendmailMode::kDeliver) << args[0];
    EXPECT_FALSE(options.ignore_dots) << args[0];
    EXPECT_FALSE(options.sender.has_value()) << args[0];
  }
}

TEST(SendmailOptionsTest, ConfigDirectory) {
  EXPECT_EQ(parse_ok({"-C", "/etc/postern-test", "bob"}).config_dir, "/etc/postern-test");
  EXPECT_EQ(parse_ok({"-C/etc/other"}).config_dir, "/etc/other");
  expect_usage_error({"-C", ""}, "-C");
}

TEST(SendmailOptionsTest, UnknownFlagsAndModesAreErrors) {
  expect_usage_error({"-x", "bob"}, "-x");
  expect_usage_error({"-e", "bob"}, "-e");
  expect_usage_error({"-tx", "bob"}, "-x");
  expect_usage_error({"-bz"}, "-bz");
  expect_usage_error({"-bd"}, "postern-master");
  expect_usage_error({"-bD"}, "postern-master");
  expect_usage_error({"-oZ"}, "-oZ");
  expect_usage_error({"-o", "Z"}, "-oZ");
}

TEST(SendmailOptionsTest, ValueOptionWithoutValueIsAnError) {
  for (const char* option :
       {"-f", "-r", "-F", "-N", "-R", "-V", "-B", "-C", "-b", "-o", "-O", "-h", "-L", "-X"}) {
    expect_usage_error({"-i", option}, "needs a value");
  }
  expect_usage_error({"-tf"}, "-f needs a value");
}

TEST(SendmailOptionsTest, Modes) {
  EXPECT_EQ(parse_ok({"-bm", "bob"}).mode, SendmailMode::kDeliver);
  EXPECT_EQ(parse_ok({"-bs"}).mode, SendmailMode::kSmtpStdio);
  EXPECT_EQ(parse_ok({"-bp"}).mode, SendmailMode::kListQueue);
  EXPECT_EQ(parse_ok({"-bi"}).mode, SendmailMode::kNewAliases);
  EXPECT_EQ(parse_ok({"-I"}).mode, SendmailMode::kNewAliases);
  SendmailOptions verify = parse_ok({"-bv", "bob"});
  EXPECT_EQ(verify.mode, SendmailMode::kVerify);
  EXPECT_EQ(verify.recipients, std::vector<std::string>{"bob"});
}

TEST(SendmailOptionsTest, QueueRunForms) {
  EXPECT_EQ(parse_ok({"-q"}).mode, SendmailMode::kFlush);
  EXPECT_EQ(parse_ok({"-qRsite.example"}).mode, SendmailMode::kFlush);
  EXPECT_EQ(parse_ok({"-q1h"}).mode, SendmailMode::kFlush);
  // The glued value of -q is not read as more flags: "-q1h" holds an 'h' (a value option).
  SendmailOptions options = parse_ok({"-qSxyz", "-v"});
  EXPECT_EQ(options.mode, SendmailMode::kFlush);
  EXPECT_TRUE(options.verbose);
  EXPECT_TRUE(options.recipients.empty());
}

TEST(SendmailOptionsTest, ProgramNamesSelectModes) {
  EXPECT_EQ(parse_ok({}, "mailq").mode, SendmailMode::kListQueue);
  EXPECT_EQ(parse_ok({}, "/usr/sbin/mailq").mode, SendmailMode::kListQueue);
  EXPECT_EQ(parse_ok({}, "newaliases").mode, SendmailMode::kNewAliases);
  EXPECT_EQ(parse_ok({}, "/usr/bin/newaliases").mode, SendmailMode::kNewAliases);
  EXPECT_EQ(parse_ok({}, "runq").mode, SendmailMode::kFlush);
  SendmailOptions rmail = parse_ok({"bob"}, "/usr/bin/rmail");
  EXPECT_EQ(rmail.mode, SendmailMode::kDeliver);
  EXPECT_TRUE(rmail.ignore_dots);
  EXPECT_EQ(rmail.recipients, std::vector<std::string>{"bob"});
  EXPECT_FALSE(parse_ok({"bob"}, "/usr/sbin/sendmail").ignore_dots);
  // Only the last path component counts.
  EXPECT_EQ(parse_ok({}, "/opt/mailq/bin/sendmail").mode, SendmailMode::kDeliver);
  // An option still overrides the mode of the name.
  EXPECT_EQ(parse_ok({"-bs"}, "mailq").mode, SendmailMode::kSmtpStdio);
}

TEST(SendmailOptionsTest, UsageMentionsTheModes) {
  std::string_view usage = sendmail_usage();
  EXPECT_NE(usage.find("-t"), std::string_view::npos);
  EXPECT_NE(usage.find("mailq"), std::string_view::npos);
}

}  // namespace
}  // namespace postern::sendmail
