// Unit tests for lib/queue/dsn.cpp: the RFC 3464 report qmgr sends as a bounce. Checks the MIME shape,
// each per-recipient field, ORCPT decoding, the header-section cut (at N and N+1 bytes), and
// that hostile input (CR/LF in a diagnostic, a boundary inside the original headers) cannot
// change the structure.
#include "lib/queue/dsn.hpp"

#include <gtest/gtest.h>

#include <string>

namespace postern {
namespace {

DsnReport sample_report() {
  DsnReport report;
  report.reporting_mta = "mx.example.test";
  report.original_queue_id = "0ABCDEFGHIJ12345";
  report.bounce_queue_id = "0ABCDEFGHIJ99999";
  report.original_sender = "alice@remote.test";
  report.notify_to = "alice@remote.test";
  report.arrival_time = 1700000000;  // Tue, 14 Nov 2023 22:13:20 +0000
  report.now = 1700000100;
  DsnRecipient rcpt;
  rcpt.final_recipient = "nobody@example.test";
  rcpt.orcpt = "rfc822;NoBody+2Btag@example.test";
  rcpt.status = "5.1.1";
  rcpt.diagnostic = "User unknown";
  report.recipients.push_back(rcpt);
  return report;
}

const std::string kHeaders =
    "Received: from client (client [127.0.0.1])\r\n\tby mx.example.test\r\n"
    "From: alice@remote.test\r\nSubject: hello\r\n\r\nbody line\r\n";

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1)) {
    ++n;
  }
  return n;
}

TEST(DsnTest, HasTheMultipartReportShape) {
  DsnReport report = sample_report();
  report.original_headers = kHeaders;
  std::string dsn = build_dsn(report);
  EXPECT_NE(dsn.find("From: MAILER-DAEMON@mx.example.test"), std::string::npos);
  EXPECT_NE(dsn.find("To: <alice@remote.test>\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Content-Type: multipart/report; report-type=delivery-status;"),
            std::string::npos);
  const std::string boundary = "0ABCDEFGHIJ99999.1700000100/mx.example.test";
  EXPECT_NE(dsn.find("boundary=\"" + boundary + "\""), std::string::npos);
  EXPECT_EQ(count(dsn, "\r\n--" + boundary + "\r\n"), 3u);
  EXPECT_EQ(dsn.substr(dsn.size() - boundary.size() - 6), "--" + boundary + "--\r\n");
  EXPECT_NE(dsn.find("Content-Type: message/delivery-status\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Content-Type: text/rfc822-headers\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Reporting-MTA: dns; mx.example.test\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Arrival-Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Final-Recipient: rfc822; nobody@example.test\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Original-Recipient: rfc822; NoBody+tag@example.test\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Action: failed\r\nStatus: 5.1.1\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Diagnostic-Code: X-Postern; User unknown\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Subject: hello\r\n"), std::string::npos);
  EXPECT_EQ(dsn.find("body line"), std::string::npos) << "the body is not returned";
  // Wire form: every LF is part of a CRLF.
  for (size_t i = 0; i < dsn.size(); ++i) {
    if (dsn[i] == '\n') {
      ASSERT_TRUE(i > 0 && dsn[i - 1] == '\r') << "bare LF at " << i;
    }
  }
}

TEST(DsnTest, OneGroupPerRecipientAndNoOriginalWithoutOrcpt) {
  DsnReport report = sample_report();
  DsnRecipient second;
  second.final_recipient = "other@example.test";
  second.status = "4.4.7";
  second.diagnostic = "message expired";
  report.recipients.push_back(second);
  std::string dsn = build_dsn(report);
  EXPECT_EQ(count(dsn, "Final-Recipient: "), 2u);
  EXPECT_EQ(count(dsn, "Original-Recipient: "), 1u);
  EXPECT_NE(dsn.find("<other@example.test>: message expired\r\n"), std::string::npos);
}

TEST(DsnTest, HostileTextCannotAddHeaderLines) {
  DsnReport report = sample_report();
  report.recipients[0].diagnostic = "bad\r\nX-Injected: yes";
  report.recipients[0].final_recipient = "x\ny@example.test";
  report.notify_to = "a@b\r\nBcc: victim@example.net";
  std::string dsn = build_dsn(report);
  EXPECT_EQ(dsn.find("\r\nX-Injected:"), std::string::npos);
  EXPECT_EQ(dsn.find("\r\nBcc:"), std::string::npos);
  EXPECT_NE(dsn.find("Diagnostic-Code: X-Postern; bad  X-Injected: yes\r\n"), std::string::npos);
}

TEST(DsnTest, LongFieldIsCutAtTheLimit) {
  DsnReport report = sample_report();
  report.recipients[0].diagnostic = std::string(kMaxDsnFieldBytes, 'a');
  std::string at_limit = build_dsn(report);
  EXPECT_NE(at_limit.find(std::string(kMaxDsnFieldBytes, 'a') + "\r\n"), std::string::npos);
  report.recipients[0].diagnostic = std::string(kMaxDsnFieldBytes + 1, 'a');
  std::string over = build_dsn(report);
  EXPECT_EQ(over.find(std::string(kMaxDsnFieldBytes + 1, 'a')), std::string::npos);
  EXPECT_NE(over.find(std::string(kMaxDsnFieldBytes, 'a') + "...\r\n"), std::string::npos);
}

TEST(DsnTest, BoundaryFoundInTheHeadersIsChanged) {
  DsnReport report = sample_report();
  std::string headers =
      "X-Trap: --0ABCDEFGHIJ99999.1700000100/mx.example.test\r\nSubject: t\r\n\r\n";
  report.original_headers = headers;
  std::string dsn = build_dsn(report);
  size_t pos = dsn.find("boundary=\"");
  ASSERT_NE(pos, std::string::npos);
  size_t end = dsn.find('"', pos + 10);
  std::string boundary = dsn.substr(pos + 10, end - pos - 10);
  EXPECT_EQ(headers.find(boundary), std::string::npos);
  EXPECT_EQ(count(dsn, "\r\n--" + boundary + "\r\n"), 3u);
}

TEST(DsnTest, NullSenderAndPostmasterCopy) {
  DsnReport report = sample_report();
  report.original_sender = "";
  report.postmaster_copy = true;
  report.notify_to = "postmaster@example.test";
  std::string dsn = build_dsn(report);
  EXPECT_NE(dsn.find("X-Postern-Sender: rfc822; \r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Subject: Postmaster Copy: Undelivered Mail\r\n"), std::string::npos);
}

TEST(DsnTest, RemoteReplyGivesRemoteMtaAndSmtpDiagnostic) {
  DsnReport report = sample_report();
  report.recipients[0].remote_mta = "mx.remote.test";
  report.recipients[0].smtp_diagnostic = "550 5.1.1 <nobody@example.test>: Recipient unknown";
  report.recipients[0].diagnostic = "refused by the remote server";
  std::string dsn = build_dsn(report);
  // RFC 3464 order: Action, Status, Remote-MTA, Diagnostic-Code.
  size_t status = dsn.find("Status: 5.1.1\r\n");
  size_t remote = dsn.find("Remote-MTA: dns; mx.remote.test\r\n");
  size_t diag =
      dsn.find("Diagnostic-Code: smtp; 550 5.1.1 <nobody@example.test>: Recipient unknown\r\n");
  ASSERT_NE(status, std::string::npos);
  ASSERT_NE(remote, std::string::npos) << dsn;
  ASSERT_NE(diag, std::string::npos) << dsn;
  EXPECT_LT(status, remote);
  EXPECT_LT(remote, diag);
  EXPECT_EQ(dsn.find("X-Postern;"), std::string::npos);
  // The part for people quotes the reply.
  EXPECT_NE(dsn.find("<nobody@example.test>: host mx.remote.test said: 550 5.1.1 "
                     "<nobody@example.test>: Recipient unknown\r\n"),
            std::string::npos)
      << dsn;
  EXPECT_NE(dsn.find("    (refused by the remote server)\r\n"), std::string::npos);
}

TEST(DsnTest, NoRemoteReplyKeepsTheLocalDiagnostic) {
  std::string dsn = build_dsn(sample_report());
  EXPECT_EQ(dsn.find("Remote-MTA:"), std::string::npos);
  EXPECT_NE(dsn.find("Diagnostic-Code: X-Postern; User unknown\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("<nobody@example.test>: User unknown\r\n"), std::string::npos);
}

TEST(DsnTest, HostileRemoteReplyCannotAddHeaderLines) {
  DsnReport report = sample_report();
  report.recipients[0].remote_mta = "mx\r\nX-Evil: 1";
  report.recipients[0].smtp_diagnostic = "550 no\r\nX-Evil: 2";
  std::string dsn = build_dsn(report);
  EXPECT_EQ(dsn.find("\r\nX-Evil"), std::string::npos);
  EXPECT_NE(dsn.find("Remote-MTA: dns; mx  X-Evil: 1\r\n"), std::string::npos);
}

TEST(DsnTest, DelayedReport) {
  DsnReport report = sample_report();
  report.recipients[0].action = "delayed";
  report.recipients[0].status = "4.4.1";
  report.recipients[0].diagnostic = "connection refused";
  std::string dsn = build_dsn(report);
  EXPECT_NE(dsn.find("Subject: Delayed Mail (still being retried)\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("Action: delayed\r\nStatus: 4.4.1\r\n"), std::string::npos);
  EXPECT_NE(dsn.find("will keep trying"), std::string::npos);
}

TEST(HeaderSectionTest, StopsAtTheBlankLine) {
  EXPECT_EQ(header_section("A: 1\r\nB: 2\r\n\r\nbody\r\n", 1000), "A: 1\r\nB: 2\r\n");
  EXPECT_EQ(header_section("A: 1\nB: 2\n\nbody\n", 1000), "A: 1\nB: 2\n");
  EXPECT_EQ(header_section("A: 1\r\nB: unterminated", 1000), "A: 1\r\n");
  EXPECT_EQ(header_section("", 1000), "");
}

TEST(HeaderSectionTest, CutsAtALineBoundaryAtTheLimit) {
  const std::string text = "A: 1\r\nB: 2\r\n\r\n";          // lines of 6 bytes
  EXPECT_EQ(header_section(text, 12), "A: 1\r\nB: 2\r\n");  // N: both lines
  EXPECT_EQ(header_section(text, 11), "A: 1\r\n");          // N-1: the second is left out
  EXPECT_EQ(header_section(text, 5), "");
}

TEST(XtextTest, DecodesHexEscapes) {
  EXPECT_EQ(xtext_decode("a+2Bb+3Dc"), "a+b=c");
  EXPECT_EQ(xtext_decode("end+2"), "end+2");
  EXPECT_EQ(xtext_decode("bad+zz"), "bad+zz");
  EXPECT_EQ(xtext_decode("lower+2b"), "lower+2b");  // xtext hex is upper case
}

TEST(Rfc5322DateTest, FormatsUtc) {
  EXPECT_EQ(rfc5322_date(0), "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(rfc5322_date(951782400), "Tue, 29 Feb 2000 00:00:00 +0000");
}

}  // namespace
}  // namespace postern
