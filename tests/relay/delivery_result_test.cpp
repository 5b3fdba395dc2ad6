// Tests relay/delivery_result: reply -> sent/deferred/bounced, the DSN code chosen, the reason
// and log line text, and the reply record qmgr reads.
#include "relay/delivery_result.hpp"

#include <gtest/gtest.h>

namespace postern::relay {
namespace {

SmtpReply reply(std::string_view text) {
  Result<SmtpReply> parsed = parse_smtp_reply(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? parsed.value() : SmtpReply{};
}

TEST(DeliveryResultTest, PositiveReplyIsSent) {
  RecipientResult r =
      result_from_reply(reply("250 2.0.0 Ok: queued as ABC\r\n"), "mx.example.org[192.0.2.1]",
                        "mx.example.org", "end of DATA");
  EXPECT_EQ(r.status, DeliveryStatus::kSent);
  EXPECT_EQ(r.dsn, "2.0.0");
  EXPECT_EQ(r.reason, "250 2.0.0 Ok: queued as ABC");
  EXPECT_EQ(r.remote_mta, "mx.example.org");
  EXPECT_EQ(r.diagnostic, "250 2.0.0 Ok: queued as ABC");
}

TEST(DeliveryResultTest, TransientReplyIsDeferredWithTheServersWords) {
  RecipientResult r = result_from_reply(reply("450 4.2.0 <a@b>: Recipient address rejected\r\n"),
                                        "mx.example.org[192.0.2.1]", "mx.example.org", "RCPT TO");
  EXPECT_EQ(r.status, DeliveryStatus::kDeferred);
  EXPECT_EQ(r.dsn, "4.2.0");
  EXPECT_EQ(r.reason,
            "host mx.example.org[192.0.2.1] said: 450 4.2.0 <a@b>: Recipient address rejected "
            "(in reply to RCPT TO command)");
}

TEST(DeliveryResultTest, PermanentReplyIsBounced) {
  RecipientResult r =
      result_from_reply(reply("550 5.1.1 User unknown\r\n"), "h[192.0.2.1]", "h", "RCPT TO");
  EXPECT_EQ(r.status, DeliveryStatus::kBounced);
  EXPECT_EQ(r.dsn, "5.1.1");
  EXPECT_EQ(r.diagnostic, "550 5.1.1 User unknown");
}

TEST(DeliveryResultTest, DsnDerivedWhenMissingOrOfTheWrongClass) {
  EXPECT_EQ(reply_dsn(reply("550 no such user\r\n")), "5.0.0");
  EXPECT_EQ(reply_dsn(reply("451 try later\r\n")), "4.0.0");
  EXPECT_EQ(reply_dsn(reply("250 ok\r\n")), "2.0.0");
  // A 5xx reply with a 4.x.x code: the reply code decides the class.
  EXPECT_EQ(reply_dsn(reply("550 4.1.1 confused\r\n")), "5.0.0");
  EXPECT_EQ(reply_dsn(reply("452 4.5.3 Too many recipients\r\n")), "4.5.3");
}

TEST(DeliveryResultTest, MultiLineReplyIsJoined) {
  RecipientResult r = result_from_reply(reply("550-5.7.1 first\r\n550 5.7.1 second\r\n"), "h[ip]",
                                        "h", "MAIL FROM");
  EXPECT_EQ(r.dsn, "5.7.1");
  EXPECT_EQ(r.diagnostic, "550 5.7.1 first second");
}

TEST(DeliveryResultTest, HostileTextIsMadePrintableAndCut) {
  std::string long_text = "550 5.1.1 " + std::string(2000, 'x') + "\x01\r\n";
  RecipientResult r = result_from_reply(reply(long_text), "h[ip]", "h", "RCPT TO");
  EXPECT_LE(r.diagnostic.size(), kMaxReasonBytes + 3);
  for (char c : r.reason) EXPECT_TRUE(c >= 0x20 && c < 0x7f);
}

TEST(DeliveryResultTest, LocalResults) {
  RecipientResult deferred = local_result("4.4.1", "connect to h[ip]:25: Connection refused");
  EXPECT_EQ(deferred.status, DeliveryStatus::kDeferred);
  EXPECT_TRUE(deferred.remote_mta.empty());
  RecipientResult bounced = local_result("5.1.2", "Host or domain name not found");
  EXPECT_EQ(bounced.status, DeliveryStatus::kBounced);
}

TEST(DeliveryResultTest, ReplyAttributesInOrder) {
  AttrRecord record;
  add_reply_attributes(record, 3,
                       result_from_reply(reply("550 5.1.1 unknown\r\n"), "h[ip]", "h", "RCPT TO"));
  add_reply_attributes(record, 4, local_result("4.4.1", "refused"));
  std::vector<std::string_view> names;
  for (const auto& [name, value] : record.attributes()) names.push_back(name);
  EXPECT_EQ(names,
            (std::vector<std::string_view>{"index", "status", "dsn", "reason", "remote_mta",
                                           "diagnostic", "index", "status", "dsn", "reason"}));
  EXPECT_EQ(record.get_all("status"), (std::vector<std::string_view>{"bounced", "deferred"}));
  EXPECT_EQ(record.get("diagnostic"), "550 5.1.1 unknown");
}

TEST(DeliveryResultTest, LogLineInPostfixShape) {
  RecipientResult r = result_from_reply(reply("250 2.0.0 Ok: queued as XYZ\r\n"), "h[127.0.0.1]",
                                        "h", "end of DATA");
  EXPECT_EQ(delivery_log_line("ABC123", "bob@example.org", "h[127.0.0.1]:25", 0.517, r),
            "ABC123: to=<bob@example.org>, relay=h[127.0.0.1]:25, delay=0.52, dsn=2.0.0, "
            "status=sent (250 2.0.0 Ok: queued as XYZ)");
}

}  // namespace
}  // namespace postern::relay
