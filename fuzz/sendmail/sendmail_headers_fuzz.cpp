// libFuzzer target for sendmail -t's reading of a locally written message: the text goes
// through WireMessageBuilder (fed in two pieces split where the first byte says, so that a
// split anywhere is tried) and then prepare_local_message with extract_recipients. The text
// is the calling user's; any verdict is fine, a crash or sanitizer report is not. Invariants
// of an accepted message: every LF has its CR (the builder's line ends), no
// Bcc: or Resent-Bcc: field left in the header section, which ends with an empty line and
// holds From:, Date: and Message-ID:. With an origin (the second bit of the first byte), bare
// names in address fields are qualified (header_qualify): the body after the header section is
// then still byte for byte the input's, and a second qualification changes nothing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/base/ascii.hpp"
#include "sendmail/header_qualify.hpp"
#include "sendmail/local_message.hpp"

namespace {

bool starts_with_field(std::string_view line, std::string_view name) {
  if (line.size() <= name.size()) return false;
  if (!postern::ascii_iequals(line.substr(0, name.size()), name)) return false;
  size_t pos = name.size();
  while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
  return pos < line.size() && line[pos] == ':';
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool ignore_dots = (data[0] & 0x80) != 0;
  const bool qualify = (data[0] & 0x40) != 0;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t split = text.empty() ? 0 : (data[0] & 0x3f) % (text.size() + 1);
  postern::sendmail::WireMessageBuilder builder(ignore_dots, 64 * 1024);
  if (!builder.feed(text.substr(0, split))) builder.feed(text.substr(split));
  builder.finish();
  if (builder.over_limit()) return 0;
  const std::string wire = builder.take();
  // The builder's promise: every line ends CRLF (a CR inside a line is kept as it is).
  for (size_t i = 0; i < wire.size(); ++i) {
    if (wire[i] == '\n' && (i == 0 || wire[i - 1] != '\r')) std::abort();
  }
  if (!wire.empty() && (wire.size() < 2 || wire.compare(wire.size() - 2, 2, "\r\n") != 0)) {
    std::abort();
  }

  postern::sendmail::LocalHeaderFixups fixups;
  fixups.extract_recipients = true;
  fixups.from_address = "alice@example.org";
  fixups.full_name = "Alice \"A\" Example";
  fixups.hostname = "host.example.org";
  fixups.queue_id = "0123456789ABCDEF";
  fixups.now = 1700000000;
  fixups.header_size_limit = 4096;
  if (qualify) fixups.origin = "origin.example";
  postern::Result<postern::sendmail::PreparedMessage> prepared =
      postern::sendmail::prepare_local_message(wire, fixups);
  if (!prepared) return 0;
  const std::string& out = prepared->wire;
  size_t end = out.find("\r\n\r\n");
  if (out.substr(0, 2) == "\r\n") end = 0;  // impossible: From: and the rest come first
  if (end == std::string::npos || end == 0) std::abort();
  bool from = false, date = false, message_id = false;
  size_t pos = 0;
  while (pos <= end) {
    size_t eol = out.find("\r\n", pos);
    std::string_view line = std::string_view(out).substr(pos, eol - pos);
    if (starts_with_field(line, "Bcc") || starts_with_field(line, "Resent-Bcc")) std::abort();
    from = from || starts_with_field(line, "From");
    date = date || starts_with_field(line, "Date");
    message_id = message_id || starts_with_field(line, "Message-ID");
    pos = eol + 2;
  }
  if (!from || !date || !message_id) std::abort();
  if (qualify) {
    // Qualifying is idempotent on every address field of the result (its whole value, with
    // the continuation lines).
    std::string_view header = std::string_view(out).substr(0, end + 2);
    size_t field_start = 0;
    while (field_start < header.size()) {
      size_t field_end = header.find("\r\n", field_start);
      while (field_end + 2 < header.size() &&
             (header[field_end + 2] == ' ' || header[field_end + 2] == '\t')) {
        field_end = header.find("\r\n", field_end + 2);
      }
      std::string_view field = header.substr(field_start, field_end - field_start);
      size_t colon = field.find(':');
      if (colon != std::string_view::npos &&
          postern::sendmail::is_address_field(field.substr(0, colon))) {
        std::string_view value = field.substr(colon + 1);
        std::string again = postern::sendmail::qualify_address_list(value, "origin.example");
        if (again != value) {
          std::fprintf(stderr, "not idempotent:\n[%.*s]\n[%s]\n", static_cast<int>(value.size()),
                       value.data(), again.c_str());
          std::abort();
        }
      }
      field_start = field_end + 2;
    }
  }
  // No check on header_recipients: a quoted empty local part (To: "") comes back as "", which
  // build_local_envelope then refuses (regression_empty_quoted_to in the corpus).
  return 0;
}
