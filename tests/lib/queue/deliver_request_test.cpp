// Tests lib/queue/deliver_request: what a request from qmgr must hold before relay or delivery acts on
// it.
#include "lib/queue/deliver_request.hpp"

#include <gtest/gtest.h>

namespace postern {
namespace {

const std::string kActive = "/var/spool/postern/active";

AttrRecord good_request() {
  AttrRecord record;
  record.add("request", "deliver")
      .add("queue_id", "4F2A9C1B7D0E3A51")
      .add("path", kActive + "/4F2A9C1B7D0E3A51")
      .add("sender", "alice@example.test")
      .add("nexthop", "[127.0.0.1]:2525")
      .add("rcpt", "bob@example.org")
      .add("index", "0")
      .add("rcpt", "carol@example.org")
      .add("index", "2");
  return record;
}

Result<DeliverRequest> parse_relay(const AttrRecord& record) {
  return parse_deliver_request(record, kActive, DeliverService::kRelay);
}

// The same request as delivery gets it: mailboxes after each rcpt, no nexthop.
AttrRecord good_delivery_request() {
  AttrRecord record;
  record.add("request", "deliver")
      .add("queue_id", "4F2A9C1B7D0E3A51")
      .add("path", kActive + "/4F2A9C1B7D0E3A51")
      .add("sender", "")
      .add("rcpt", "info@example.test")
      .add("index", "0")
      .add("mailbox", "demo@example.test")
      .add("mailbox", "alice@example.test")
      .add("rcpt", "bob@example.test")
      .add("index", "1")
      .add("mailbox", "bob@example.test");
  return record;
}

TEST(DeliverRequestTest, DeliveryRequestsCarryMailboxesAndNeedThem) {
  Result<DeliverRequest> request =
      parse_deliver_request(good_delivery_request(), kActive, DeliverService::kDelivery);
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->sender, "");
  ASSERT_EQ(request->recipients.size(), 2u);
  EXPECT_EQ(request->recipients[0].mailboxes,
            (std::vector<std::string>{"demo@example.test", "alice@example.test"}));
  EXPECT_EQ(request->recipients[1].index, 1);
  // Without a nexthop it is no relay request; a rcpt without mailbox is no delivery request.
  EXPECT_FALSE(parse_relay(good_delivery_request()).ok());
  AttrRecord no_mailbox;
  const AttrRecord full = good_delivery_request();
  for (const auto& [name, value] : full.attributes()) {
    if (!(name == "mailbox" && value == "bob@example.test")) no_mailbox.add(name, value);
  }
  EXPECT_FALSE(parse_deliver_request(no_mailbox, kActive, DeliverService::kDelivery).ok());
  AttrRecord early;
  early.add("request", "deliver").add("mailbox", "demo@example.test");
  EXPECT_FALSE(parse_deliver_request(early, kActive, DeliverService::kDelivery).ok());
}

TEST(DeliverRequestTest, AcceptsAWellFormedRequest) {
  Result<DeliverRequest> request = parse_relay(good_request());
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->nexthop, "[127.0.0.1]:2525");
  ASSERT_EQ(request->recipients.size(), 2u);
  EXPECT_EQ(request->recipients[1].address, "carol@example.org");
  EXPECT_EQ(request->recipients[1].index, 2);
}

TEST(DeliverRequestTest, RejectsAPathOutsideActive) {
  const AttrRecord base = good_request();
  AttrRecord record;
  for (const auto& [name, value] : base.attributes()) {
    record.add(name, name == "path" ? std::string("/etc/passwd") : value);
  }
  EXPECT_FALSE(parse_relay(record).ok());
}

TEST(DeliverRequestTest, RejectsMissingFields) {
  for (const char* drop : {"request", "queue_id", "path", "sender", "nexthop", "rcpt", "index"}) {
    const AttrRecord base = good_request();
    AttrRecord record;
    for (const auto& [name, value] : base.attributes()) {
      if (name != drop) record.add(name, value);
    }
    EXPECT_FALSE(parse_relay(record).ok()) << drop;
  }
}

TEST(DeliverRequestTest, RejectsBadIndexes) {
  for (const char* bad : {"-1", "x", "", "1x", "+1", " 1", "99999999999999999999"}) {
    const AttrRecord base = good_request();
    AttrRecord record;
    for (const auto& [name, value] : base.attributes()) {
      record.add(name, name == "index" ? std::string(bad) : value);
    }
    EXPECT_FALSE(parse_relay(record).ok()) << bad;
  }
  AttrRecord early;
  early.add("request", "deliver").add("index", "0");
  EXPECT_FALSE(parse_relay(early).ok());
}

TEST(DeliverRequestTest, RejectsOtherRequests) {
  const AttrRecord base = good_request();
  AttrRecord record;
  for (const auto& [name, value] : base.attributes()) {
    record.add(name, name == "request" ? std::string("flush") : value);
  }
  EXPECT_FALSE(parse_relay(record).ok());
}

}  // namespace
}  // namespace postern
