// Tests relay/relay_request: what a request from qmgr must hold before relay acts on it.
#include "relay/relay_request.hpp"

#include <gtest/gtest.h>

namespace postern::relay {
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

TEST(RelayRequestTest, AcceptsAWellFormedRequest) {
  Result<RelayRequest> request = parse_relay_request(good_request(), kActive);
  ASSERT_TRUE(request.ok()) << request.error().message;
  EXPECT_EQ(request->nexthop, "[127.0.0.1]:2525");
  ASSERT_EQ(request->recipients.size(), 2u);
  EXPECT_EQ(request->recipients[1].address, "carol@example.org");
  EXPECT_EQ(request->recipients[1].index, 2);
}

TEST(RelayRequestTest, RejectsAPathOutsideActive) {
  const AttrRecord base = good_request();
  AttrRecord record;
  for (const auto& [name, value] : base.attributes()) {
    record.add(name, name == "path" ? std::string("/etc/passwd") : value);
  }
  EXPECT_FALSE(parse_relay_request(record, kActive).ok());
}

TEST(RelayRequestTest, RejectsMissingFields) {
  for (const char* drop : {"request", "queue_id", "path", "sender", "nexthop", "rcpt", "index"}) {
    const AttrRecord base = good_request();
    AttrRecord record;
    for (const auto& [name, value] : base.attributes()) {
      if (name != drop) record.add(name, value);
    }
    EXPECT_FALSE(parse_relay_request(record, kActive).ok()) << drop;
  }
}

TEST(RelayRequestTest, RejectsBadIndexes) {
  for (const char* bad : {"-1", "x", "", "1x"}) {
    const AttrRecord base = good_request();
    AttrRecord record;
    for (const auto& [name, value] : base.attributes()) {
      record.add(name, name == "index" ? std::string(bad) : value);
    }
    EXPECT_FALSE(parse_relay_request(record, kActive).ok()) << bad;
  }
  AttrRecord early;
  early.add("request", "deliver").add("index", "0");
  EXPECT_FALSE(parse_relay_request(early, kActive).ok());
}

TEST(RelayRequestTest, RejectsOtherRequests) {
  const AttrRecord base = good_request();
  AttrRecord record;
  for (const auto& [name, value] : base.attributes()) {
    record.add(name, name == "request" ? std::string("flush") : value);
  }
  EXPECT_FALSE(parse_relay_request(record, kActive).ok());
}

}  // namespace
}  // namespace postern::relay
