// Tests for lib/queue/queue_control.cpp: the control requests and replies between `postern
// queue` and qmgr (round trips through the wire encoding, the ID limit at N and N+1, malformed,
// repeated and unknown input refused; a reply that answers for other IDs, twice, or not at all
// refused), the flush request, and --from/--to matching (domain without case, local part as
// written, the null sender, pending recipients only).
#include "lib/queue/queue_control.hpp"

#include <gtest/gtest.h>

#include "lib/queue/queue_dir.hpp"

namespace postern {
namespace {

// Through the bytes, as qmgr receives it.
AttrRecord over_the_wire(const AttrRecord& record) {
  std::string frame = record.encode();
  Result<AttrRecord> decoded = decode_attr_payload(std::string_view(frame).substr(4));
  EXPECT_TRUE(decoded.ok());
  return decoded ? *decoded : AttrRecord();
}

std::vector<std::string> ids(size_t count) {
  std::vector<std::string> out;
  for (size_t i = 0; i < count; ++i) out.push_back(new_queue_id());
  return out;
}

TEST(QueueControlTest, RequestRoundTrip) {
  ControlRequest request;
  request.action = ControlAction::kHold;
  request.queue_ids = ids(3);
  request.match.sender = "";
  request.match.recipient = "user@Example.COM";
  Result<ControlRequest> decoded =
      decode_control_request(over_the_wire(encode_control_request(request)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().describe();
  EXPECT_EQ(decoded->action, ControlAction::kHold);
  EXPECT_EQ(decoded->queue_ids, request.queue_ids);
  EXPECT_EQ(decoded->match.sender, std::optional<std::string>(""));
  EXPECT_EQ(decoded->match.recipient, std::optional<std::string>("user@Example.COM"));
  for (ControlAction action :
       {ControlAction::kDelete, ControlAction::kRelease, ControlAction::kRequeue}) {
    request.action = action;
    EXPECT_EQ(decode_control_request(encode_control_request(request))->action, action);
    EXPECT_TRUE(is_control_request(control_action_name(action)));
  }
  EXPECT_FALSE(is_control_request("flush"));
  EXPECT_FALSE(is_control_request("nudge"));
}

TEST(QueueControlTest, IdLimitAtNAndNPlusOne) {
  ControlRequest request;
  request.queue_ids = ids(kMaxControlIds);
  EXPECT_TRUE(decode_control_request(encode_control_request(request)).ok());
  request.queue_ids.push_back(new_queue_id());
  Result<ControlRequest> decoded = decode_control_request(encode_control_request(request));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().kind, ErrorKind::kLimit);
}

TEST(QueueControlTest, HostileRequestsAreRefused) {
  const std::string good = new_queue_id();
  auto decode = [](std::vector<std::pair<std::string, std::string>> attrs) {
    AttrRecord record;
    for (const auto& [name, value] : attrs) record.add(name, value);
    return decode_control_request(record);
  };
  EXPECT_TRUE(decode({{"request", "delete"}, {"queue_id", good}}).ok());
  EXPECT_FALSE(decode({{"queue_id", good}}).ok());                          // no request
  EXPECT_FALSE(decode({{"request", "destroy"}, {"queue_id", good}}).ok());  // unknown
  EXPECT_FALSE(decode({{"request", "delete"}}).ok());                       // no ID
  EXPECT_FALSE(decode({{"request", "delete"}, {"queue_id", "../../etc/passwd"}}).ok());
  EXPECT_FALSE(decode({{"request", "delete"}, {"queue_id", good}, {"queue_id", good}}).ok());
  EXPECT_FALSE(decode({{"request", "delete"}, {"queue_id", good}, {"path", "/etc"}}).ok());
  EXPECT_FALSE(decode({{"request", "delete"}, {"request", "hold"}, {"queue_id", good}}).ok());
  EXPECT_FALSE(
      decode({{"request", "delete"}, {"queue_id", good}, {"sender", "a"}, {"sender", "b"}}).ok());
  EXPECT_FALSE(decode({{"request", "delete"}, {"queue_id", good}, {"recipient", ""}}).ok());
  EXPECT_FALSE(decode({{"request", "delete"}, {"queue_id", good}, {"recipient", "a\nb@c"}}).ok());
  const std::string longest(kMaxControlAddressBytes, 'a');
  EXPECT_TRUE(decode({{"request", "delete"}, {"queue_id", good}, {"recipient", longest}}).ok());
  EXPECT_FALSE(
      decode({{"request", "delete"}, {"queue_id", good}, {"recipient", longest + "a"}}).ok());
}

TEST(QueueControlTest, ReplyRoundTripAndChecks) {
  ControlRequest request;
  request.queue_ids = ids(3);
  std::vector<ControlResult> results = {
      {request.queue_ids[0], ControlOutcome::kDone, ""},
      {request.queue_ids[1], ControlOutcome::kNotFound, "not in the queue"},
      {request.queue_ids[2], ControlOutcome::kDone, "when its delivery attempt returns"}};
  AttrRecord reply = over_the_wire(encode_control_reply(results));
  EXPECT_EQ(reply.get_int("count"), std::optional<int64_t>(2));
  Result<std::vector<ControlResult>> decoded = decode_control_reply(reply, request);
  ASSERT_TRUE(decoded.ok()) << decoded.error().describe();
  ASSERT_EQ(decoded->size(), 3u);
  EXPECT_EQ((*decoded)[1].outcome, ControlOutcome::kNotFound);
  EXPECT_EQ((*decoded)[1].reason, "not in the queue");
  EXPECT_EQ((*decoded)[2].reason, "when its delivery attempt returns");

  // A result missing, an ID not asked about, an ID twice, an unknown outcome: refused.
  results.pop_back();
  EXPECT_FALSE(decode_control_reply(encode_control_reply(results), request).ok());
  results.push_back({new_queue_id(), ControlOutcome::kDone, ""});
  EXPECT_FALSE(decode_control_reply(encode_control_reply(results), request).ok());
  results.back().queue_id = request.queue_ids[0];
  EXPECT_FALSE(decode_control_reply(encode_control_reply(results), request).ok());
  AttrRecord odd;
  odd.add("status", "ok");
  odd.add("queue_id", request.queue_ids[0]);
  odd.add("result", "exploded");
  EXPECT_FALSE(decode_control_reply(odd, request).ok());

  Result<std::vector<ControlResult>> refused =
      decode_control_reply(control_error_reply("unknown request"), request);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("unknown request"), std::string::npos);
  // The reason in a reply is bounded.
  AttrRecord long_reason = control_error_reply(std::string(5000, 'x'));
  EXPECT_EQ(long_reason.get("reason")->size(), kMaxControlReasonBytes);
}

TEST(QueueControlTest, FlushRequest) {
  Result<FlushRequest> plain = decode_flush_request(encode_flush_request({}));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->domain);
  Result<FlushRequest> domain = decode_flush_request(encode_flush_request({"Example.ORG"}));
  ASSERT_TRUE(domain.ok());
  EXPECT_EQ(domain->domain, std::optional<std::string>("Example.ORG"));
  EXPECT_FALSE(decode_flush_request(encode_flush_request({"a@b"})).ok());
  EXPECT_FALSE(decode_flush_request(encode_flush_request({""})).ok());
  EXPECT_FALSE(decode_flush_request(encode_flush_request({"a\r\nb"})).ok());
  AttrRecord extra = encode_flush_request({});
  extra.add("queue_id", new_queue_id());
  EXPECT_FALSE(decode_flush_request(extra).ok());
}

TEST(QueueControlTest, AddressMatching) {
  EXPECT_TRUE(address_matches("User@Example.COM", "User@example.com"));
  EXPECT_FALSE(address_matches("User@Example.COM", "user@example.com"));  // local part as is
  EXPECT_FALSE(address_matches("user@example.com.evil", "user@example.com"));
  EXPECT_FALSE(address_matches("user@sub.example.com", "user@example.com"));
  EXPECT_TRUE(address_matches("", ""));
  EXPECT_TRUE(address_matches("", "<>"));
  EXPECT_FALSE(address_matches("a@b", "<>"));
  EXPECT_FALSE(address_matches("", "a@b"));
  EXPECT_TRUE(address_matches("root", "root"));
  EXPECT_TRUE(address_matches("a@b@C", "a@b@c"));  // the last '@' splits
}

TEST(QueueControlTest, EnvelopeMatchingSeesPendingRecipientsOnly) {
  QueueEnvelope envelope;
  envelope.sender = "Sender@Example.org";
  QueueRecipient done;
  done.address = "gone@x.example";
  done.status = RecipientStatus::kDone;
  QueueRecipient pending;
  pending.address = "here@Y.example";
  envelope.recipients = {done, pending};

  QueueMatch match;
  EXPECT_TRUE(envelope_matches(envelope, match));
  match.recipient = "gone@x.example";
  EXPECT_FALSE(envelope_matches(envelope, match));
  match.recipient = "here@y.EXAMPLE";
  EXPECT_TRUE(envelope_matches(envelope, match));
  match.sender = "Sender@example.ORG";
  EXPECT_TRUE(envelope_matches(envelope, match));
  match.sender = "other@example.org";
  EXPECT_FALSE(envelope_matches(envelope, match));

  EXPECT_TRUE(has_pending_recipient_in(envelope, "y.example"));
  EXPECT_TRUE(has_pending_recipient_in(envelope, "Y.EXAMPLE"));
  EXPECT_FALSE(has_pending_recipient_in(envelope, "x.example"));  // done
  EXPECT_FALSE(has_pending_recipient_in(envelope, "example"));
}

}  // namespace
}  // namespace postern
