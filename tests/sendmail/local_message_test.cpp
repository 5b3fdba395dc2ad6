// Tests for sendmail/local_message.cpp: WireMessageBuilder (LF text to CRLF wire form, the "."
// rule with and without -i, ".." kept, CR before LF dropped, a last line without LF, max_bytes
// at N and N+1; fed whole and one byte at a time), and prepare_local_message (the header
// section split, the mbox "From " line, Bcc removal with and without -t, the Resent- rule, bare
// names and group syntax, a bad address list naming its field, From:/Date:/Message-ID: added
// with full-name quoting, header_size_limit and kMaxLocalHeaderFields at N and N+1).
#include "sendmail/local_message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/mime/message_headers.hpp"

namespace postern::sendmail {
namespace {

constexpr int64_t kNow = 1700000000;

struct Built {
  std::string wire;
  bool ended = false;
  bool over_limit = false;
};

Built build_whole(std::string_view text, bool ignore_dots, uint64_t max_bytes = 1 << 20) {
  WireMessageBuilder builder(ignore_dots, max_bytes);
  Built out;
  out.ended = builder.feed(text);
  builder.finish();
  out.over_limit = builder.over_limit();
  out.wire = builder.take();
  return out;
}

Built build_bytewise(std::string_view text, bool ignore_dots, uint64_t max_bytes = 1 << 20) {
  WireMessageBuilder builder(ignore_dots, max_bytes);
  Built out;
  for (char c : text) out.ended = builder.feed(std::string_view(&c, 1)) || out.ended;
  builder.finish();
  out.over_limit = builder.over_limit();
  out.wire = builder.take();
  return out;
}

// Both ways must give the same result; returns it.
Built build(std::string_view text, bool ignore_dots, uint64_t max_bytes = 1 << 20) {
  Built whole = build_whole(text, ignore_dots, max_bytes);
  Built bytewise = build_bytewise(text, ignore_dots, max_bytes);
  EXPECT_EQ(whole.wire, bytewise.wire);
  EXPECT_EQ(whole.ended, bytewise.ended);
  EXPECT_EQ(whole.over_limit, bytewise.over_limit);
  return whole;
}

TEST(WireMessageBuilderTest, LinesGetCrlf) {
  Built built = build("Subject: x\n\nbody\n", false);
  EXPECT_EQ(built.wire, "Subject: x\r\n\r\nbody\r\n");
  EXPECT_FALSE(built.ended);
  EXPECT_FALSE(built.over_limit);
}

TEST(WireMessageBuilderTest, LoneDotEndsTheMessageWithoutDashI) {
  Built built = build("a\n.\nafter\n", false);
  EXPECT_EQ(built.wire, "a\r\n");
  EXPECT_TRUE(built.ended);
  EXPECT_EQ(build("a\r\n.\r\nafter\r\n", false).wire, "a\r\n");
  EXPECT_EQ(build("a\n.", false).wire, "a\r\n");  // the last line, without LF
}

TEST(WireMessageBuilderTest, LoneDotIsTextWithDashI) {
  Built built = build("a\n.\nafter\n", true);
  EXPECT_EQ(built.wire, "a\r\n.\r\nafter\r\n");
  EXPECT_FALSE(built.ended);
}

TEST(WireMessageBuilderTest, DotsAreNotStuffedOrUnstuffed) {
  EXPECT_EQ(build("..\n.x\n .\n", false).wire, "..\r\n.x\r\n .\r\n");
  EXPECT_EQ(build("..\n", true).wire, "..\r\n");
}

TEST(WireMessageBuilderTest, OnlyTheCrBeforeLfIsDropped) {
  EXPECT_EQ(build("a\r\nb\r\r\nc\rd\n", false).wire, "a\r\nb\r\r\nc\rd\r\n");
  EXPECT_EQ(build("\r\n", false).wire, "\r\n");
}

TEST(WireMessageBuilderTest, LastLineWithoutLf) {
  EXPECT_EQ(build("a\nlast", false).wire, "a\r\nlast\r\n");
  EXPECT_EQ(build("", false).wire, "");
  EXPECT_EQ(build("a\n", false).wire, "a\r\n");  // no extra empty line
}

TEST(WireMessageBuilderTest, FeedAfterTheEndIsIgnored) {
  WireMessageBuilder builder(false, 1000);
  EXPECT_FALSE(builder.feed("one\n"));
  EXPECT_TRUE(builder.feed(".\ntwo\n"));
  EXPECT_TRUE(builder.feed("three\n"));
  builder.finish();
  EXPECT_EQ(builder.wire(), "one\r\n");
}

TEST(WireMessageBuilderTest, MaxBytesAtNAndNPlusOne) {
  // "abc\r\ndef\r\n" is 10 bytes of output.
  Built at_limit = build("abc\ndef\n", false, 10);
  EXPECT_FALSE(at_limit.over_limit);
  EXPECT_EQ(at_limit.wire, "abc\r\ndef\r\n");
  Built over = build("abc\ndef\n", false, 9);
  EXPECT_TRUE(over.over_limit);
  EXPECT_LE(over.wire.size(), 9u);
  // A last line without LF counts with the CRLF it gets.
  EXPECT_FALSE(build("abc\ndef", false, 10).over_limit);
  EXPECT_TRUE(build("abc\ndef", false, 9).over_limit);
}

TEST(WireMessageBuilderTest, OneEndlessLineIsBoundedToo) {
  WireMessageBuilder builder(true, 100);
  std::string chunk(64, 'x');
  for (int i = 0; i < 1000; ++i) builder.feed(chunk);
  EXPECT_TRUE(builder.over_limit());
  builder.finish();
  EXPECT_TRUE(builder.over_limit());
  EXPECT_LE(builder.wire().size(), 100u);
}

LocalHeaderFixups fixups(bool extract = false) {
  LocalHeaderFixups f;
  f.extract_recipients = extract;
  f.from_address = "alice@example.org";
  f.hostname = "host.example.org";
  f.queue_id = "0123456789ABCDEF";
  f.now = kNow;
  return f;
}

std::string added_fields(const LocalHeaderFixups& f, std::string_view from_line) {
  return std::string(from_line) + "Date: " + make_date_value(f.now) + "\r\n" +
         "Message-ID: " + make_message_id(f.queue_id, f.hostname, f.now) + "\r\n";
}

PreparedMessage prepare_ok(std::string_view wire, const LocalHeaderFixups& f) {
  Result<PreparedMessage> prepared = prepare_local_message(wire, f);
  EXPECT_TRUE(prepared.ok()) << (prepared.ok() ? "" : prepared.error().message);
  return prepared.ok() ? *prepared : PreparedMessage{};
}

TEST(PrepareLocalMessageTest, BodyOnlyMessageGetsAHeaderSection) {
  LocalHeaderFixups f = fixups();
  PreparedMessage out = prepare_ok("hello world\r\nsecond line\r\n", f);
  EXPECT_EQ(out.wire,
            added_fields(f, "From: alice@example.org\r\n") + "\r\nhello world\r\nsecond line\r\n");
  EXPECT_TRUE(out.header_recipients.empty());
  EXPECT_EQ(prepare_ok("", f).wire, added_fields(f, "From: alice@example.org\r\n") + "\r\n");
}

TEST(PrepareLocalMessageTest, ExistingFieldsAreKeptAndNotAddedAgain) {
  LocalHeaderFixups f = fixups();
  const std::string message =
      "from: Bob <bob@example.org>\r\nDATE: Mon, 7 Dec 2026 10:00:00 +0000\r\n"
      "Message-Id: <x@y>\r\nSubject: s\r\n\r\nbody\r\n";
  EXPECT_EQ(prepare_ok(message, f).wire, message);
}

TEST(PrepareLocalMessageTest, MissingFieldsGoAtTheEndOfTheHeaderSection) {
  LocalHeaderFixups f = fixups();
  EXPECT_EQ(prepare_ok("Subject: s\r\n\r\nbody\r\n", f).wire,
            "Subject: s\r\n" + added_fields(f, "From: alice@example.org\r\n") + "\r\nbody\r\n");
}

TEST(PrepareLocalMessageTest, MboxFromLineIsDropped) {
  LocalHeaderFixups f = fixups();
  PreparedMessage out =
      prepare_ok("From alice Mon Dec  7 10:00:00 2026\r\nSubject: s\r\n\r\nFrom me\r\n", f);
  EXPECT_EQ(out.wire,
            "Subject: s\r\n" + added_fields(f, "From: alice@example.org\r\n") + "\r\nFrom me\r\n");
}

TEST(PrepareLocalMessageTest, FullNameIsQuotedWhenItMustBe) {
  LocalHeaderFixups f = fixups();
  f.full_name = "Alice Example";
  EXPECT_EQ(prepare_ok("", f).wire,
            added_fields(f, "From: Alice Example <alice@example.org>\r\n") + "\r\n");
  f.full_name = "Doe, John";
  EXPECT_EQ(prepare_ok("", f).wire,
            added_fields(f, "From: \"Doe, John\" <alice@example.org>\r\n") + "\r\n");
  f.full_name = "Say \"hi\" \\o/";
  EXPECT_EQ(prepare_ok("", f).wire,
            added_fields(f, "From: \"Say \\\"hi\\\" \\\\o/\" <alice@example.org>\r\n") + "\r\n");
  f.full_name = "Evil\r\nBcc: x";  // no header injection through -F
  std::string wire = prepare_ok("", f).wire;
  EXPECT_EQ(wire.find("\r\nBcc"), std::string::npos);
  EXPECT_EQ(wire.rfind("From: \"EvilBcc: x\" <alice@example.org>\r\n", 0), 0u);
}

TEST(PrepareLocalMessageTest, BccIsRemovedWithoutDashT) {
  LocalHeaderFixups f = fixups();
  PreparedMessage out = prepare_ok(
      "To: bob\r\nBcc: secret@example.org,\r\n other@example.org\r\nbcc : x\r\nSubject: s\r\n"
      "Resent-Bcc: r\r\n\r\nBcc: in the body\r\n",
      f);
  EXPECT_EQ(out.wire, "To: bob\r\nSubject: s\r\n" + added_fields(f, "From: alice@example.org\r\n") +
                          "\r\nBcc: in the body\r\n");
  EXPECT_TRUE(out.header_recipients.empty());
}

TEST(PrepareLocalMessageTest, DashTReadsToCcBccAndRemovesBcc) {
  LocalHeaderFixups f = fixups(true);
  PreparedMessage out = prepare_ok(
      "To: root, \"Doe, John\" <john@example.org>\r\nCc: carol@example.net\r\n"
      "Bcc: secret@example.org,\r\n\tdave\r\nSubject: s\r\n\r\nTo: not@header.example\r\n",
      f);
  EXPECT_EQ(out.header_recipients,
            (std::vector<std::string>{"root", "john@example.org", "carol@example.net",
                                      "secret@example.org", "dave"}));
  EXPECT_EQ(out.wire.find("Bcc"), std::string::npos);
  EXPECT_NE(out.wire.find("To: root, \"Doe, John\" <john@example.org>\r\n"), std::string::npos);
}

TEST(PrepareLocalMessageTest, ResentFieldsReplaceTheOthers) {
  LocalHeaderFixups f = fixups(true);
  PreparedMessage out = prepare_ok(
      "To: alice\r\nCc: bob\r\nBcc: eve\r\nResent-From: x@example.org\r\n"
      "Resent-To: carol\r\nresent-cc: dan\r\nResent-Bcc: frank\r\n\r\nb\r\n",
      f);
  EXPECT_EQ(out.header_recipients, (std::vector<std::string>{"carol", "dan", "frank"}));
  EXPECT_EQ(out.wire.find("Bcc"), std::string::npos);
  EXPECT_NE(out.wire.find("Resent-To: carol\r\n"), std::string::npos);
}

TEST(PrepareLocalMessageTest, GroupSyntaxAndEmptyFieldsGiveNoRecipients) {
  LocalHeaderFixups f = fixups(true);
  PreparedMessage out =
      prepare_ok("To: undisclosed-recipients:;\r\nBcc:\r\nCc:  \r\n\r\nbody\r\n", f);
  EXPECT_TRUE(out.header_recipients.empty());
  EXPECT_NE(out.wire.find("To: undisclosed-recipients:;\r\n"), std::string::npos);
}

TEST(PrepareLocalMessageTest, BadAddressListNamesTheField) {
  LocalHeaderFixups f = fixups(true);
  Result<PreparedMessage> bad = prepare_local_message("Subject: s\r\nCc: <<a@@b\r\n\r\n", f);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().kind, ErrorKind::kParse);
  EXPECT_EQ(bad.error().message.rfind("Cc: ", 0), 0u) << bad.error().message;
  // Without -t the field is not read, so it is no error.
  EXPECT_TRUE(prepare_local_message("Cc: <<a@@b\r\n\r\n", fixups(false)).ok());
}

TEST(PrepareLocalMessageTest, FirstLineThatIsNoFieldStartsTheBody) {
  LocalHeaderFixups f = fixups(true);
  PreparedMessage out = prepare_ok("not a header\r\nTo: bob\r\n\r\nx\r\n", f);
  EXPECT_TRUE(out.header_recipients.empty());
  EXPECT_EQ(out.wire, added_fields(f, "From: alice@example.org\r\n") +
                          "\r\nnot a header\r\nTo: bob\r\n\r\nx\r\n");
  // A field section ended by a line that is no field: that line starts the body.
  PreparedMessage mid = prepare_ok("To: bob\r\nthis is text\r\n", f);
  EXPECT_EQ(mid.header_recipients, std::vector<std::string>{"bob"});
  EXPECT_EQ(mid.wire, "To: bob\r\n" + added_fields(f, "From: alice@example.org\r\n") +
                          "\r\nthis is text\r\n");
  // A continuation line with no field before it is body too.
  EXPECT_EQ(prepare_ok(" leading\r\n", f).wire,
            added_fields(f, "From: alice@example.org\r\n") + "\r\n leading\r\n");
}

TEST(PrepareLocalMessageTest, HeaderSizeLimitAtNAndNPlusOne) {
  const std::string header = "Subject: x\r\nTo: bob\r\n";  // 21 bytes
  LocalHeaderFixups f = fixups();
  f.header_size_limit = header.size();
  EXPECT_TRUE(prepare_local_message(header + "\r\nbody\r\n", f).ok());
  f.header_size_limit = header.size() - 1;
  Result<PreparedMessage> over = prepare_local_message(header + "\r\nbody\r\n", f);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(PrepareLocalMessageTest, HeaderFieldCountAtNAndNPlusOne) {
  LocalHeaderFixups f = fixups();
  f.header_size_limit = 1 << 20;
  std::string fields;
  for (size_t i = 0; i < kMaxLocalHeaderFields; ++i) fields += "X-N: " + std::to_string(i) + "\r\n";
  Result<PreparedMessage> at_limit = prepare_local_message(fields + "\r\nb\r\n", f);
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->wire.rfind(fields, 0), 0u);
  // Continuation lines do not count as fields.
  EXPECT_TRUE(prepare_local_message(fields + " more\r\n\r\nb\r\n", f).ok());
  Result<PreparedMessage> over = prepare_local_message(fields + "X-N: last\r\n\r\nb\r\n", f);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().kind, ErrorKind::kLimit);
}

TEST(PrepareLocalMessageTest, BuilderOutputFedToPrepare) {
  // What sendmail -t -i does with a script's text.
  Built built = build("To: root\nSubject: cron\n\n.\n..\n", true);
  LocalHeaderFixups f = fixups(true);
  PreparedMessage out = prepare_ok(built.wire, f);
  EXPECT_EQ(out.header_recipients, std::vector<std::string>{"root"});
  EXPECT_EQ(out.wire, "To: root\r\nSubject: cron\r\n" +
                          added_fields(f, "From: alice@example.org\r\n") + "\r\n.\r\n..\r\n");
}

}  // namespace
}  // namespace postern::sendmail
