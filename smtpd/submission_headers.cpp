// The header-section rules of submission (see submission_headers.hpp). Run by
// postern-submission at the end of the header section, inside the event loop: the only I/O is
// the LMDB lookups behind SenderOwnership (read transactions, no waiting on the network).
#include "smtpd/submission_headers.hpp"

#include <fmt/format.h>

#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/mime/message_headers.hpp"

namespace postern::smtpd {
namespace {

constexpr size_t kMaxQuotedAddressBytes = 200;  // of a client's address quoted in a reply

void add_field(SubmissionHeaderResult& result, std::string_view name, std::string_view value) {
  result.additions += fmt::format("{}: {}\r\n", name, value);
  if (!result.added_names.empty()) result.added_names += ' ';
  result.added_names += name;
}

}  // namespace

SubmissionHeaderResult check_submission_headers(const SubmissionHeaderInput& input,
                                                const SenderOwnership& ownership) {
  SubmissionHeaderResult result;
  if (input.over_limit) {
    result.refusal = "552 5.3.4 Message header size exceeds fixed limit";
    return result;
  }
  Result<std::vector<HeaderField>> fields = parse_header_section(input.header_text);
  if (!fields) {
    result.refusal = fields.error().kind == ErrorKind::kLimit
                         ? "552 5.3.4 Too many header fields"
                         : "550 5.6.0 Message header section is malformed";
    return result;
  }
  bool has_from = false;
  for (const HeaderField& field : *fields) {
    if (!ascii_iequals(field.name, "From")) continue;
    has_from = true;
    Result<std::vector<std::string>> addresses = parse_address_list(field.value);
    if (!addresses || addresses->empty()) {
      result.refusal = "553 5.7.1 Sender address rejected: the From: header cannot be read";
      return result;
    }
    for (const std::string& address : *addresses) {
      Result<bool> owned = ownership.owns(input.login, address);
      if (!owned) {
        result.refusal = "451 4.3.0 Temporary lookup failure";
        return result;
      }
      if (!*owned) {
        result.refusal =
            fmt::format("553 5.7.1 <{}>: Sender address rejected: not owned by user {}",
                        log::printable(address, kMaxQuotedAddressBytes), input.login);
        return result;
      }
    }
  }
  // RFC 6409 8.1-8.3. The additions go after the client's own fields, just before the end of
  // the header section.
  if (!has_from) {
    add_field(
        result, "From",
        fmt::format("<{}>", input.envelope_sender.empty() ? input.login : input.envelope_sender));
  }
  if (!find_field(*fields, "Message-ID")) {
    add_field(result, "Message-ID", make_message_id(input.queue_id, input.hostname, input.now));
  }
  if (!find_field(*fields, "Date")) add_field(result, "Date", make_date_value(input.now));
  return result;
}

}  // namespace postern::smtpd
