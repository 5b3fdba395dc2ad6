// Tests for local/delivery_outcome.cpp: the one-line form a delivery child sends its parent.
// Round trips of each kind; everything the parent must not believe (a wrong kind letter, a DSN
// whose class does not match the kind, missing fields, a malformed DSN) reads as "deferred: bad
// result from the child"; an overlong or unprintable reason is cut and made printable; worse_of
// orders deferred over bounced over sent.
#include "local/delivery_outcome.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern::local {
namespace {

using Kind = DeliveryOutcome::Kind;

void expect_bad(std::string_view line) {
  DeliveryOutcome outcome = decode_outcome(line);
  EXPECT_EQ(outcome.kind, Kind::kDeferred) << line;
  EXPECT_EQ(outcome.dsn, "4.3.0") << line;
  EXPECT_EQ(outcome.reason, "bad result from the child") << line;
}

TEST(DeliveryOutcomeTest, RoundTripOfEachKind) {
  for (const DeliveryOutcome& original :
       {DeliveryOutcome::sent("delivered to mailbox"),
        DeliveryOutcome::deferred("4.2.1", "mailbox locked"),
        DeliveryOutcome::bounced("5.2.2", "mailbox full: over 1000 bytes"),
        DeliveryOutcome::bounced("5.1.10", "three-digit detail"),
        DeliveryOutcome::deferred("4.3.0", "")}) {
    std::string line = encode_outcome(original);
    EXPECT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    DeliveryOutcome decoded = decode_outcome(line);
    EXPECT_EQ(decoded.kind, original.kind) << line;
    EXPECT_EQ(decoded.dsn, original.dsn) << line;
    EXPECT_EQ(decoded.reason, original.reason) << line;
  }
}

TEST(DeliveryOutcomeTest, EncodedShape) {
  EXPECT_EQ(encode_outcome(DeliveryOutcome::sent("ok")), "s 2.0.0 ok\n");
  EXPECT_EQ(encode_outcome(DeliveryOutcome::bounced("5.1.1", "unknown")), "b 5.1.1 unknown\n");
  EXPECT_EQ(encode_outcome(DeliveryOutcome::deferred("4.2.0", "x")), "d 4.2.0 x\n");
  // A reason with a line end cannot end the line early.
  EXPECT_EQ(encode_outcome(DeliveryOutcome::sent("a\nb 5.0.0")), "s 2.0.0 a?b 5.0.0\n");
}

TEST(DeliveryOutcomeTest, DecodeWithoutLineEnd) {
  DeliveryOutcome outcome = decode_outcome("b 5.1.1 unknown user");
  EXPECT_EQ(outcome.kind, Kind::kBounced);
  EXPECT_EQ(outcome.dsn, "5.1.1");
  EXPECT_EQ(outcome.reason, "unknown user");
}

TEST(DeliveryOutcomeTest, WrongKindLetterIsBad) {
  expect_bad("x 2.0.0 ok\n");
  expect_bad("S 2.0.0 ok\n");
  expect_bad("sent 2.0.0 ok\n");
}

TEST(DeliveryOutcomeTest, DsnClassMustMatchTheKind) {
  expect_bad("s 4.0.0 ok\n");
  expect_bad("s 5.0.0 ok\n");
  expect_bad("b 2.0.0 ok\n");
  expect_bad("b 4.0.0 ok\n");
  expect_bad("d 2.0.0 ok\n");
  expect_bad("d 5.0.0 ok\n");
}

TEST(DeliveryOutcomeTest, MalformedDsnIsBad) {
  for (const char* line : {"s 2.0 ok", "s 2.0.0.0 ok", "s 2..0 ok", "s 2.0. ok", "s 2.x.0 ok",
                           "s 2.0000.00000 ok", "s 20.0.0 ok", "s .2.0.0 ok"}) {
    expect_bad(line);
  }
  EXPECT_EQ(decode_outcome("s 2.000.000 ok").kind, Kind::kSent);  // 11 characters: the maximum
}

TEST(DeliveryOutcomeTest, MissingFieldsAreBad) {
  for (const char* line :
       {"", "\n", "s", "s 2.0.0", "s 2.0.0\n", "s2.0.0 ok", "  2.0.0 ok", "s  2.0.0 ok"}) {
    expect_bad(line);
  }
  // An empty reason after the space is a whole line.
  DeliveryOutcome empty_reason = decode_outcome("s 2.0.0 \n");
  EXPECT_EQ(empty_reason.kind, Kind::kSent);
  EXPECT_EQ(empty_reason.reason, "");
}

TEST(DeliveryOutcomeTest, OverlongAndUnprintableReasonIsCut) {
  DeliveryOutcome outcome = decode_outcome("b 5.3.0 " + std::string(5000, 'r') + "\n");
  EXPECT_EQ(outcome.kind, Kind::kBounced);
  EXPECT_LE(outcome.reason.size(), kMaxOutcomeReasonBytes + 3);
  EXPECT_EQ(outcome.reason.rfind(std::string(100, 'r'), 0), 0u);
  DeliveryOutcome control = decode_outcome("d 4.0.0 a\x01\x1b[31mb\xff\n");
  EXPECT_EQ(control.kind, Kind::kDeferred);
  for (char c : control.reason) {
    EXPECT_TRUE(c >= ' ' && c <= '~') << static_cast<int>(static_cast<unsigned char>(c));
  }
  std::string encoded = encode_outcome(DeliveryOutcome::sent(std::string(5000, 's')));
  EXPECT_LE(encoded.size(), kMaxOutcomeReasonBytes + 12);
}

TEST(DeliveryOutcomeTest, WorseOf) {
  const DeliveryOutcome sent = DeliveryOutcome::sent("s");
  const DeliveryOutcome bounced = DeliveryOutcome::bounced("5.0.0", "b");
  const DeliveryOutcome deferred = DeliveryOutcome::deferred("4.0.0", "d");
  EXPECT_EQ(&worse_of(sent, bounced), &bounced);
  EXPECT_EQ(&worse_of(bounced, sent), &bounced);
  EXPECT_EQ(&worse_of(bounced, deferred), &deferred);
  EXPECT_EQ(&worse_of(deferred, bounced), &deferred);
  EXPECT_EQ(&worse_of(sent, deferred), &deferred);
  const DeliveryOutcome other_sent = DeliveryOutcome::sent("t");
  EXPECT_EQ(&worse_of(sent, other_sent), &sent);  // a tie keeps the first
  EXPECT_EQ(status_word(Kind::kSent), "sent");
  EXPECT_EQ(status_word(Kind::kBounced), "bounced");
  EXPECT_EQ(status_word(Kind::kDeferred), "deferred");
}

}  // namespace
}  // namespace postern::local
