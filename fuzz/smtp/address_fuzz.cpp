// libFuzzer target for lib/smtp/address.cpp (parse_path, parse_mailbox, to_string, find_path_end,
// is_valid_utf8): the parser smtpd and submission run on every MAIL/RCPT path a client sends.
// The first input byte picks the options; the rest is the hostile text. Besides crashes and
// sanitizer reports it checks properties: accepted paths obey the RFC 5321 limits, and an
// accepted address printed with to_string() parses again to the same address.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/smtp/address.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_address(const postern::Address& address, const postern::AddressOptions& options) {
  check(address.domain.size() <= postern::kMaxDomainBytes);
  if (!options.allow_utf8) {
    for (char c : address.local_part) check(static_cast<unsigned char>(c) < 0x80);
    for (char c : address.domain) check(static_cast<unsigned char>(c) < 0x80);
  }
  check(postern::is_valid_utf8(address.local_part));
  check(postern::is_valid_utf8(address.domain));
  if (address.is_null() || address.domain.empty()) return;
  std::string printed = address.to_string();
  postern::AddressOptions again_options = options;
  postern::Result<postern::Address> again = postern::parse_mailbox(printed, again_options);
  check(again.ok());
  check(again->local_part == address.local_part);
  check(again->domain == address.domain);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  postern::AddressOptions options;
  options.allow_utf8 = (data[0] & 1) != 0;
  options.allow_null = (data[0] & 2) != 0;
  options.allow_source_route = (data[0] & 4) != 0;
  options.allow_bare_postmaster = (data[0] & 8) != 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);

  postern::Result<postern::Address> path = postern::parse_path(text, options);
  if (path.ok()) {
    check(text.size() <= postern::kMaxPathBytes);
    check(postern::find_path_end(text) == text.size());
    if (path->is_null()) check(options.allow_null && text == "<>");
    check_address(*path, options);
  }
  postern::Result<postern::Address> mailbox = postern::parse_mailbox(text, options);
  if (mailbox.ok()) check_address(*mailbox, options);

  size_t end = postern::find_path_end(text);
  if (end != std::string_view::npos) check(end <= text.size() && text[end - 1] == '>');
  (void)postern::is_valid_utf8(text);
  (void)postern::strip_extension(text, "+-");
  return 0;
}
