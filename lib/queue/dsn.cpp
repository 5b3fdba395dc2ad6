// RFC 3464 delivery status notifications (bounces), built by qmgr as a pure function of the
// envelope, the per-recipient results and the original header section. Everything that came
// from a peer (addresses, diagnostics, header bytes) is treated as hostile: fields are made
// printable ASCII and cut to kMaxDsnFieldBytes, the header section to kMaxDsnHeaderBytes at a
// line boundary, and the MIME boundary is checked not to occur in the quoted headers.
#include "lib/queue/dsn.hpp"

#include <fmt/format.h>
#include <time.h>

namespace postern {
namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr int kMaxBoundaryTries = 8;

// Printable ASCII only: a CR, LF or control byte can never start a new header line.
std::string clean_field(std::string_view text) {
  std::string out;
  size_t limit = std::min(text.size(), kMaxDsnFieldBytes);
  out.reserve(limit);
  for (size_t i = 0; i < limit; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\t' || c == '\r' || c == '\n') {
      out += ' ';
    } else if (c < 0x20 || c >= 0x7f) {
      out += '?';
    } else {
      out += static_cast<char>(c);
    }
  }
  if (text.size() > kMaxDsnFieldBytes) out += "...";
  return out;
}

std::string angle(std::string_view address) {
  return "<" + clean_field(address) + ">";
}

// Original-Recipient: "addr-type;xtext" from ORCPT, decoded; "" when there is none.
std::string original_recipient_field(std::string_view orcpt) {
  size_t semi = orcpt.find(';');
  if (orcpt.empty() || semi == std::string_view::npos || semi == 0) return {};
  std::string type = clean_field(orcpt.substr(0, semi));
  std::string value = clean_field(xtext_decode(orcpt.substr(semi + 1)));
  return type + "; " + value;
}

void append_line(std::string& out, std::string_view line) {
  out.append(line);
  out.append(kCrlf);
}

// Appends text, turning every bare LF or CR into CRLF (the quoted headers must be wire form).
void append_wire(std::string& out, std::string_view text) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\r') {
      out.append(kCrlf);
      if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
    } else if (c == '\n') {
      out.append(kCrlf);
    } else {
      out += c;
    }
  }
}

}  // namespace

std::string_view header_section(std::string_view message, size_t max_bytes) {
  size_t end = 0;  // end of the last complete header line seen
  size_t pos = 0;
  while (pos < message.size()) {
    size_t lf = message.find('\n', pos);
    if (lf == std::string_view::npos) break;  // an unterminated last line is left out
    std::string_view line = message.substr(pos, lf - pos);
    if (line.empty() || line == "\r") break;  // the blank line that ends the header
    if (lf + 1 > max_bytes) break;
    end = lf + 1;
    pos = lf + 1;
  }
  return message.substr(0, end);
}

std::string rfc5322_date(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  ::gmtime_r(&t, &tm);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02d} {} {:04d} {:02d}:{:02d}:{:02d} +0000", kDays[tm.tm_wday % 7],
                     tm.tm_mday, kMonths[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
}

std::string xtext_decode(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+' && i + 2 < text.size() && hex(text[i + 1]) >= 0 && hex(text[i + 2]) >= 0) {
      out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string build_dsn(const DsnReport& report) {
  const std::string mta = clean_field(report.reporting_mta);
  const std::string_view headers = header_section(report.original_headers, kMaxDsnHeaderBytes);

  std::string boundary =
      fmt::format("{}.{}/{}", clean_field(report.bounce_queue_id), report.now, mta);
  for (int i = 0; i < kMaxBoundaryTries && headers.find(boundary) != std::string_view::npos; ++i) {
    boundary += ".=";
  }

  bool any_failed = false;
  bool any_delayed = false;
  for (const DsnRecipient& rcpt : report.recipients) {
    if (rcpt.action == "failed") any_failed = true;
    if (rcpt.action == "delayed") any_delayed = true;
  }
  const char* subject = any_failed    ? "Undelivered Mail Returned to Sender"
                        : any_delayed ? "Delayed Mail (still being retried)"
                                      : "Successful Mail Delivery Report";
  if (report.postmaster_copy) subject = "Postmaster Copy: Undelivered Mail";

  std::string out;
  out.reserve(2048 + headers.size() + report.recipients.size() * 256);
  append_line(out, fmt::format("From: MAILER-DAEMON@{} (Mail Delivery System)", mta));
  append_line(out, "To: " + angle(report.notify_to));
  append_line(out, fmt::format("Subject: {}", subject));
  append_line(out, "Date: " + rfc5322_date(report.now));
  append_line(out, fmt::format("Message-ID: <{}.{}@{}>", clean_field(report.bounce_queue_id),
                               report.now, mta));
  append_line(out, "Auto-Submitted: auto-replied");
  append_line(out, "MIME-Version: 1.0");
  append_line(out, "Content-Type: multipart/report; report-type=delivery-status;");
  append_line(out, fmt::format("\tboundary=\"{}\"", boundary));
  append_line(out, "Content-Transfer-Encoding: 7bit");
  append_line(out, "");
  append_line(out, "This is a MIME-encapsulated message.");
  append_line(out, "");

  // 1. The part for people.
  append_line(out, "--" + boundary);
  append_line(out, "Content-Description: Notification");
  append_line(out, "Content-Type: text/plain; charset=us-ascii");
  append_line(out, "");
  append_line(out, fmt::format("This is the mail system at host {}.", mta));
  append_line(out, "");
  if (any_failed) {
    append_line(out, "I'm sorry to have to inform you that your message could not");
    append_line(out, "be delivered to one or more recipients. It's attached below.");
  } else if (any_delayed) {
    append_line(out, "Your message could not be delivered yet to one or more recipients.");
    append_line(out, "The mail system will keep trying; you do not need to send it again.");
  } else {
    append_line(out, "Your message was delivered to the recipients listed below.");
  }
  append_line(out, "");
  append_line(out, "For further assistance, please send mail to postmaster.");
  append_line(out, "");
  append_line(out, "                   The mail system");
  append_line(out, "");
  for (const DsnRecipient& rcpt : report.recipients) {
    if (!rcpt.smtp_diagnostic.empty()) {
      // Quote the remote server's reply, as Postfix does: "host X said: 550 ...".
      std::string host =
          rcpt.remote_mta.empty() ? "the remote server" : clean_field(rcpt.remote_mta);
      append_line(out, fmt::format("{}: host {} said: {}", angle(rcpt.final_recipient), host,
                                   clean_field(rcpt.smtp_diagnostic)));
      if (!rcpt.diagnostic.empty() && rcpt.diagnostic != rcpt.smtp_diagnostic &&
          rcpt.diagnostic.find(rcpt.smtp_diagnostic) == std::string::npos) {
        append_line(out, "    (" + clean_field(rcpt.diagnostic) + ")");
      }
    } else {
      append_line(out,
                  fmt::format("{}: {}", angle(rcpt.final_recipient), clean_field(rcpt.diagnostic)));
    }
  }
  append_line(out, "");

  // 2. The part for programs (RFC 3464 section 2).
  append_line(out, "--" + boundary);
  append_line(out, "Content-Description: Delivery report");
  append_line(out, "Content-Type: message/delivery-status");
  append_line(out, "");
  append_line(out, "Reporting-MTA: dns; " + mta);
  append_line(out, "X-Postern-Queue-ID: " + clean_field(report.original_queue_id));
  append_line(out, "X-Postern-Sender: rfc822; " + clean_field(report.original_sender));
  append_line(out, "Arrival-Date: " + rfc5322_date(report.arrival_time));
  for (const DsnRecipient& rcpt : report.recipients) {
    append_line(out, "");
    append_line(out, "Final-Recipient: rfc822; " + clean_field(rcpt.final_recipient));
    std::string original = original_recipient_field(rcpt.orcpt);
    if (!original.empty()) append_line(out, "Original-Recipient: " + original);
    append_line(out, "Action: " + clean_field(rcpt.action));
    append_line(out, "Status: " + clean_field(rcpt.status));
    if (!rcpt.remote_mta.empty())
      append_line(out, "Remote-MTA: dns; " + clean_field(rcpt.remote_mta));
    if (!rcpt.smtp_diagnostic.empty()) {
      append_line(out, "Diagnostic-Code: smtp; " + clean_field(rcpt.smtp_diagnostic));
    } else {
      append_line(out, "Diagnostic-Code: X-Postern; " + clean_field(rcpt.diagnostic));
    }
  }
  append_line(out, "");

  // 3. The original header section.
  append_line(out, "--" + boundary);
  append_line(out, "Content-Description: Undelivered Message Headers");
  append_line(out, "Content-Type: text/rfc822-headers");
  append_line(out, "");
  append_wire(out, headers);
  append_line(out, "");
  append_line(out, "--" + boundary + "--");
  return out;
}

}  // namespace postern
