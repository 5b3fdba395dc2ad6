// The IMAP command reader (see imap_parser.hpp): cuts the client's byte stream into commands,
// in imapd's event loop, one reader per connection. Every byte is hostile. A line is held only
// while the input splits it (at most max_line_bytes), a literal only once its announced size has
// passed the limit for its command, and the tree of one command is bounded by max_tokens,
// max_depth and max_command_bytes. On a syntax error the command's remaining lines and
// non-synchronising literals are skipped without being stored, so the reader is back at a
// command boundary; only a non-synchronising literal larger than kMaxSkipBytes is fatal.
#include "lib/imap/imap_parser.hpp"

#include <algorithm>
#include <cstring>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

constexpr size_t kMaxNameBytes = 64;          // a command name ("UNSUBSCRIBE" is 11)
constexpr size_t kDiscardTailBytes = 32;      // enough for "~{18446744073709551615+}"
constexpr size_t kKeptLineCapacity = 1024;    // a bigger line buffer is freed after the command
constexpr size_t kMaxLiteralReserve = 65536;  // never reserve more than this up front

bool is_ctl(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// ASTRING-CHAR minus '+' (RFC 3501 tag).
bool is_tag_char(unsigned char c) {
  if (is_ctl(c) || c >= 0x80) return false;
  return std::strchr(" (){%*\"\\+", c) == nullptr;
}

bool is_name_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]);
    unsigned char y = static_cast<unsigned char>(b[i]);
    if (x >= 'a' && x <= 'z') x = static_cast<unsigned char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<unsigned char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

// A literal announced at the end of a line: "{n}", "{n+}", "~{n}", "~{n+}".
struct LiteralMarker {
  size_t start = 0;    // offset of '{' (or '~')
  uint64_t bytes = 0;  // UINT64_MAX when the number does not fit
  bool sync = true;
  bool binary = false;
};

std::optional<LiteralMarker> trailing_literal(std::string_view line) {
  if (line.empty() || line.back() != '}') return std::nullopt;
  LiteralMarker marker;
  size_t end = line.size() - 1;
  if (end > 0 && line[end - 1] == '+') {
    marker.sync = false;
    --end;
  }
  size_t i = end;
  while (i > 0 && line[i - 1] >= '0' && line[i - 1] <= '9') --i;
  if (i == end || i == 0 || line[i - 1] != '{') return std::nullopt;
  for (size_t k = i; k < end; ++k) {
    uint64_t digit = static_cast<uint64_t>(line[k] - '0');
    if (marker.bytes > (UINT64_MAX - digit) / 10) {
      marker.bytes = UINT64_MAX;
      break;
    }
    marker.bytes = marker.bytes * 10 + digit;
  }
  marker.start = i - 1;
  if (marker.start > 0 && line[marker.start - 1] == '~') {
    marker.binary = true;
    --marker.start;
  }
  return marker;
}

// FETCH attributes whose '[' starts a section (RFC 3501 6.4.5, RFC 3516 4).
bool opens_section(std::string_view name) {
  for (std::string_view item : {"BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK", "BINARY.SIZE"}) {
    if (iequals(name, item)) return true;
  }
  return false;
}

}  // namespace

// ---- tokens --------------------------------------------------------------------------------

std::optional<std::string_view> ImapToken::astring() const {
  // NIL is an atom too (RFC 3501 9), so where an astring is expected it is the text "NIL";
  // callers reading an nstring test kind == kNil first.
  if (kind != Kind::kList) return text;
  return std::nullopt;
}

bool ImapToken::is_word(std::string_view word) const {
  return (kind == Kind::kAtom || kind == Kind::kNil) && iequals(text, word);
}

// ---- the reader ----------------------------------------------------------------------------

ImapCommandReader::ImapCommandReader(ImapParserLimits limits) : limits_(limits) {
  reset_command();
}

ImapCommand ImapCommandReader::take_command() {
  ImapCommand command = std::move(ready_).value_or(ImapCommand{});
  ready_.reset();
  return command;
}

ImapSyntaxError ImapCommandReader::take_error() {
  ImapSyntaxError error = std::move(error_).value_or(ImapSyntaxError{"*", "Syntax error"});
  error_.reset();
  return error;
}

std::string_view ImapCommandReader::continuation_text() const {
  return continuation_;
}

void ImapCommandReader::expect_raw_line() {
  raw_line_ = true;
}

size_t ImapCommandReader::buffered_bytes() const {
  return line_.size() + held_bytes_;
}

void ImapCommandReader::reset_command() {
  phase_ = Phase::kTag;
  command_ = ImapCommand{};
  stack_.clear();
  stack_.emplace_back();
  stack_.back().kind = ImapToken::Kind::kList;
  literal_ = nullptr;
  command_started_ = false;
  discarding_command_ = false;
  command_bytes_ = 0;
  held_bytes_ = 0;
  tokens_ = 0;
}

ImapReadState ImapCommandReader::feed(std::string_view data, size_t* consumed) {
  size_t pos = 0;
  ImapReadState state = ImapReadState::kNeedMore;
  while (pos < data.size() && state == ImapReadState::kNeedMore) {
    switch (mode_) {
      case Mode::kLiteral:
      case Mode::kSkipLiteral: {
        size_t n = static_cast<size_t>(
            std::min<uint64_t>(literal_remaining_, static_cast<uint64_t>(data.size() - pos)));
        if (mode_ == Mode::kLiteral) {
          literal_->text.append(data.substr(pos, n));
          held_bytes_ += n;
        }
        pos += n;
        literal_remaining_ -= n;
        if (literal_remaining_ > 0) break;
        if (mode_ == Mode::kSkipLiteral) {
          mode_ = Mode::kDiscardLine;
          break;
        }
        mode_ = Mode::kLine;
        if (!literal_->binary_literal && literal_->text.find('\0') != std::string::npos) {
          literal_ = nullptr;
          mode_ = Mode::kDiscardLine;
          discarding_command_ = true;
          state = fail("NUL in a literal (use ~{n} for binary data)");
          break;
        }
        literal_ = nullptr;
        break;
      }
      case Mode::kDiscardLine: {
        size_t lf = data.find('\n', pos);
        std::string_view piece = data.substr(pos, lf == std::string_view::npos ? lf : lf - pos);
        discard_tail_.append(piece.substr(piece.size() > kDiscardTailBytes
                                              ? piece.size() - kDiscardTailBytes
                                              : 0));
        if (discard_tail_.size() > kDiscardTailBytes) {
          discard_tail_.erase(0, discard_tail_.size() - kDiscardTailBytes);
        }
        if (lf == std::string_view::npos) {
          pos = data.size();
          break;
        }
        pos = lf + 1;
        std::string tail = std::move(discard_tail_);
        discard_tail_.clear();
        if (!tail.empty() && tail.back() == '\r') tail.pop_back();
        state = after_discarded_line(tail);
        break;
      }
      case Mode::kLine: {
        size_t lf = data.find('\n', pos);
        const size_t end = lf == std::string_view::npos ? data.size() : lf;
        std::string_view rest = data.substr(pos, end - pos);
        // Too long (+1: the CR of a line that is exactly at the limit) is decided on the bytes
        // of the line in hand, whether or not its LF has come yet, so the verdict and what
        // follows it do not depend on how the input was split: the line is discarded the same
        // way (its tail kept for a literal marker) and its LF is left to kDiscardLine.
        if (line_.size() + rest.size() > limits_.max_line_bytes + 1) {
          std::string head = line_.size() >= limits_.max_tag_bytes + 1
                                 ? line_.substr(0, limits_.max_tag_bytes + 1)
                                 : line_ + std::string(rest.substr(0, limits_.max_tag_bytes + 1));
          // The tail is the line's, not only this piece's: a literal marker ("{5+}") may have
          // arrived partly in an earlier piece.
          if (rest.size() >= kDiscardTailBytes) {
            discard_tail_.assign(rest.substr(rest.size() - kDiscardTailBytes));
          } else {
            discard_tail_.assign(line_.substr(line_.size() > kDiscardTailBytes - rest.size()
                                                  ? line_.size() - (kDiscardTailBytes - rest.size())
                                                  : 0));
            discard_tail_.append(rest);
          }
          line_.clear();
          mode_ = Mode::kDiscardLine;
          discarding_command_ = true;
          discarding_raw_line_ = raw_line_;
          if (raw_line_) {
            raw_line_ = false;
          } else if (command_.tag.empty()) {
            command_.tag = tag_guess(head);
          }
          state = fail("Line too long");
          pos = end;
          break;
        }
        if (lf == std::string_view::npos) {
          line_.append(rest);
          pos = data.size();
          break;
        }
        std::string_view line;
        if (line_.empty()) {
          line = data.substr(pos, lf - pos);
        } else {
          line_.append(data.substr(pos, lf - pos));
          line = line_;
        }
        pos = lf + 1;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        state = process_line(line);
        line_.clear();
        if (line_.capacity() > kKeptLineCapacity) std::string().swap(line_);
        break;
      }
    }
  }
  *consumed = pos;
  return state;
}

ImapReadState ImapCommandReader::process_line(std::string_view line) {
  if (raw_line_) {
    raw_line_ = false;
    if (line.size() > limits_.max_line_bytes) return fail("Line too long");
    ImapCommand raw;
    ImapToken token;
    token.text = std::string(line);
    raw.args.push_back(std::move(token));
    ready_ = std::move(raw);
    return ImapReadState::kCommand;
  }
  if (!command_started_ && line.empty()) return ImapReadState::kNeedMore;  // a stray CRLF
  command_started_ = true;
  if (line.size() > limits_.max_line_bytes) return fail_and_resync("Line too long", line);
  command_bytes_ += line.size() + 2;
  if (command_bytes_ > limits_.max_command_bytes) {
    return fail_and_resync("[TOOBIG] Command too long", line);
  }
  std::optional<LiteralMarker> marker = trailing_literal(line);
  std::string_view text = marker ? line.substr(0, marker->start) : line;
  if (!tokenize(text)) return fail_and_resync(take_error().message, line);
  if (!marker) return finish_command();

  if (phase_ != Phase::kArgs) return fail_and_resync("Missing command name", line);
  if (marker->start > 0 && line[marker->start - 1] != ' ' && line[marker->start - 1] != '(') {
    return fail_and_resync("A literal must start an argument", line);
  }
  const bool append = command_.name == "APPEND";
  const uint64_t limit = append ? limits_.max_append_literal_bytes : limits_.max_literal_bytes;
  if (marker->bytes > limit) {
    return fail_and_resync(append ? "[TOOBIG] Message too large" : "[TOOBIG] Literal too large",
                           line);
  }
  if (!append) {
    command_bytes_ += static_cast<size_t>(marker->bytes);
    if (command_bytes_ > limits_.max_command_bytes) {
      return fail_and_resync("[TOOBIG] Command too long", line);
    }
  }
  ImapToken token;
  token.kind = ImapToken::Kind::kLiteral;
  token.binary_literal = marker->binary;
  if (!add_token(std::move(token))) return fail_and_resync(take_error().message, line);
  literal_ = &stack_.back().children.back();
  literal_->text.reserve(static_cast<size_t>(std::min<uint64_t>(marker->bytes, kMaxLiteralReserve)));
  literal_remaining_ = marker->bytes;
  mode_ = literal_remaining_ > 0 ? Mode::kLiteral : Mode::kLine;
  if (literal_remaining_ == 0) literal_ = nullptr;
  if (marker->sync) {
    continuation_ = "Ready for literal data";
    return ImapReadState::kContinuation;
  }
  return ImapReadState::kNeedMore;
}

bool ImapCommandReader::tokenize(std::string_view text) {
  size_t i = 0;
  held_bytes_ += text.size();
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (phase_ == Phase::kTag) {
      size_t end = text.find(' ');
      if (end == std::string_view::npos) end = text.size();
      std::string_view tag = text.substr(0, end);
      bool valid = !tag.empty() && tag.size() <= limits_.max_tag_bytes;
      for (char t : tag) valid = valid && is_tag_char(static_cast<unsigned char>(t));
      if (!valid) {
        error_ = ImapSyntaxError{"*", "Invalid tag"};
        return false;
      }
      command_.tag = std::string(tag);
      phase_ = Phase::kName;
      i = end;
      continue;
    }
    if (c == ' ') {
      ++i;
      continue;
    }
    if (phase_ == Phase::kName || phase_ == Phase::kUidName) {
      size_t end = text.find(' ', i);
      if (end == std::string_view::npos) end = text.size();
      std::string_view name = text.substr(i, end - i);
      bool valid = name.size() <= kMaxNameBytes;
      for (char n : name) valid = valid && is_name_char(static_cast<unsigned char>(n));
      if (!valid) {
        error_ = ImapSyntaxError{command_.tag, "Invalid command name"};
        return false;
      }
      std::string upper = ascii_uppercase(name);
      if (phase_ == Phase::kName && upper == "UID") {
        command_.uid = true;
        phase_ = Phase::kUidName;
      } else {
        command_.name = std::move(upper);
        phase_ = Phase::kArgs;
      }
      i = end;
      continue;
    }
    if (c == '(') {
      if (stack_.size() > limits_.max_depth) {
        error_ = ImapSyntaxError{command_.tag, "Too deeply nested"};
        return false;
      }
      if (++tokens_ > limits_.max_tokens) {
        error_ = ImapSyntaxError{command_.tag, "Too many arguments"};
        return false;
      }
      stack_.emplace_back();
      stack_.back().kind = ImapToken::Kind::kList;
      ++i;
      continue;
    }
    if (c == ')') {
      if (stack_.size() == 1) {
        error_ = ImapSyntaxError{command_.tag, "Unbalanced parentheses"};
        return false;
      }
      ImapToken list = std::move(stack_.back());
      stack_.pop_back();
      stack_.back().children.push_back(std::move(list));
      ++i;
      continue;
    }
    ImapToken token;
    if (c == '"') {
      token.kind = ImapToken::Kind::kQuoted;
      if (!read_quoted(text, &i, &token.text)) return false;
    } else if (c == '{' || (c == '~' && i + 1 < text.size() && text[i + 1] == '{')) {
      error_ = ImapSyntaxError{command_.tag, "A literal must end its line"};
      return false;
    } else if (is_ctl(c)) {
      error_ = ImapSyntaxError{command_.tag, "Invalid character"};
      return false;
    } else {
      if (!read_atom(text, &i, &token.text)) return false;
      if (iequals(token.text, "NIL")) token.kind = ImapToken::Kind::kNil;
    }
    if (!add_token(std::move(token))) return false;
  }
  return true;
}

bool ImapCommandReader::read_quoted(std::string_view text, size_t* pos, std::string* out) {
  size_t i = *pos + 1;
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      *pos = i + 1;
      return true;
    }
    if (c == '\\') {
      if (i + 1 >= text.size() || (text[i + 1] != '\\' && text[i + 1] != '"')) {
        error_ = ImapSyntaxError{command_.tag, "Invalid escape in a quoted string"};
        return false;
      }
      out->push_back(text[i + 1]);
      i += 2;
      continue;
    }
    if (c == '\r' || c == '\0') {
      error_ = ImapSyntaxError{command_.tag, "Invalid character in a quoted string"};
      return false;
    }
    out->push_back(c);
    ++i;
  }
  error_ = ImapSyntaxError{command_.tag, "Unterminated quoted string"};
  return false;
}

bool ImapCommandReader::read_atom(std::string_view text, size_t* pos, std::string* out) {
  const size_t start = *pos;
  size_t i = start;
  size_t section_depth = 0;
  const size_t list_depth = stack_.size() - 1;
  while (i < text.size()) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (section_depth == 0) {
      if (c == ' ' || c == '(' || c == ')' || c == '"' || is_ctl(c)) break;
      // '[' is an ATOM-CHAR (RFC 3501 9); it opens a section only after a FETCH attribute
      // name that takes one, so "a[b" stays a plain atom (a mailbox name, say).
      if (c == '[' && opens_section(text.substr(start, i - start))) section_depth = 1;
    } else if (c == '[') {
      ++section_depth;
    } else if (c == ']') {
      --section_depth;
    } else if (c == '"') {  // a quoted header name inside BODY[HEADER.FIELDS ("A")]
      ++i;
      while (i < text.size() && text[i] != '"') {
        if (text[i] == '\\') ++i;
        if (i < text.size() && (text[i] == '\r' || text[i] == '\0')) break;
        ++i;
      }
      if (i >= text.size() || text[i] != '"') {
        error_ = ImapSyntaxError{command_.tag, "Unterminated quoted string in a section"};
        return false;
      }
    } else if (is_ctl(c)) {
      error_ = ImapSyntaxError{command_.tag, "Invalid character in a section"};
      return false;
    }
    if (list_depth + section_depth > limits_.max_depth) {
      error_ = ImapSyntaxError{command_.tag, "Too deeply nested"};
      return false;
    }
    ++i;
  }
  if (section_depth > 0) {
    error_ = ImapSyntaxError{command_.tag, "Unterminated section ('[' without ']')"};
    return false;
  }
  out->assign(text.substr(start, i - start));
  *pos = i;
  return true;
}

bool ImapCommandReader::add_token(ImapToken token) {
  if (++tokens_ > limits_.max_tokens) {
    error_ = ImapSyntaxError{command_.tag, "Too many arguments"};
    return false;
  }
  stack_.back().children.push_back(std::move(token));
  return true;
}

ImapReadState ImapCommandReader::finish_command() {
  if (phase_ != Phase::kArgs) {
    std::string tag = command_.tag.empty() ? "*" : command_.tag;
    const char* what = command_.uid ? "UID needs a command" : "Missing command name";
    reset_command();
    error_ = ImapSyntaxError{tag, what};
    return ImapReadState::kError;
  }
  if (stack_.size() != 1) {
    std::string tag = command_.tag;
    reset_command();
    error_ = ImapSyntaxError{tag, "Unbalanced parentheses"};
    return ImapReadState::kError;
  }
  ImapCommand command = std::move(command_);
  command.args = std::move(stack_.front().children);
  reset_command();
  ready_ = std::move(command);
  return ImapReadState::kCommand;
}

ImapReadState ImapCommandReader::fail(std::string message) {
  std::string tag = command_.tag.empty() ? "*" : command_.tag;
  error_ = ImapSyntaxError{std::move(tag), std::move(message)};
  // The tree built so far is of no use any more; the mode says what is left to skip.
  bool discarding = discarding_command_;
  reset_command();
  discarding_command_ = discarding;
  if (discarding) command_started_ = true;
  return ImapReadState::kError;
}

ImapReadState ImapCommandReader::fail_and_resync(std::string message, std::string_view line) {
  if (command_.tag.empty()) command_.tag = tag_guess(line);
  std::optional<LiteralMarker> marker = trailing_literal(line);
  if (marker && !marker->sync) {
    // RFC 7888: the client sends the literal without waiting; its bytes are not commands.
    if (marker->bytes > kMaxSkipBytes) {
      std::string tag = command_.tag.empty() ? "*" : command_.tag;
      reset_command();
      mode_ = Mode::kLine;
      error_ = ImapSyntaxError{std::move(tag), message + "; literal too large to skip"};
      return ImapReadState::kFatal;
    }
    discarding_command_ = true;
    literal_remaining_ = marker->bytes;
    mode_ = literal_remaining_ > 0 ? Mode::kSkipLiteral : Mode::kDiscardLine;
    return fail(std::move(message));
  }
  // No literal, or a synchronising one the client sends only after a "+" it will not get.
  discarding_command_ = false;
  mode_ = Mode::kLine;
  return fail(std::move(message));
}

ImapReadState ImapCommandReader::after_discarded_line(std::string_view tail) {
  // A raw line (an AUTHENTICATE response, IDLE's DONE) announces no literal, whatever it ends in.
  std::optional<LiteralMarker> marker =
      discarding_raw_line_ ? std::nullopt : trailing_literal(tail);
  discarding_raw_line_ = false;
  if (marker && !marker->sync) {
    if (marker->bytes > kMaxSkipBytes) {
      reset_command();
      mode_ = Mode::kLine;
      error_ = ImapSyntaxError{"*", "Literal too large to skip"};
      return ImapReadState::kFatal;
    }
    literal_remaining_ = marker->bytes;
    mode_ = literal_remaining_ > 0 ? Mode::kSkipLiteral : Mode::kDiscardLine;
    return ImapReadState::kNeedMore;
  }
  reset_command();
  mode_ = Mode::kLine;
  return ImapReadState::kNeedMore;
}

std::string ImapCommandReader::tag_guess(std::string_view line) const {
  size_t end = line.find(' ');
  std::string_view tag = line.substr(0, end);
  if (tag.empty() || tag.size() > limits_.max_tag_bytes) return "*";
  for (char c : tag) {
    if (!is_tag_char(static_cast<unsigned char>(c))) return "*";
  }
  return std::string(tag);
}

// ---- whole commands and writing ------------------------------------------------------------

Result<ImapCommand> parse_imap_command(std::string_view text, const ImapParserLimits& limits) {
  ImapCommandReader reader(limits);
  std::string input(text);
  if (input.empty() || input.back() != '\n') input += "\r\n";
  std::string_view rest = input;
  while (true) {
    size_t consumed = 0;
    ImapReadState state = reader.feed(rest, &consumed);
    rest.remove_prefix(consumed);
    switch (state) {
      case ImapReadState::kCommand:
        return reader.take_command();
      case ImapReadState::kError:
      case ImapReadState::kFatal:
        return Error::parse(reader.take_error().message);
      case ImapReadState::kContinuation:
        continue;
      case ImapReadState::kNeedMore:
        if (rest.empty()) return Error::parse("Incomplete command");
        continue;
    }
  }
}

namespace {

bool is_atom_char(unsigned char c) {
  if (is_ctl(c) || c >= 0x80) return false;
  // ']' is allowed in an astring; '[' would open a section when read back: quote it.
  return std::strchr(" (){%*\"\\[", c) == nullptr;
}

std::string quoted_or_literal(std::string_view text) {
  bool quotable = text.size() <= 1024;
  for (char ch : text) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (c == 0 || c == '\r' || c == '\n' || c >= 0x80) {
      quotable = false;
      break;
    }
  }
  if (quotable) {
    std::string out;
    out.reserve(text.size() + 2);
    out.push_back('"');
    for (char c : text) {
      if (c == '"' || c == '\\') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('"');
    return out;
  }
  const bool binary = text.find('\0') != std::string_view::npos;
  std::string out = (binary ? "~{" : "{") + std::to_string(text.size()) + "}\r\n";
  out.append(text);
  return out;
}

}  // namespace

std::string imap_quote(std::string_view text) {
  bool atom = !text.empty() && !iequals(text, "NIL");
  for (char c : text) atom = atom && is_atom_char(static_cast<unsigned char>(c));
  if (atom) return std::string(text);
  return quoted_or_literal(text);
}

std::string imap_nstring(const std::optional<std::string>& text) {
  if (!text) return "NIL";
  return quoted_or_literal(*text);
}

}  // namespace postern
