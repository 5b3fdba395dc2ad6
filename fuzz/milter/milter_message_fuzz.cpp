// libFuzzer target for MilterMessage: a message as a client sent it (hostile bytes, spooled to
// an anonymous file in a temporary folder) read with or without our own Received: on top,
// then a script of end-of-message edits as milters send them (hostile too: field names made
// valid as decode_reply requires, values raw), then write(). Invariants of the written message:
//   - the header section holds only well-formed lines: "Name:..." or a fold (SP/HTAB first),
//     each ended by CRLF, no bare LF, no empty line; the first line is no fold;
//   - a field a milter set has no CR, LF or NUL but in a CRLF fold (no header injection);
//   - the body follows unchanged (or is exactly the milters' replacement), and no body line
//     can be read as part of the header section;
//   - our own fields are never changed and stay first unless a milter inserted at index 0;
//   - an unedited message in wire form (CRLF lines) is written back byte for byte.
// Input: byte 0 = flags (1: own header, 2: leading-space option, 4: replaced body limited to
// 64 bytes), bytes 1-2 = the message's length (big-endian, cut to what is there), the message,
// then the edit script: one op byte each (op % 5: 0 add, 1 insert, 2 change, 3 begin body
// replacement, 4 append to the body), with [index byte] [name: length byte + bytes, length 0
// = the name of an existing field chosen by the next byte] [value: length byte + raw bytes].
#include <stdlib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "lib/milter/message_spool.hpp"
#include "lib/milter/milter_message.hpp"

namespace {

using postern::Status;
using postern::milter::HeaderField;
using postern::milter::MessageSpool;
using postern::milter::MilterMessage;

constexpr std::string_view kOwnHeader =
    "Received: from client.example (client.example [192.0.2.7])\r\n"
    "\tby mx.example.org (Postern) with ESMTP id 4ABCDEF\r\n";
constexpr size_t kMaxOps = 64;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "milter_message_fuzz: invariant broken: %s\n", what);
  std::abort();
}

void check(bool ok, const char* what) {
  if (!ok) fail(what);
}

const std::string& spool_dir() {
  static const std::string dir = [] {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "milter_message_fuzz.XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) fail("cannot make a temporary folder");
    return pattern;
  }();
  return dir;
}

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// The length of the field name of a line ("Name:"), 0 when it is not a field.
size_t field_name_length(std::string_view line) {
  size_t i = 0;
  while (i < line.size() && line[i] > ' ' && line[i] < 127 && line[i] != ':') ++i;
  return i > 0 && i < line.size() && line[i] == ':' ? i : 0;
}

// The input, read front to back; past its end every read gives 0.
class Script {
 public:
  explicit Script(std::string_view bytes) : bytes_(bytes) {}
  bool done() const { return bytes_.empty(); }
  uint8_t byte() {
    if (bytes_.empty()) return 0;
    uint8_t b = static_cast<uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
  }
  std::string_view take(size_t n) {
    std::string_view out = bytes_.substr(0, n);
    bytes_.remove_prefix(out.size());
    return out;
  }

 private:
  std::string_view bytes_;
};

// A field name as decode_reply accepts one (1 to 31 printable characters, no colon), or with
// length 0 the name of an existing field, so that change finds something to change.
std::string field_name(Script& script, const MilterMessage& message) {
  const size_t length = script.byte() % 32;
  if (length == 0) {
    const std::vector<HeaderField>& headers = message.headers();
    const uint8_t pick = script.byte();
    return headers.empty() ? "X" : headers[pick % headers.size()].name;
  }
  std::string name;
  for (char c : script.take(length)) {
    char valid = static_cast<char>('!' + static_cast<uint8_t>(c) % 94);
    name += valid == ':' ? '-' : valid;
  }
  return name.empty() ? "X" : name;
}

std::string_view field_value(Script& script) { return script.take(script.byte()); }

// A value a milter set, as stored: only CRLF folds, no bare CR or LF, no NUL.
void check_milter_value(std::string_view value) {
  for (size_t i = 0; i < value.size(); ++i) {
    check(value[i] != '\0', "NUL in a milter's value");
    if (value[i] == '\r') {
      check(i + 2 < value.size() && value[i + 1] == '\n' && is_wsp(value[i + 2]),
            "a milter's value has a CR that does not start a fold");
    }
    if (value[i] == '\n') check(i > 0 && value[i - 1] == '\r', "bare LF in a milter's value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Script input(std::string_view(reinterpret_cast<const char*>(data), size));
  const uint8_t flags = input.byte();
  const bool own = (flags & 1) != 0;
  const bool leading_space = (flags & 2) != 0;
  const uint64_t size_limit = (flags & 4) != 0 ? 64 : 0;
  size_t message_length = static_cast<size_t>(input.byte()) << 8;
  message_length |= input.byte();
  const std::string message_bytes(input.take(message_length));

  postern::Result<MessageSpool> spool = MessageSpool::create(spool_dir());
  check(spool.ok(), "cannot create a spool");
  // Spooled in uneven pieces, as the SMTP reader appends them.
  for (size_t pos = 0, step = 1; pos < message_bytes.size(); pos += step, step = step * 2 + 1) {
    spool->append(std::string_view(message_bytes).substr(pos, step));
  }
  postern::Result<MilterMessage> read =
      MilterMessage::read(*spool, spool_dir(), own ? kOwnHeader : std::string_view());
  check(read.ok(), "read failed");
  MilterMessage& message = *read;

  std::string original_body;
  std::string chunk;
  for (uint64_t offset = 0;; offset += chunk.size()) {
    check(message.read_body(offset, 1000, chunk).ok(), "read_body failed");
    if (chunk.empty()) break;
    original_body += chunk;
  }
  check(original_body.size() == message.body_size(), "body_size is not the body's size");
  const std::vector<HeaderField> original_fields = message.headers();
  std::vector<HeaderField> hidden_before;
  for (const HeaderField& field : original_fields) {
    if (field.hidden) hidden_before.push_back(field);
  }
  check(own == !hidden_before.empty(), "own header fields not hidden");

  bool inserted_at_zero = false;
  bool replaced = false;
  std::string replacement;
  for (size_t ops = 0; ops < kMaxOps && !input.done(); ++ops) {
    switch (input.byte() % 5) {
      case 0: {
        std::string name = field_name(input, message);
        message.add_header(name, field_value(input), leading_space);
        break;
      }
      case 1: {
        const uint32_t index = input.byte() % 8;
        std::string name = field_name(input, message);
        message.insert_header(index, name, field_value(input), leading_space);
        inserted_at_zero = inserted_at_zero || index == 0;
        break;
      }
      case 2: {
        const uint32_t index = input.byte() % 4;
        std::string name = field_name(input, message);
        message.change_header(name, index, field_value(input), leading_space);
        break;
      }
      case 3:
        check(message.begin_body_replacement().ok(), "begin_body_replacement failed");
        replaced = true;
        replacement.clear();
        break;
      case 4: {
        std::string_view piece = field_value(input);
        Status appended = message.append_body_replacement(piece, size_limit);
        replaced = true;
        if (appended.ok()) {
          replacement += piece;
        } else {
          check(size_limit != 0 && replacement.size() + piece.size() > size_limit,
                "append_body_replacement failed under its limit");
        }
        check(replacement.size() == message.body_size(), "replaced body has the wrong size");
        break;
      }
    }
  }

  // Our own fields: unchanged, in order, and on top unless a milter inserted above them.
  std::vector<HeaderField> hidden_after;
  for (const HeaderField& field : message.headers()) {
    if (field.hidden) hidden_after.push_back(field);
  }
  check(hidden_after.size() == hidden_before.size(), "own header fields added or removed");
  for (size_t i = 0; i < hidden_after.size(); ++i) {
    check(hidden_after[i].name == hidden_before[i].name &&
              hidden_after[i].value == hidden_before[i].value,
          "own header field changed");
  }
  // Fields the milters set are clean; the client's own may keep its bare CRs.
  for (const HeaderField& field : message.headers()) {
    check(field_name_length(field.name + ":") == field.name.size(), "invalid field name");
    bool original = false;
    for (const HeaderField& before : original_fields) {
      original = original || (before.name == field.name && before.value == field.value);
    }
    if (!original) check_milter_value(field.value);
  }

  std::string out;
  Status written = message.write([&](std::string_view bytes) {
    out += bytes;
    return Status::success();
  });
  check(written.ok(), "write failed");

  if (own && !inserted_at_zero) {
    check(out.compare(0, kOwnHeader.size(), kOwnHeader) == 0, "own header not first");
  }
  if (!message.edited()) {
    bool wire_form = message_bytes.empty() || message_bytes.back() == '\n';
    for (size_t i = 0; i < message_bytes.size(); ++i) {
      if (message_bytes[i] == '\n' && (i == 0 || message_bytes[i - 1] != '\r')) wire_form = false;
    }
    if (wire_form) {
      check(out == std::string(own ? kOwnHeader : std::string_view()) + message_bytes,
            "unedited message not written back byte for byte");
    }
  }

  // The body, unchanged or as replaced, ends the message.
  const std::string& body = replaced ? replacement : original_body;
  check(out.size() >= body.size() && out.compare(out.size() - body.size(), body.size(), body) == 0,
        "the body is not written as it was (or as replaced)");
  std::string_view head(out.data(), out.size() - body.size());
  bool separator = false;
  if (head == "\r\n" || (head.size() >= 4 && head.substr(head.size() - 4) == "\r\n\r\n")) {
    head.remove_suffix(2);
    separator = true;
  }
  check(!replaced || separator, "a replaced body without the empty line before it");
  // Only fields and folds, each ended by CRLF.
  for (bool first = true; !head.empty(); first = false) {
    size_t crlf = head.find("\r\n");
    check(crlf != std::string_view::npos, "header line without CRLF");
    std::string_view line = head.substr(0, crlf);
    head.remove_prefix(crlf + 2);
    check(!line.empty(), "empty line inside the header section");
    check(line.find('\n') == std::string_view::npos, "bare LF in the header section");
    if (is_wsp(line[0])) {
      check(!first, "the header section starts with a fold");
    } else {
      check(field_name_length(line) > 0, "a header line that is neither field nor fold");
    }
  }
  // Without the empty line, the body's first line must end the header section by itself.
  if (!separator && !body.empty() && out.size() > body.size()) {
    std::string_view first_line = std::string_view(body).substr(0, body.find('\n'));
    if (!first_line.empty() && first_line.back() == '\r') first_line.remove_suffix(1);
    check(!first_line.empty(), "body starts with an empty line but no separator was counted");
    check(!is_wsp(first_line[0]), "the body's first line reads as a fold of a header field");
    check(field_name_length(first_line) == 0, "the body's first line reads as a header field");
  }
  return 0;
}
