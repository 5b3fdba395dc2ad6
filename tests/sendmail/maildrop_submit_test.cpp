// Tests for sendmail/maildrop_submit.cpp: build_local_envelope (bare names qualified with the
// origin, duplicates dropped case-insensitively, a bad address named in the error,
// kMaxSendmailRecipients at N and N+1, smtputf8 for a UTF-8 address, the DSN and body
// attributes) and run_postdrop against stand-in postdrop scripts (the image on stdin, the exit
// code passed on, a program that cannot run, is killed, or exits 0 without reading).
#include "sendmail/maildrop_submit.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sysexits.h>

#include <fstream>
#include <iterator>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern::sendmail {
namespace {

LocalEnvelopeInput input(std::vector<std::string> recipients) {
  LocalEnvelopeInput in;
  in.queue_id = "0123456789ABCDEF";
  in.now = 1700000000;
  in.sender = "alice";
  in.recipients = std::move(recipients);
  in.origin = "example.org";
  return in;
}

std::vector<std::string> addresses(const QueueEnvelope& envelope) {
  std::vector<std::string> out;
  for (const QueueRecipient& rcpt : envelope.recipients) out.push_back(rcpt.address);
  return out;
}

TEST(BuildLocalEnvelopeTest, BareNamesGetTheOrigin) {
  Result<QueueEnvelope> envelope = build_local_envelope(input({"bob", "carol@example.net"}));
  ASSERT_TRUE(envelope.ok()) << envelope.error().message;
  EXPECT_EQ(envelope->queue_id, "0123456789ABCDEF");
  EXPECT_EQ(envelope->arrival_time, 1700000000);
  EXPECT_EQ(envelope->sender, "alice@example.org");
  EXPECT_EQ(addresses(*envelope),
            (std::vector<std::string>{"bob@example.org", "carol@example.net"}));
  EXPECT_EQ(envelope->recipients[0].orcpt, "rfc822;bob@example.org");
  EXPECT_EQ(envelope->recipients[0].status, RecipientStatus::kPending);
  EXPECT_TRUE(envelope->attributes.empty());
  EXPECT_EQ(envelope->attempts, 0u);
  EXPECT_EQ(envelope->next_attempt, 0);
}

TEST(BuildLocalEnvelopeTest, NullSenderStaysNull) {
  LocalEnvelopeInput in = input({"bob"});
  in.sender = "";
  Result<QueueEnvelope> envelope = build_local_envelope(in);
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(envelope->sender, "");
}

TEST(BuildLocalEnvelopeTest, DuplicatesDroppedCaseInsensitively) {
  Result<QueueEnvelope> envelope =
      build_local_envelope(input({"Bob", "bob@example.org", "BOB@EXAMPLE.ORG", "carol", "bob"}));
  ASSERT_TRUE(envelope.ok());
  EXPECT_EQ(addresses(*envelope),
            (std::vector<std::string>{"Bob@example.org", "carol@example.org"}));
}

TEST(BuildLocalEnvelopeTest, BadAddressIsNamed) {
  Result<QueueEnvelope> bad = build_local_envelope(input({"bob", "x@@y"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kParse);
  EXPECT_NE(bad.error().message.find("<x@@y>"), std::string::npos) << bad.error().message;
  LocalEnvelopeInput bad_sender = input({"bob"});
  bad_sender.sender = "a b@c";
  EXPECT_FALSE(build_local_envelope(bad_sender).ok());
  EXPECT_FALSE(build_local_envelope(input({})).ok());  // no recipients
  EXPECT_FALSE(build_local_envelope(input({""})).ok());
}

TEST(BuildLocalEnvelopeTest, RecipientLimitAtNAndNPlusOne) {
  std::vector<std::string> many;
  for (size_t i = 0; i < kMaxSendmailRecipients; ++i) many.push_back("u" + std::to_string(i));
  // Duplicates do not count against the limit.
  many.push_back("U0");
  Result<QueueEnvelope> at_limit = build_local_envelope(input(many));
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  EXPECT_EQ(at_limit->recipients.size(), kMaxSendmailRecipients);
  many.push_back("one-more");
  Result<QueueEnvelope> over = build_local_envelope(input(many));
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(BuildLocalEnvelopeTest, Utf8AddressSetsSmtputf8) {
  Result<QueueEnvelope> ascii = build_local_envelope(input({"bob"}));
  ASSERT_TRUE(ascii.ok());
  EXPECT_FALSE(ascii->attribute("smtputf8").has_value());
  Result<QueueEnvelope> utf8 = build_local_envelope(input({"bob", "j\xc3\xb6rg@example.org"}));
  ASSERT_TRUE(utf8.ok()) << utf8.error().message;
  EXPECT_EQ(utf8->attribute("smtputf8"), "yes");
  LocalEnvelopeInput utf8_sender = input({"bob"});
  utf8_sender.sender = "\xc3\xa9lise";
  Result<QueueEnvelope> from_sender = build_local_envelope(utf8_sender);
  ASSERT_TRUE(from_sender.ok());
  EXPECT_EQ(from_sender->sender, "\xc3\xa9lise@example.org");
  EXPECT_EQ(from_sender->attribute("smtputf8"), "yes");
}

TEST(BuildLocalEnvelopeTest, DsnAndBodyAttributes) {
  LocalEnvelopeInput in = input({"bob"});
  in.notify = "SUCCESS,DELAY";
  in.ret = "HDRS";
  in.envid = "env-1";
  in.body_type = "8BITMIME";
  Result<QueueEnvelope> envelope = build_local_envelope(in);
  ASSERT_TRUE(envelope.ok());
  using Attributes = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(envelope->attributes,
            (Attributes{{"body", "8BITMIME"}, {"dsn_ret", "HDRS"}, {"dsn_envid", "env-1"}}));
  EXPECT_EQ(envelope->recipients[0].notify, "SUCCESS,DELAY");
  // What is built can be written as a queue file image.
  EXPECT_TRUE(encode_queue_file(*envelope, "Subject: x\r\n\r\nb\r\n").ok());
}

// run_postdrop with a script standing in for postern-postdrop. The script gets "-c DIR" and
// writes what it read into DIR.
class RunPostdropTest : public ::testing::Test {
 protected:
  std::string script(const std::string& name, const std::string& body) {
    std::string path = dir_.path() + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    ::chmod(path.c_str(), 0755);
    return path;
  }
  std::string read(const std::string& name) {
    std::ifstream in(dir_.path() + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  test_support::TempDir dir_{"maildrop_submit_test"};
};

TEST_F(RunPostdropTest, ImageGoesToStdinAndExitZeroIsPassedOn) {
  std::string postdrop = script("postdrop", "[ \"$1\" = -c ] || exit 64\ncat > \"$2/image\"");
  std::string image(200000, 'i');
  image += "end";
  EXPECT_EQ(run_postdrop(postdrop, dir_.path(), image), 0);
  EXPECT_EQ(read("image"), image);
}

TEST_F(RunPostdropTest, ExitCodeIsPassedOn) {
  std::string postdrop = script("postdrop", "cat > /dev/null\nexit 73");
  EXPECT_EQ(run_postdrop(postdrop, dir_.path(), "image"), 73);
}

TEST_F(RunPostdropTest, EarlyRefusalReportsItsOwnCode) {
  // Refuses without reading a large image: its code counts, not our EPIPE.
  std::string postdrop = script("postdrop", "exit 65");
  EXPECT_EQ(run_postdrop(postdrop, dir_.path(), std::string(1 << 20, 'x')), 65);
}

TEST_F(RunPostdropTest, ExitZeroWithoutReadingEverythingIsTempfail) {
  std::string postdrop = script("postdrop", "exit 0");
  EXPECT_EQ(run_postdrop(postdrop, dir_.path(), std::string(1 << 20, 'x')), EX_TEMPFAIL);
}

TEST_F(RunPostdropTest, MissingOrKilledPostdropIsTempfail) {
  EXPECT_EQ(run_postdrop(dir_.path() + "/no-such-program", dir_.path(), "image"), EX_TEMPFAIL);
  std::string killed = script("postdrop", "cat > /dev/null\nkill -9 $$");
  EXPECT_EQ(run_postdrop(killed, dir_.path(), "image"), EX_TEMPFAIL);
}

}  // namespace
}  // namespace postern::sendmail
