// Tests for pickup/maildrop_check.cpp: every refusal its header lists (forged attributes such
// as auth=, client_address=, local_uid=; a duplicate attribute; bad body/dsn values; a schedule
// that is not zero; a recipient not pending; bad NOTIFY and ORCPT; no recipient and
// kMaxPickupRecipients at N and N+1; an empty message and message_size_limit at N and N+1),
// and the good case (bare names qualified, duplicates dropped, local_uid/local_user added).
#include "pickup/maildrop_check.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::pickup {
namespace {

using Attributes = std::vector<std::pair<std::string, std::string>>;

QueueRecipient recipient(std::string address, std::string orcpt = "", std::string notify = "") {
  QueueRecipient rcpt;
  rcpt.address = std::move(address);
  rcpt.orcpt = std::move(orcpt);
  rcpt.notify = std::move(notify);
  return rcpt;
}

QueueEnvelope dropped() {
  QueueEnvelope envelope;
  envelope.queue_id = "ignored";
  envelope.arrival_time = 12345;
  envelope.sender = "alice";
  envelope.recipients = {recipient("bob")};
  envelope.message_bytes = 100;
  return envelope;
}

const MaildropOwner kOwner{1000, "alice"};
const MaildropPolicy kPolicy{"example.org", 1000};

Result<QueueEnvelope> check(const QueueEnvelope& envelope, const MaildropPolicy& policy = kPolicy) {
  return check_maildrop_envelope(envelope, kOwner, policy, "0123456789ABCDEF", 1700000000);
}

void expect_refused(const QueueEnvelope& envelope, std::string_view needle) {
  Result<QueueEnvelope> checked = check(envelope);
  ASSERT_FALSE(checked.ok()) << "accepted; wanted a refusal with: " << needle;
  EXPECT_EQ(checked.error().kind, ErrorKind::kParse);
  EXPECT_NE(checked.error().message.find(needle), std::string::npos) << checked.error().message;
}

TEST(MaildropCheckTest, GoodEnvelopeIsQualifiedAndStamped) {
  QueueEnvelope in = dropped();
  in.attributes = {{"body", "8BITMIME"}, {"dsn_ret", "HDRS"}, {"dsn_envid", "abc"}};
  in.recipients = {recipient("bob", "rfc822;bob@example.org", "SUCCESS,DELAY"),
                   recipient("carol@example.net", "", "NEVER"), recipient("BOB@example.org"),
                   recipient("bob")};
  Result<QueueEnvelope> out = check(in);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->queue_id, "0123456789ABCDEF");
  EXPECT_EQ(out->arrival_time, 1700000000);
  EXPECT_EQ(out->sender, "alice@example.org");
  EXPECT_EQ(out->attributes, (Attributes{{"body", "8BITMIME"},
                                         {"dsn_ret", "HDRS"},
                                         {"dsn_envid", "abc"},
                                         {"local_uid", "1000"},
                                         {"local_user", "alice"}}));
  ASSERT_EQ(out->recipients.size(), 2u);
  EXPECT_EQ(out->recipients[0].address, "bob@example.org");
  EXPECT_EQ(out->recipients[0].orcpt, "rfc822;bob@example.org");
  EXPECT_EQ(out->recipients[0].notify, "SUCCESS,DELAY");
  EXPECT_EQ(out->recipients[1].address, "carol@example.net");
  EXPECT_EQ(out->recipients[1].notify, "NEVER");
  EXPECT_EQ(out->recipients[1].status, RecipientStatus::kPending);
}

TEST(MaildropCheckTest, NullSenderAndSmtputf8AreAllowed) {
  QueueEnvelope in = dropped();
  in.sender = "";
  in.attributes = {{"smtputf8", "yes"}};
  in.recipients = {recipient("j\xc3\xb6rg")};
  Result<QueueEnvelope> out = check(in);
  ASSERT_TRUE(out.ok()) << out.error().message;
  EXPECT_EQ(out->sender, "");
  EXPECT_EQ(out->recipients[0].address, "j\xc3\xb6rg@example.org");
}

TEST(MaildropCheckTest, ForgedAttributesAreRefused) {
  for (const char* name :
       {"auth", "client_address", "client", "helo", "local_uid", "local_user", "Body", ""}) {
    QueueEnvelope in = dropped();
    in.attributes = {{name, "x"}};
    expect_refused(in, "may not come from maildrop");
  }
}

TEST(MaildropCheckTest, BadAttributeValuesAreRefused) {
  const Attributes bad = {{"body", "BINARYMIME"}, {"body", "7bit"},
                          {"body", ""},           {"dsn_ret", "full"},
                          {"dsn_ret", "NONE"},    {"dsn_envid", ""},
                          {"dsn_envid", "a b"},   {"dsn_envid", std::string(101, 'e')},
                          {"smtputf8", "no"},     {"smtputf8", "YES"}};
  for (const auto& attribute : bad) {
    QueueEnvelope in = dropped();
    in.attributes = {attribute};
    expect_refused(in, "bad value for attribute " + attribute.first);
  }
  QueueEnvelope longest = dropped();
  longest.attributes = {{"dsn_envid", std::string(kMaxEnvidBytes, 'e')}};
  EXPECT_TRUE(check(longest).ok());
}

TEST(MaildropCheckTest, DuplicateAttributeIsRefused) {
  QueueEnvelope in = dropped();
  in.attributes = {{"body", "7BIT"}, {"dsn_ret", "FULL"}, {"body", "7BIT"}};
  expect_refused(in, "duplicate attribute body");
}

TEST(MaildropCheckTest, NonZeroScheduleIsRefused) {
  QueueEnvelope attempts = dropped();
  attempts.attempts = 1;
  expect_refused(attempts, "schedule");
  QueueEnvelope flags = dropped();
  flags.schedule_flags = kScheduleDelayWarned;
  expect_refused(flags, "schedule");
  QueueEnvelope next = dropped();
  next.next_attempt = 1700000000;
  expect_refused(next, "schedule");
}

TEST(MaildropCheckTest, RecipientNotPendingIsRefused) {
  QueueEnvelope in = dropped();
  in.recipients.push_back(recipient("carol"));
  in.recipients.back().status = RecipientStatus::kDone;
  expect_refused(in, "not pending");
}

TEST(MaildropCheckTest, BadNotifyIsRefused) {
  for (const char* notify : {"never", "SUCCESS,NEVER", "NEVER,SUCCESS", "DELAY,DELAY", "SUCCESS,",
                             ",FAILURE", "success", "SUCCESS FAILURE", "X"}) {
    QueueEnvelope in = dropped();
    in.recipients = {recipient("bob", "", notify)};
    expect_refused(in, "bad NOTIFY");
  }
  QueueEnvelope all = dropped();
  all.recipients = {recipient("bob", "", "DELAY,FAILURE,SUCCESS")};
  EXPECT_TRUE(check(all).ok());
}

TEST(MaildropCheckTest, BadOrcptIsRefused) {
  for (const std::string& orcpt :
       {std::string("rfc822;bob\x01@example.org"), std::string("rfc822;bob\x7f"),
        std::string("rfc822;a\r\nb"), std::string("no-type-separator"),
        "rfc822;" + std::string(kMaxOrcptBytes, 'o')}) {
    QueueEnvelope in = dropped();
    in.recipients = {recipient("bob", orcpt)};
    expect_refused(in, "bad ORCPT");
  }
  QueueEnvelope longest = dropped();
  longest.recipients = {recipient("bob", "rfc822;" + std::string(kMaxOrcptBytes - 7, 'o'))};
  EXPECT_TRUE(check(longest).ok());
}

TEST(MaildropCheckTest, BadAddressesAreRefused) {
  QueueEnvelope rcpt = dropped();
  rcpt.recipients = {recipient("bob@@example.org")};
  expect_refused(rcpt, "recipient: ");
  QueueEnvelope empty = dropped();
  empty.recipients = {recipient("")};
  expect_refused(empty, "recipient: empty address");
  QueueEnvelope sender = dropped();
  sender.sender = "a b";
  expect_refused(sender, "sender: ");
}

TEST(MaildropCheckTest, RecipientCountAtNAndNPlusOne) {
  QueueEnvelope none = dropped();
  none.recipients.clear();
  expect_refused(none, "no recipients");
  QueueEnvelope many = dropped();
  many.recipients.clear();
  for (size_t i = 0; i < kMaxPickupRecipients; ++i) {
    many.recipients.push_back(recipient("u" + std::to_string(i)));
  }
  Result<QueueEnvelope> at_limit = check(many);
  ASSERT_TRUE(at_limit.ok()) << at_limit.error().message;
  EXPECT_EQ(at_limit->recipients.size(), kMaxPickupRecipients);
  many.recipients.push_back(recipient("u0"));  // even a duplicate counts here
  expect_refused(many, "more than 10000 recipients");
}

TEST(MaildropCheckTest, MessageSizeAtNAndNPlusOne) {
  QueueEnvelope empty = dropped();
  empty.message_bytes = 0;
  expect_refused(empty, "empty message");
  QueueEnvelope at_limit = dropped();
  at_limit.message_bytes = kPolicy.message_size_limit;
  EXPECT_TRUE(check(at_limit).ok());
  QueueEnvelope over = dropped();
  over.message_bytes = kPolicy.message_size_limit + 1;
  expect_refused(over, "message_size_limit");
  MaildropPolicy unlimited{"example.org", 0};
  QueueEnvelope huge = dropped();
  huge.message_bytes = uint64_t{1} << 40;
  EXPECT_TRUE(check(huge, unlimited).ok());
}

}  // namespace
}  // namespace postern::pickup
