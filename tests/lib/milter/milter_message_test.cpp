// Tests lib/milter/milter_message (and the spool under it): the header fields parsed from the
// spool (folds, a message without body, a header section ended by a line that is no field, our
// own hidden fields on top), values as a milter gets them and as a milter's edits are stored
// (never a header injection: every line break of a milter's value is a fold), the insert,
// change, delete and add edits by libmilter's indexes, body replacement and its size limit at
// N and N+1, and write() byte for byte. Also smtp_reply_from_milter (milter_chain.hpp), the
// SMTP reply built from a milter's SMFIR_REPLYCODE.
#include "lib/milter/milter_message.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/milter/milter_chain.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::milter {
namespace {

using namespace std::string_literals;

constexpr std::string_view kOwnHeader =
    "Received: from client.example (client.example [192.0.2.7])\r\n"
    "\tby mx.example.org (Postern) with ESMTP id 4ABCDEF\r\n";

// A message read from a spool in a temporary directory, the spool fed in pieces of `step`.
class Spooled {
 public:
  Spooled(std::string_view bytes, std::string_view own_header, size_t step = 7) {
    Result<MessageSpool> spool = MessageSpool::create(dir_.path());
    EXPECT_TRUE(spool.ok());
    spool_ = std::make_unique<MessageSpool>(std::move(spool).value());
    for (size_t pos = 0; pos < bytes.size(); pos += step) spool_->append(bytes.substr(pos, step));
    Result<MilterMessage> message = MilterMessage::read(*spool_, dir_.path(), own_header);
    EXPECT_TRUE(message.ok()) << (message.ok() ? "" : message.error().message);
    message_ = std::make_unique<MilterMessage>(std::move(message).value());
  }
  MilterMessage& operator*() { return *message_; }
  MilterMessage* operator->() { return message_.get(); }

  std::string written() {
    std::string out;
    Status st = message_->write([&](std::string_view bytes) {
      out += bytes;
      return Status::success();
    });
    EXPECT_TRUE(st.ok()) << (st.ok() ? "" : st.error().message);
    return out;
  }
  std::string body() {
    std::string all, chunk;
    for (uint64_t offset = 0;; offset += chunk.size()) {
      EXPECT_TRUE(message_->read_body(offset, 5, chunk).ok());
      if (chunk.empty()) break;
      all += chunk;
    }
    EXPECT_EQ(all.size(), message_->body_size());
    return all;
  }
  // "Name:value" of every field, ours included.
  std::vector<std::string> fields() const {
    std::vector<std::string> out;
    for (const HeaderField& field : message_->headers()) {
      out.push_back(field.name + ":" + field.value);
    }
    return out;
  }
  // The fields a milter is shown, as value_for_milter gives them (no leading space).
  std::vector<std::string> visible() const {
    std::vector<std::string> out;
    const std::vector<HeaderField>& headers = message_->headers();
    for (size_t i = 0; i < headers.size(); ++i) {
      if (headers[i].hidden) continue;
      out.push_back(headers[i].name + ":" +
                    MilterMessage::value_for_milter(headers[i].value, false));
    }
    return out;
  }

 private:
  test_support::TempDir dir_{"milter_message_test"};
  std::unique_ptr<MessageSpool> spool_;
  std::unique_ptr<MilterMessage> message_;
};

using Fields = std::vector<std::string>;

TEST(MilterMessageRead, FieldsFoldsAndBody) {
  const std::string text =
      "Subject: hello\r\n"
      "X-Folded: first\r\n"
      "\tsecond\r\n"
      "   third\r\n"
      "To:x@example.org\r\n"
      "X-Empty:\r\n"
      "\r\n"
      "Body line one\r\n"
      "Not-A-Header: in the body\r\n";
  for (size_t step : {size_t{1}, size_t{3}, text.size()}) {
    Spooled message(text, "", step);
    EXPECT_EQ(message.fields(), (Fields{"Subject: hello", "X-Folded: first\r\n\tsecond\r\n   third",
                                        "To:x@example.org", "X-Empty:"}));
    EXPECT_EQ(message.body(), "Body line one\r\nNot-A-Header: in the body\r\n");
    EXPECT_EQ(message.written(), text);
    EXPECT_FALSE(message->edited());
  }
}

TEST(MilterMessageRead, MessageWithoutBody) {
  {
    Spooled message("Subject: hi\r\nTo: a@b\r\n", "");
    EXPECT_EQ(message.fields(), (Fields{"Subject: hi", "To: a@b"}));
    EXPECT_EQ(message->body_size(), 0u);
    EXPECT_EQ(message.written(), "Subject: hi\r\nTo: a@b\r\n");
  }
  {
    Spooled message("Subject: hi\r\n\r\n", "");
    EXPECT_EQ(message.fields(), (Fields{"Subject: hi"}));
    EXPECT_EQ(message->body_size(), 0u);
    EXPECT_EQ(message.written(), "Subject: hi\r\n\r\n");
  }
  {
    // The last line without its CRLF is still the field; write() ends it.
    Spooled message("Subject: hi\r\nX-Last: no end", "");
    EXPECT_EQ(message.fields(), (Fields{"Subject: hi", "X-Last: no end"}));
    EXPECT_EQ(message->body_size(), 0u);
    EXPECT_EQ(message.written(), "Subject: hi\r\nX-Last: no end\r\n");
  }
  {
    Spooled message("", "");
    EXPECT_TRUE(message.fields().empty());
    EXPECT_EQ(message->body_size(), 0u);
    EXPECT_EQ(message.written(), "");
  }
}

TEST(MilterMessageRead, HeaderSectionEndedByALineThatIsNoField) {
  const std::string text = "Subject: hi\r\nThis line has no colon\r\nX-Later: body too\r\n";
  Spooled message(text, "");
  EXPECT_EQ(message.fields(), (Fields{"Subject: hi"}));
  EXPECT_EQ(message.body(), "This line has no colon\r\nX-Later: body too\r\n");
  EXPECT_EQ(message.written(), text);  // no empty line is made up
  for (const char* first_body_line : {">From a@b\r\n", "Bad Name: x\r\n", ": no name\r\n",
                                      "\x01X: y\r\n", "\r\r\n"}) {
    const std::string other = "A: b\r\n"s + first_body_line + "rest\r\n";
    Spooled parsed(other, "");
    EXPECT_EQ(parsed.fields(), (Fields{"A: b"})) << first_body_line;
    EXPECT_EQ(parsed.body(), first_body_line + "rest\r\n"s);
    EXPECT_EQ(parsed.written(), other);
  }
}

TEST(MilterMessageRead, LinesEndedByBareLf) {
  const std::string text = "Subject: hi\nX-Folded: a\n b\n\nbody\n";
  Spooled message(text, "");
  EXPECT_EQ(message.fields(), (Fields{"Subject: hi", "X-Folded: a\r\n b"}));
  EXPECT_EQ(message.body(), "body\n");
}

TEST(MilterMessageRead, OwnHeaderIsHiddenOnTop) {
  Spooled message("Subject: hi\r\nReceived: from elsewhere\r\n\r\nbody\r\n", kOwnHeader);
  EXPECT_EQ(message.fields(),
            (Fields{"Received: from client.example (client.example [192.0.2.7])\r\n"
                    "\tby mx.example.org (Postern) with ESMTP id 4ABCDEF",
                    "Subject: hi", "Received: from elsewhere"}));
  EXPECT_TRUE(message->headers()[0].hidden);
  EXPECT_FALSE(message->headers()[1].hidden);
  EXPECT_FALSE(message->headers()[2].hidden);
  EXPECT_EQ(message.visible(), (Fields{"Subject:hi", "Received:from elsewhere"}));
  EXPECT_EQ(message.written(),
            std::string(kOwnHeader) + "Subject: hi\r\nReceived: from elsewhere\r\n\r\nbody\r\n");
}

TEST(MilterMessageValue, ForMilter) {
  EXPECT_EQ(MilterMessage::value_for_milter(" hi", false), "hi");
  EXPECT_EQ(MilterMessage::value_for_milter(" hi", true), " hi");
  EXPECT_EQ(MilterMessage::value_for_milter("\thi", false), "hi");
  EXPECT_EQ(MilterMessage::value_for_milter("  two", false), " two");  // only one is stripped
  EXPECT_EQ(MilterMessage::value_for_milter("hi", false), "hi");
  EXPECT_EQ(MilterMessage::value_for_milter("", false), "");
  EXPECT_EQ(MilterMessage::value_for_milter("", true), "");
  // Folds go as bare LF, their white space kept.
  EXPECT_EQ(MilterMessage::value_for_milter(" a\r\n\tb\r\n  c", false), "a\n\tb\n  c");
  EXPECT_EQ(MilterMessage::value_for_milter(" a\r\n\tb", true), " a\n\tb");
}

TEST(MilterMessageValue, FromMilter) {
  EXPECT_EQ(MilterMessage::value_from_milter("hi", false), " hi");
  EXPECT_EQ(MilterMessage::value_from_milter("hi", true), "hi");
  EXPECT_EQ(MilterMessage::value_from_milter(" hi", true), " hi");
  EXPECT_EQ(MilterMessage::value_from_milter("", false), " ");
  // Bare LF and CRLF both become CRLF; a fold's own white space is kept.
  EXPECT_EQ(MilterMessage::value_from_milter("a\n\tb", false), " a\r\n\tb");
  EXPECT_EQ(MilterMessage::value_from_milter("a\r\n b", false), " a\r\n b");
  // A line without leading white space gets a TAB: it can never read as a field of its own.
  EXPECT_EQ(MilterMessage::value_from_milter("x\nBcc: victim@example.org", false),
            " x\r\n\tBcc: victim@example.org");
  EXPECT_EQ(MilterMessage::value_from_milter("x\r\nBcc: victim@example.org", true),
            "x\r\n\tBcc: victim@example.org");
  // Empty lines (which would end the header section) are dropped, at the start and end too.
  EXPECT_EQ(MilterMessage::value_from_milter("a\n\n\r\n\nb", false), " a\r\n\tb");
  EXPECT_EQ(MilterMessage::value_from_milter("a\r\n\r\nBody: starts here", false),
            " a\r\n\tBody: starts here");
  EXPECT_EQ(MilterMessage::value_from_milter("a\n", false), " a");
  EXPECT_EQ(MilterMessage::value_from_milter("a\r\n\r\n", false), " a");
  EXPECT_EQ(MilterMessage::value_from_milter("\nX: y", true), "\r\n\tX: y");
  // NUL and CR (bare or not) are dropped.
  EXPECT_EQ(MilterMessage::value_from_milter("a\0b\rc"s, false), " abc");
  EXPECT_EQ(MilterMessage::value_from_milter("a\r\rb\r", false), " ab");
}

TEST(MilterMessageEdit, AddHeaderGoesLast) {
  Spooled message("Subject: hi\r\n\r\nbody\r\n", kOwnHeader);
  message->add_header("X-Spam", "yes\nBcc: x@y", false);
  EXPECT_TRUE(message->edited());
  EXPECT_EQ(message.written(), std::string(kOwnHeader) +
                                   "Subject: hi\r\nX-Spam: yes\r\n\tBcc: x@y\r\n\r\nbody\r\n");
}

TEST(MilterMessageEdit, InsertAtZeroGoesAboveOurOwnHeader) {
  Spooled message("Subject: hi\r\n\r\nbody\r\n", kOwnHeader);
  message->insert_header(0, "X-Top", "1", false);
  EXPECT_EQ(message.written(),
            "X-Top: 1\r\n" + std::string(kOwnHeader) + "Subject: hi\r\n\r\nbody\r\n");
  // The inserted field is the milters'; ours stays hidden.
  EXPECT_EQ(message.visible(), (Fields{"X-Top:1", "Subject:hi"}));
  EXPECT_FALSE(message->headers()[0].hidden);
  EXPECT_TRUE(message->headers()[1].hidden);
}

TEST(MilterMessageEdit, InsertAtIndexCountsOurOwnHeader) {
  Spooled message("A: 1\r\nB: 2\r\n\r\nbody\r\n", kOwnHeader);
  message->insert_header(1, "X-One", "1", false);  // below ours, above A
  message->insert_header(3, "X-Three", "3", true);  // between A and B
  message->insert_header(99, "X-End", " e", true);  // past the end: appended
  EXPECT_EQ(message.written(), std::string(kOwnHeader) +
                                   "X-One: 1\r\nA: 1\r\nX-Three:3\r\nB: 2\r\nX-End: e\r\n"
                                   "\r\nbody\r\n");
  EXPECT_EQ(message.visible(), (Fields{"X-One:1", "A:1", "X-Three:3", "B:2", "X-End:e"}));
}

TEST(MilterMessageEdit, ChangeTheNthFieldOfAName) {
  Spooled message("X-Tag: a\r\nSubject: s\r\nx-tag: b\r\nX-TAG: c\r\n\r\nbody\r\n", "");
  message->change_header("X-Tag", 2, "changed", false);
  EXPECT_EQ(message.fields(), (Fields{"X-Tag: a", "Subject: s", "x-tag: changed", "X-TAG: c"}));
  message->change_header("x-tag", 0, "first", false);  // 0 counts as the first, as in Sendmail
  EXPECT_EQ(message.fields(), (Fields{"X-Tag: first", "Subject: s", "x-tag: changed", "X-TAG: c"}));
  message->change_header("Subject", 1, "line\nBcc: x@y", false);
  EXPECT_EQ(message.fields(), (Fields{"X-Tag: first", "Subject: line\r\n\tBcc: x@y",
                                      "x-tag: changed", "X-TAG: c"}));
}

TEST(MilterMessageEdit, ChangeWithEmptyValueDeletes) {
  Spooled message("X-Tag: a\r\nX-Tag: b\r\nSubject: s\r\n\r\nbody\r\n", "");
  message->change_header("X-Tag", 1, "", false);
  EXPECT_EQ(message.fields(), (Fields{"X-Tag: b", "Subject: s"}));
  message->change_header("X-Tag", 5, "", false);  // no fifth: nothing to delete, nothing added
  EXPECT_EQ(message.fields(), (Fields{"X-Tag: b", "Subject: s"}));
  message->change_header("Subject", 1, "", false);
  message->change_header("X-Tag", 1, "", false);
  EXPECT_TRUE(message.fields().empty());
  EXPECT_EQ(message.written(), "\r\nbody\r\n");
}

TEST(MilterMessageEdit, ChangeAddsWhenThereAreFewer) {
  Spooled message("X-Tag: a\r\n\r\nbody\r\n", "");
  message->change_header("X-Tag", 2, "second", false);
  message->change_header("X-New", 1, "new", false);
  EXPECT_EQ(message.fields(), (Fields{"X-Tag: a", "X-Tag: second", "X-New: new"}));
}

TEST(MilterMessageEdit, ChangeNeverTouchesOurOwnHeader) {
  Spooled message("Received: from theirs\r\n\r\nbody\r\n", kOwnHeader);
  message->change_header("Received", 1, "", false);
  EXPECT_EQ(message.written(), std::string(kOwnHeader) + "\r\nbody\r\n");
  message->change_header("Received", 1, "again", false);  // none left of theirs: added
  EXPECT_EQ(message.written(), std::string(kOwnHeader) + "Received: again\r\n\r\nbody\r\n");
}

TEST(MilterMessageEdit, ChangeAfterInsertAtZeroStillSparesOurOwnHeader) {
  Spooled message("Received: from theirs\r\n\r\nbody\r\n", kOwnHeader);
  message->insert_header(0, "Received", "from a milter", false);
  message->change_header("Received", 2, "", false);  // the second the milters see: theirs
  EXPECT_EQ(message.written(),
            "Received: from a milter\r\n" + std::string(kOwnHeader) + "\r\nbody\r\n");
  message->change_header("Received", 1, "changed", false);  // the inserted one
  EXPECT_EQ(message.written(), "Received: changed\r\n" + std::string(kOwnHeader) + "\r\nbody\r\n");
  message->change_header("Received", 1, "", false);
  EXPECT_EQ(message.written(), std::string(kOwnHeader) + "\r\nbody\r\n");
}

TEST(MilterMessageEdit, AddedFieldNeverSwallowsABodyThatStartsWithWhiteSpace) {
  // No field and no empty line: the whole message is body (no own header to fold into).
  const std::string text = " indented first line\r\nSubject: not a field here\r\n";
  Spooled message(text, "");
  EXPECT_TRUE(message.fields().empty());
  EXPECT_EQ(message.written(), text);
  message->add_header("X-Added", "1", false);
  EXPECT_EQ(message.written(), "X-Added: 1\r\n\r\n" + text);
  message->change_header("X-Added", 1, "", false);
  EXPECT_EQ(message.written(), text);
  // With our own header on top, the line is that field's fold (as it is in the message as
  // written), and Subject: a field.
  Spooled with_own(text, kOwnHeader);
  with_own->add_header("X-Added", "1", false);
  EXPECT_EQ(with_own.written(), std::string(kOwnHeader) + text + "X-Added: 1\r\n");
}

TEST(MilterMessageEdit, HeaderFieldCountIsBounded) {
  std::string text;
  for (size_t i = 0; i < kMaxHeaderFields + 5; ++i) text += "X-N: " + std::to_string(i) + "\r\n";
  text += "\r\nbody\r\n";
  Spooled message(text, "", text.size());
  EXPECT_EQ(message->headers().size(), kMaxHeaderFields);
  // The rest counts as body and is written back as it was.
  EXPECT_EQ(message.written(), text);
  message->add_header("X-More", "1", false);
  message->insert_header(0, "X-More", "1", false);
  EXPECT_EQ(message->headers().size(), kMaxHeaderFields);
}

TEST(MilterMessageBody, ReplacementInPieces) {
  Spooled message("Subject: hi\r\n\r\nold body\r\n", kOwnHeader);
  ASSERT_TRUE(message->begin_body_replacement().ok());
  ASSERT_TRUE(message->append_body_replacement("new ", 0).ok());
  ASSERT_TRUE(message->append_body_replacement("body\r\n", 0).ok());
  EXPECT_TRUE(message->edited());
  EXPECT_EQ(message.body(), "new body\r\n");
  EXPECT_EQ(message.written(), std::string(kOwnHeader) + "Subject: hi\r\n\r\nnew body\r\n");
  // A second milter's replacement starts over.
  ASSERT_TRUE(message->begin_body_replacement().ok());
  ASSERT_TRUE(message->append_body_replacement("third\r\n", 0).ok());
  EXPECT_EQ(message.body(), "third\r\n");
}

TEST(MilterMessageBody, AppendWithoutBeginStartsAReplacement) {
  Spooled message("Subject: hi\r\n\r\nold\r\n", "");
  ASSERT_TRUE(message->append_body_replacement("new\r\n", 0).ok());
  EXPECT_EQ(message.written(), "Subject: hi\r\n\r\nnew\r\n");
}

TEST(MilterMessageBody, ReplacementGetsTheEmptyLine) {
  // The original had none (the header section ended at a line that is no field).
  Spooled message("Subject: hi\r\nno field\r\n", "");
  ASSERT_TRUE(message->begin_body_replacement().ok());
  ASSERT_TRUE(message->append_body_replacement("replaced\r\n", 0).ok());
  EXPECT_EQ(message.written(), "Subject: hi\r\n\r\nreplaced\r\n");
  // An empty replacement: an empty body.
  ASSERT_TRUE(message->begin_body_replacement().ok());
  EXPECT_EQ(message.written(), "Subject: hi\r\n\r\n");
}

TEST(MilterMessageBody, SizeLimitAtNAndNPlusOne) {
  Spooled message("Subject: hi\r\n\r\nold\r\n", "");
  ASSERT_TRUE(message->begin_body_replacement().ok());
  ASSERT_TRUE(message->append_body_replacement(std::string(60, 'a'), 100).ok());
  ASSERT_TRUE(message->append_body_replacement(std::string(40, 'b'), 100).ok());  // = 100
  Status over = message->append_body_replacement("c", 100);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
  EXPECT_EQ(message->body_size(), 100u);
  // A large replacement (more than the spool's write buffer) reads back whole.
  ASSERT_TRUE(message->begin_body_replacement().ok());
  std::string big;
  for (int i = 0; i < 20000; ++i) big += "line " + std::to_string(i) + "\r\n";
  for (size_t pos = 0; pos < big.size(); pos += 4096) {
    ASSERT_TRUE(message->append_body_replacement(std::string_view(big).substr(pos, 4096), 0).ok());
  }
  EXPECT_EQ(message.written(), "Subject: hi\r\n\r\n" + big);
}

TEST(MilterMessageWrite, UneditedRoundTripIsByteExact) {
  std::string big_body;
  for (int i = 0; i < 30000; ++i) big_body += "body line " + std::to_string(i) + "\r\n";
  const std::string texts[] = {
      "Subject: hi\r\n\r\nbody\r\n",
      "Subject: hi\r\n\r\nbody without end",
      "From: a@b\r\nTo: c@d\r\nSubject: folded\r\n  over\r\n\tlines\r\n\r\n\r\n\r\nblank lines\r\n",
      "Subject: x\r\n\r\n" + big_body,
      "no header at all\r\nSubject: hi\r\n",
      "X: 8bit \xe9\xff value\r\nX-Ws:   \t\r\n\r\n\x00\x01 binary\r\n"s,
      "\r\nbody only\r\n",
      " starts with white space\r\nSubject: x\r\n\r\n",
  };
  for (const std::string& text : texts) {
    Spooled plain(text, "");
    EXPECT_EQ(plain.written(), text) << text.substr(0, 60);
    Spooled with_own(text, kOwnHeader);
    EXPECT_EQ(with_own.written(), std::string(kOwnHeader) + text) << text.substr(0, 60);
  }
}

TEST(MilterMessageWrite, SinkErrorStopsTheWrite) {
  Spooled message("A: 1\r\nB: 2\r\n\r\nbody\r\n", "");
  int calls = 0;
  Status st = message->write([&](std::string_view) {
    ++calls;
    return Status(Error::system("disk full", 28));
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(calls, 1);
}

// smtp_reply_from_milter: code and text as decode_reply splits "550 5.7.1 text".
TEST(SmtpReplyFromMilter, SingleLine) {
  EXPECT_EQ(smtp_reply_from_milter("550", "5.7.1 Rejected by policy"),
            "550 5.7.1 Rejected by policy");
  EXPECT_EQ(smtp_reply_from_milter("451", ""), "451 ");
}

TEST(SmtpReplyFromMilter, MultiLineWithCodesPerLine) {
  EXPECT_EQ(smtp_reply_from_milter("550", "5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 last"),
            "550-5.7.1 first\r\n550-5.7.1 second\r\n550 5.7.1 last");
  // Later lines carry their own code; ours is the one that counts.
  EXPECT_EQ(smtp_reply_from_milter("451", "4.7.1 one\r\n551 4.7.1 two"),
            "451-4.7.1 one\r\n451 4.7.1 two");
}

TEST(SmtpReplyFromMilter, AtMostMaxReplyLines) {
  std::string text = "5.7.1 line 0";
  for (size_t i = 1; i < kMaxReplyLines + 5; ++i) text += "\r\n550-5.7.1 line " + std::to_string(i);
  const std::string reply = smtp_reply_from_milter("550", text);
  std::vector<std::string> lines;
  for (size_t start = 0;;) {
    size_t crlf = reply.find("\r\n", start);
    const size_t length = crlf == std::string::npos ? std::string::npos : crlf - start;
    lines.push_back(reply.substr(start, length));
    if (crlf == std::string::npos) break;
    start = crlf + 2;
  }
  ASSERT_EQ(lines.size(), kMaxReplyLines);
  EXPECT_EQ(lines.front(), "550-5.7.1 line 0");
  EXPECT_EQ(lines.back(), "550 5.7.1 line " + std::to_string(kMaxReplyLines - 1));
  for (size_t i = 0; i + 1 < lines.size(); ++i) EXPECT_EQ(lines[i].substr(0, 4), "550-");
}

TEST(SmtpReplyFromMilter, BareCrAndLfInsideALineBecomeSpaces) {
  EXPECT_EQ(smtp_reply_from_milter("550", "5.7.1 a\nb\rc"), "550 5.7.1 a b c");
  EXPECT_EQ(smtp_reply_from_milter("550", "5.7.1 a\n550 b\r\n550 c"), "550-5.7.1 a 550 b\r\n550 c");
  // Nothing in the reply can start a line of its own.
  const std::string reply = smtp_reply_from_milter("550", "x\n250 ok\r\r\n250 fine\n\r");
  for (size_t i = 0; i < reply.size(); ++i) {
    if (reply[i] == '\r') {
      ASSERT_LT(i + 1, reply.size());
      EXPECT_EQ(reply[i + 1], '\n');
      EXPECT_EQ(reply.substr(i + 2, 3), "550");
    } else if (reply[i] == '\n') {
      EXPECT_EQ(reply[i - 1], '\r');
    }
  }
}

TEST(SmtpReplyFromMilter, LongLinesAreCut) {
  const std::string reply = smtp_reply_from_milter("550", std::string(2000, 'x'));
  EXPECT_EQ(reply, "550 " + std::string(512, 'x'));
}

}  // namespace
}  // namespace postern::milter
