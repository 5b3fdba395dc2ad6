// The header section of a message (lib/mime/message_headers.hpp): the collector, the field splitter,
// the address-list reader and the Message-ID:/Date: makers. Used by submission, relay and qmgr.
// Input comes from submission clients: hostile. Memory is bounded by the collector's limit and,
// for the parsers, by the size of the text given (itself bounded by the collector); counts by
// max_fields and kMaxAddresses; comment nesting by kMaxCommentDepth (counted, not recursive).
// Address lists are read one token at a time; the only recursion is one level (a group's
// members).
#include "lib/mime/message_headers.hpp"

#include <fmt/format.h>

#include <cstring>
#include <ctime>

#include "lib/smtp/address.hpp"
#include "lib/base/ascii.hpp"

namespace postern {

// --- HeaderSectionCollector

HeaderSectionCollector::HeaderSectionCollector(size_t limit_bytes) : limit_bytes_(limit_bytes) {}

void HeaderSectionCollector::keep(std::string_view bytes) {
  if (over_limit_) return;
  size_t room = limit_bytes_ - text_.size();
  if (bytes.size() > room) {
    text_.append(bytes.substr(0, room));
    over_limit_ = true;
    return;
  }
  text_.append(bytes);
}

size_t HeaderSectionCollector::feed(std::string_view bytes) {
  size_t pos = 0;
  while (!complete_ && pos < bytes.size()) {
    if (at_line_start_) {
      char c = bytes[pos];
      if (c == '\n') {  // "\n" or (with the pending CR) "\r\n": the empty line
        ++pos;
        pending_cr_ = false;
        complete_ = true;
        break;
      }
      if (pending_cr_) {  // a line that starts with a CR not followed by LF: header text
        keep("\r");
        pending_cr_ = false;
        at_line_start_ = false;
        continue;
      }
      if (c == '\r') {
        pending_cr_ = true;
        ++pos;
        continue;
      }
      at_line_start_ = false;
    }
    // Inside a line: everything up to and including the next LF is header text.
    const void* lf = std::memchr(bytes.data() + pos, '\n', bytes.size() - pos);
    size_t end =
        lf ? static_cast<size_t>(static_cast<const char*>(lf) - bytes.data()) + 1 : bytes.size();
    keep(bytes.substr(pos, end - pos));
    if (lf) at_line_start_ = true;
    pos = end;
  }
  return pos;
}

void HeaderSectionCollector::finish_at_end_of_message() {
  if (complete_) return;
  if (pending_cr_) keep("\r");
  pending_cr_ = false;
  complete_ = true;
}

// --- parse_header_section

namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}

bool is_ftext(char c) {
  auto u = static_cast<unsigned char>(c);
  return u >= 33 && u <= 126 && c != ':';
}

// The line that starts at pos: [pos, content_end) is its text without the line end, next is
// where the following line starts.
struct Line {
  size_t content_end;
  size_t next;
};

Line line_at(std::string_view text, size_t pos) {
  size_t lf = text.find('\n', pos);
  if (lf == std::string_view::npos) return Line{text.size(), text.size()};
  size_t content_end = (lf > pos && text[lf - 1] == '\r') ? lf - 1 : lf;
  return Line{content_end, lf + 1};
}

}  // namespace

Result<std::vector<HeaderField>> parse_header_section(std::string_view text, size_t max_fields) {
  if (text.find('\0') != std::string_view::npos) {
    return Error::parse("NUL byte in the header section");
  }
  std::vector<HeaderField> fields;
  size_t pos = 0;
  size_t line_number = 0;
  while (pos < text.size()) {
    ++line_number;
    Line line = line_at(text, pos);
    if (is_wsp(text[pos])) {
      return Error::parse(
          fmt::format("header line {}: continuation line before the first field", line_number));
    }
    if (line.content_end == pos) {
      return Error::parse(
          fmt::format("header line {}: empty line in the header section", line_number));
    }
    size_t name_end = pos;
    while (name_end < line.content_end && is_ftext(text[name_end])) ++name_end;
    size_t colon = name_end;
    while (colon < line.content_end && is_wsp(text[colon])) ++colon;
    if (colon >= line.content_end || text[colon] != ':') {
      return Error::parse(
          fmt::format("header line {}: not a header field (no colon after a "
                      "field name)",
                      line_number));
    }
    if (name_end == pos) {
      return Error::parse(fmt::format("header line {}: empty field name", line_number));
    }
    if (fields.size() == max_fields) {
      return Error::limit(fmt::format("more than {} header fields", max_fields));
    }
    // The value runs to the end of the last continuation line.
    size_t value_end = line.content_end;
    size_t next = line.next;
    while (next < text.size() && is_wsp(text[next])) {
      ++line_number;
      Line continuation = line_at(text, next);
      value_end = continuation.content_end;
      next = continuation.next;
    }
    fields.push_back(HeaderField{std::string(text.substr(pos, name_end - pos)),
                                 std::string(text.substr(colon + 1, value_end - colon - 1))});
    pos = next;
  }
  return fields;
}

std::optional<size_t> find_field(const std::vector<HeaderField>& fields, std::string_view name) {
  for (size_t i = 0; i < fields.size(); ++i) {
    if (ascii_iequals(fields[i].name, name)) return i;
  }
  return std::nullopt;
}

size_t count_fields(const std::vector<HeaderField>& fields, std::string_view name) {
  size_t count = 0;
  for (const HeaderField& field : fields) {
    if (ascii_iequals(field.name, name)) ++count;
  }
  return count;
}

// --- parse_address_list

namespace {

enum class TokenKind {
  kAtom,           // text: the atom (atext, and UTF-8)
  kQuoted,         // text: the quoted string's content, quoted pairs and folding removed
  kDomainLiteral,  // text: "[...]" with folding white space removed
  kSpecial,        // text: one of < > : ; @ , .
};

struct Token {
  TokenKind kind;
  std::string text;
  bool is(char special) const {
    return kind == TokenKind::kSpecial && text.size() == 1 && text[0] == special;
  }
  bool is_word() const { return kind == TokenKind::kAtom || kind == TokenKind::kQuoted; }
};

bool is_atext(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u >= 0x80) return true;  // UTF-8 (RFC 6532); well-formedness is checked up front
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != '\0';
}

// Printable US-ASCII or UTF-8: what may appear in quoted strings, comments, domain literals.
bool is_visible(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u >= 33 && u <= 126) || u >= 0x80;
}

class AddressTokenizer {
 public:
  explicit AddressTokenizer(std::string_view text) : text_(text) {}

  // The next token, or nullopt at the end of the text. Tokens are made one at a time, so memory
  // stays proportional to the longest token, not to the number of tokens.
  Result<std::optional<Token>> next() {
    if (Status skipped = skip_cfws(); !skipped) return skipped.error();
    if (pos_ >= text_.size()) return std::optional<Token>();
    char c = text_[pos_];
    if (is_atext(c)) {
      size_t start = pos_;
      while (pos_ < text_.size() && is_atext(text_[pos_])) ++pos_;
      return std::optional<Token>(
          Token{TokenKind::kAtom, std::string(text_.substr(start, pos_ - start))});
    }
    if (c == '"') {
      auto quoted = quoted_string();
      if (!quoted) return quoted.error();
      return std::optional<Token>(Token{TokenKind::kQuoted, std::move(quoted).value()});
    }
    if (c == '[') {
      auto literal = domain_literal();
      if (!literal) return literal.error();
      return std::optional<Token>(Token{TokenKind::kDomainLiteral, std::move(literal).value()});
    }
    if (c != '\0' && std::strchr("<>:;@,.", c) != nullptr) {
      ++pos_;
      return std::optional<Token>(Token{TokenKind::kSpecial, std::string(1, c)});
    }
    return Error::parse(fmt::format("unexpected character 0x{:02x} in an address list",
                                    static_cast<unsigned char>(c)));
  }

 private:
  // At pos_: consumes one folding line end ("\r\n" followed by SP/HTAB) and returns true; a CR
  // or LF that is not that is an error; anything else returns false.
  Result<bool> fold() {
    char c = text_[pos_];
    if (c != '\r' && c != '\n') return false;
    if (c == '\r' && pos_ + 2 < text_.size() && text_[pos_ + 1] == '\n' &&
        is_wsp(text_[pos_ + 2])) {
      pos_ += 2;
      return true;
    }
    return Error::parse("line break that is not folding white space in an address list");
  }

  Status skip_cfws() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (is_wsp(c)) {
        ++pos_;
        continue;
      }
      auto folded = fold();
      if (!folded) return folded.error();
      if (*folded) continue;
      if (c != '(') break;
      if (Status skipped = comment(); !skipped) return skipped;
    }
    return Status::success();
  }

  // A comment, nested at most kMaxCommentDepth deep; pos_ is at its '('.
  Status comment() {
    int depth = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '(') {
        if (++depth > kMaxCommentDepth) {
          return Error::limit(fmt::format("comments nested more than {} deep in an address list",
                                          kMaxCommentDepth));
        }
        ++pos_;
      } else if (c == ')') {
        ++pos_;
        if (--depth == 0) return Status::success();
      } else if (c == '\\') {
        if (pos_ + 1 >= text_.size() || !quoted_pair_char(text_[pos_ + 1])) {
          return Error::parse("bad quoted pair in a comment");
        }
        pos_ += 2;
      } else if (is_wsp(c) || is_visible(c)) {
        ++pos_;
      } else {
        auto folded = fold();
        if (!folded) return folded.error();
        if (!*folded) return Error::parse("control character in a comment");
      }
    }
    return Error::parse("unterminated comment in an address list");
  }

  static bool quoted_pair_char(char c) { return is_visible(c) || is_wsp(c); }

  // pos_ at the opening '"'. Returns the content with quoted pairs resolved and folding line
  // ends removed (the white space after them stays, RFC 5322 3.2.2).
  Result<std::string> quoted_string() {
    std::string out;
    ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c == '\\') {
        if (pos_ + 1 >= text_.size() || !quoted_pair_char(text_[pos_ + 1])) {
          return Error::parse("bad quoted pair in a quoted string");
        }
        out.push_back(text_[pos_ + 1]);
        pos_ += 2;
      } else if (is_wsp(c) || is_visible(c)) {
        out.push_back(c);
        ++pos_;
      } else {
        auto folded = fold();
        if (!folded) return folded.error();
        if (!*folded) return Error::parse("control character in a quoted string");
      }
    }
    return Error::parse("unterminated quoted string in an address list");
  }

  // pos_ at '['. Returns "[...]" without white space.
  Result<std::string> domain_literal() {
    std::string out = "[";
    ++pos_;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == ']') {
        ++pos_;
        out.push_back(']');
        return out;
      }
      if (c == '[' || c == '\\') return Error::parse("bad character in a domain literal");
      if (is_wsp(c)) {
        ++pos_;
      } else if (is_visible(c)) {
        out.push_back(c);
        ++pos_;
      } else {
        auto folded = fold();
        if (!folded) return folded.error();
        if (!*folded) return Error::parse("control character in a domain literal");
      }
    }
    return Error::parse("unterminated domain literal in an address list");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// A recursive-descent reader over AddressTokenizer with one token of look-ahead and no
// back-tracking; the only recursion is a group's members (one level: groups do not nest).
class AddressListParser {
 public:
  AddressListParser(std::string_view text, bool allow_local_only)
      : tokenizer_(text), allow_local_only_(allow_local_only) {}

  Result<std::vector<std::string>> run() {
    if (Status s = advance(); !s) return s.error();
    bool any = false;  // an address or a group was seen
    while (!at_end()) {
      if (peek().is(',')) {  // an empty list element (obsolete syntax, RFC 5322 4.4)
        if (Status s = advance(); !s) return s.error();
        continue;
      }
      if (Status parsed = address(true); !parsed) return parsed.error();
      any = true;
      if (at_end()) break;
      if (!peek().is(',')) return Error::parse("garbage after an address");
      if (Status s = advance(); !s) return s.error();
    }
    if (!any) return Error::parse("no address in the address list");
    return std::move(out_);
  }

 private:
  bool at_end() const { return !current_.has_value(); }
  const Token& peek() const { return *current_; }
  Status advance() {
    auto token = tokenizer_.next();
    if (!token) return token.error();
    current_ = std::move(token).value();
    return Status::success();
  }

  // A mailbox, or (allow_group) a group.
  Status address(bool allow_group) {
    if (peek().is('<')) return angle_addr();
    // Words and dots: a display name, or the local part of a bare addr-spec. Only the local
    // part reading is kept (a display name is not returned).
    bool first_is_word = peek().is_word();
    bool local_ok = true;
    bool want_word = true;
    size_t count = 0;
    std::string local_part;
    while (!at_end() && (peek().is_word() || peek().is('.'))) {
      if (peek().is_word()) {
        if (!want_word) local_ok = false;  // two words without a dot: a phrase
        local_part += peek().text;
        want_word = false;
      } else {
        if (want_word) local_ok = false;
        local_part.push_back('.');
        want_word = true;
      }
      ++count;
      if (Status s = advance(); !s) return s;
    }
    if (want_word) local_ok = false;  // empty, or ends with a dot
    if (allow_local_only_ && local_ok && (at_end() || peek().is(',') || peek().is(';'))) {
      return store_local_only(std::move(local_part));
    }
    if (at_end()) return Error::parse("an address list element that is not an address");
    if (peek().is('@')) {
      if (!local_ok) return Error::parse("bad local part in an address");
      if (Status s = advance(); !s) return s;
      return domain_then_store(std::move(local_part));
    }
    if (count == 0 || !first_is_word) {
      return Error::parse("an address list element that is not an address");
    }
    if (peek().is('<')) return angle_addr();
    if (peek().is(':')) {
      if (!allow_group) return Error::parse("a group inside a group");
      return group();
    }
    return Error::parse("an address list element that is not an address");
  }

  // At the ':' after the display name.
  Status group() {
    if (Status s = advance(); !s) return s;  // ':'
    while (true) {
      if (at_end()) return Error::parse("a group without its closing ';'");
      if (peek().is(';')) return advance();
      if (peek().is(',')) {  // empty group list element (obsolete syntax)
        if (Status s = advance(); !s) return s;
        continue;
      }
      if (Status parsed = address(false); !parsed) return parsed;
      if (at_end()) return Error::parse("a group without its closing ';'");
      if (peek().is(',')) {
        if (Status s = advance(); !s) return s;
      } else if (!peek().is(';')) {
        return Error::parse("garbage after an address in a group");
      }
    }
  }

  // At '<'. An obsolete source route ("<@a,@b:user@c>") is read and dropped.
  Status angle_addr() {
    if (Status s = advance(); !s) return s;  // '<'
    if (!at_end() && (peek().is('@') || peek().is(','))) {
      while (true) {
        if (at_end()) return Error::parse("missing '>' after an address");
        if (peek().is(',')) {
          if (Status s = advance(); !s) return s;
        } else if (peek().is('@')) {
          if (Status s = advance(); !s) return s;
          std::string ignored;
          if (Status d = domain(&ignored); !d) return d;
        } else if (peek().is(':')) {
          if (Status s = advance(); !s) return s;
          break;
        } else {
          return Error::parse("bad source route in an address");
        }
      }
    }
    if (!at_end() && peek().is('>')) return Error::parse("empty address <>");
    // local-part = word *("." word)
    std::string local_part;
    while (true) {
      if (at_end() || !peek().is_word()) return Error::parse("bad local part in an address");
      local_part += peek().text;
      if (Status s = advance(); !s) return s;
      if (at_end() || !peek().is('.')) break;
      local_part.push_back('.');
      if (Status s = advance(); !s) return s;
    }
    if (allow_local_only_ && !at_end() && peek().is('>')) {
      if (Status stored = store_local_only(std::move(local_part)); !stored) return stored;
      return advance();
    }
    if (at_end() || !peek().is('@')) return Error::parse("an address without '@domain'");
    if (Status s = advance(); !s) return s;
    if (Status stored = domain_then_store(std::move(local_part)); !stored) return stored;
    if (at_end() || !peek().is('>')) return Error::parse("missing '>' after an address");
    return advance();
  }

  // After the '@': the domain, then the address goes into the list.
  Status domain_then_store(std::string local_part) {
    Address address;
    address.local_part = std::move(local_part);
    if (Status d = domain(&address.domain); !d) return d;
    if (out_.size() == kMaxAddresses) {
      return Error::limit(fmt::format("more than {} addresses in an address list", kMaxAddresses));
    }
    out_.push_back(address.to_string());
    return Status::success();
  }

  // A local part alone ("root", with allow_local_only), quoted like Address::to_string().
  Status store_local_only(std::string local_part) {
    if (out_.size() == kMaxAddresses) {
      return Error::limit(fmt::format("more than {} addresses in an address list", kMaxAddresses));
    }
    Address address;  // no domain: to_string() gives the local part alone
    address.local_part = std::move(local_part);
    out_.push_back(address.to_string());
    return Status::success();
  }

  // dot-atom (or obsolete atoms with CFWS around the dots) or a domain literal; lower-cased.
  Status domain(std::string* out) {
    if (at_end()) return Error::parse("an address without a domain");
    if (peek().kind == TokenKind::kDomainLiteral) {
      *out = ascii_lowercase(peek().text);
      return advance();
    }
    std::string domain;
    while (true) {
      if (at_end() || peek().kind != TokenKind::kAtom) {
        return Error::parse("bad domain in an address");
      }
      domain += peek().text;
      if (Status s = advance(); !s) return s;
      if (at_end() || !peek().is('.')) break;
      domain.push_back('.');
      if (Status s = advance(); !s) return s;
    }
    *out = ascii_lowercase(domain);
    return Status::success();
  }

  AddressTokenizer tokenizer_;
  bool allow_local_only_ = false;
  std::optional<Token> current_;
  std::vector<std::string> out_;
};

}  // namespace

Result<std::vector<std::string>> parse_address_list(std::string_view value) {
  return parse_address_list(value, AddressListOptions{});
}

Result<std::vector<std::string>> parse_address_list(std::string_view value,
                                                    const AddressListOptions& options) {
  if (!is_valid_utf8(value)) return Error::parse("address list is not valid UTF-8");
  return AddressListParser(value, options.allow_local_only).run();
}

// --- Message-ID and Date

std::string make_message_id(std::string_view queue_id, std::string_view hostname,
                            int64_t unix_seconds) {
  time_t when = static_cast<time_t>(unix_seconds);
  struct tm utc {};
  gmtime_r(&when, &utc);
  char stamp[32];
  size_t n = std::strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &utc);
  return fmt::format("<{}.{}@{}>", std::string_view(stamp, n), queue_id, hostname);
}

std::string make_message_id(std::string_view queue_id, std::string_view hostname) {
  return make_message_id(queue_id, hostname, static_cast<int64_t>(std::time(nullptr)));
}

std::string make_date_value(int64_t unix_seconds) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t when = static_cast<time_t>(unix_seconds);
  struct tm local {};
  tzset();  // localtime_r need not notice a changed TZ by itself
  localtime_r(&when, &local);
  long offset_minutes = local.tm_gmtoff / 60;
  char sign = offset_minutes < 0 ? '-' : '+';
  if (offset_minutes < 0) offset_minutes = -offset_minutes;
  return fmt::format("{}, {} {} {} {:02}:{:02}:{:02} {}{:02}{:02}", kDays[local.tm_wday % 7],
                     local.tm_mday, kMonths[local.tm_mon % 12], local.tm_year + 1900, local.tm_hour,
                     local.tm_min, local.tm_sec, sign, offset_minutes / 60, offset_minutes % 60);
}

}  // namespace postern
