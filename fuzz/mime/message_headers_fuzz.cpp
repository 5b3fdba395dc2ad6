// libFuzzer target for lib/mime/message_headers.cpp: the header section collector, the field splitter
// and the address-list reader, which submission runs on every message a client sends. The first
// input byte picks the collector's limit and the size of the pieces it is fed in; the rest is
// the message. Properties checked besides crashes and sanitizer reports: feeding in pieces gives
// the same result as feeding the whole; the kept text never passes the limit; parsed fields have
// valid names; every address list value (and the raw input, as one value) either fails or gives
// at most kMaxAddresses addresses, each of which reads back as exactly itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/smtp/address.hpp"
#include "lib/mime/message_headers.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

struct Collected {
  size_t consumed = 0;
  bool complete = false;
  bool over_limit = false;
  std::string text;
};

Collected collect(std::string_view message, size_t limit, size_t piece_bytes) {
  postern::HeaderSectionCollector collector(limit);
  Collected out;
  for (size_t pos = 0; pos < message.size() && !collector.complete(); pos += piece_bytes) {
    std::string_view piece = message.substr(pos, piece_bytes);
    size_t used = collector.feed(piece);
    check(used <= piece.size());
    if (!collector.complete()) check(used == piece.size());
    out.consumed += used;
  }
  if (!collector.complete()) collector.finish_at_end_of_message();
  check(collector.feed("X: y\r\n") == 0);
  out.complete = collector.complete();
  out.over_limit = collector.over_limit();
  out.text = collector.text();
  check(out.text.size() <= limit);
  return out;
}

void check_addresses(std::string_view value) {
  auto parsed = postern::parse_address_list(value);
  if (!parsed.ok()) return;
  check(parsed->size() <= postern::kMaxAddresses);
  for (const std::string& address : *parsed) {
    check(address.find('@') != std::string::npos);
    check(postern::is_valid_utf8(address));
    auto again = postern::parse_address_list(address);
    check(again.ok());
    check(again->size() == 1 && again->front() == address);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t control = data[0];
  std::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);
  const size_t limit = (control & 0x0f) == 0 ? size_t{64} << 10 : size_t{16} * (control & 0x0f);
  const size_t piece = 1 + (control >> 4);

  Collected whole = collect(message, limit, message.size() + 1);
  Collected pieces = collect(message, limit, piece);
  check(whole.consumed == pieces.consumed);
  check(whole.text == pieces.text);
  check(whole.over_limit == pieces.over_limit);
  check(whole.complete && pieces.complete);
  check(whole.consumed <= message.size());

  auto fields = postern::parse_header_section(whole.text, 50);
  if (fields.ok()) {
    check(fields->size() <= 50);
    for (const postern::HeaderField& field : *fields) {
      check(!field.name.empty());
      for (char c : field.name) {
        auto u = static_cast<unsigned char>(c);
        check(u >= 33 && u <= 126 && c != ':');
      }
      check(postern::find_field(*fields, field.name).has_value());
      check_addresses(field.value);
    }
  }
  check_addresses(message);
  return 0;
}
