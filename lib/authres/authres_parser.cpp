// Reads Authentication-Results and ARC-Authentication-Results values: see authres_parser.hpp
// for the grammar's leniencies and the limits. One pass over the value with a cursor; every
// read checks the end first, and nothing is buffered beyond the bounded items.
#include "lib/authres/authres_parser.hpp"

#include <utility>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_keyword_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
}
// RFC 2045 token characters: CHAR except SPACE, CTLs and tspecials.
bool is_token_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '<':
    case '>':
    case '@':
    case ',':
    case ';':
    case ':':
    case '\\':
    case '"':
    case '/':
    case '[':
    case ']':
    case '?':
    case '=':
      return false;
    default:
      return true;
  }
}
// What a lenient pvalue may hold: visible characters but the ones that end or open something.
bool is_pvalue_char(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u == 0x7f) return false;
  return c != ';' && c != '(' && c != ')' && c != '"' && c != '\\';
}

class ValueReader {
 public:
  explicit ValueReader(std::string_view text) : text_(text) {}

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  void advance() { ++pos_; }

  // Folding white space and comments, any number, in any order. A line break counts only when
  // white space follows it (a fold) or it ends the value.
  Status skip_cfws() {
    while (!at_end()) {
      char c = text_[pos_];
      if (is_wsp(c)) {
        ++pos_;
      } else if (c == '\r' || c == '\n') {
        size_t next =
            pos_ + (c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n' ? 2 : 1);
        if (next < text_.size() && !is_wsp(text_[next])) {
          return Error::parse("line break without folding white space");
        }
        pos_ = next;
      } else if (c == '(') {
        Status skipped = skip_comment();
        if (!skipped) return skipped;
      } else {
        break;
      }
    }
    return Status::success();
  }

  Result<std::string> keyword() {
    size_t start = pos_;
    while (!at_end() && is_keyword_char(text_[pos_])) {
      ++pos_;
      if (pos_ - start > kMaxAuthResItemBytes) return Error::limit("keyword too long");
    }
    if (pos_ == start) return Error::parse("keyword expected");
    return ascii_lowercase(text_.substr(start, pos_ - start));
  }

  Result<std::string> digits() {
    size_t start = pos_;
    while (!at_end() && is_digit(text_[pos_])) {
      ++pos_;
      if (pos_ - start > kMaxAuthResItemBytes) return Error::limit("number too long");
    }
    if (pos_ == start) return Error::parse("digits expected");
    return std::string(text_.substr(start, pos_ - start));
  }

  // RFC 2045 value: token / quoted-string.
  Result<std::string> value() {
    if (peek() == '"') return quoted_string();
    size_t start = pos_;
    while (!at_end() && is_token_char(text_[pos_])) {
      ++pos_;
      if (pos_ - start > kMaxAuthResItemBytes) return Error::limit("value too long");
    }
    if (pos_ == start) return Error::parse("value expected");
    return std::string(text_.substr(start, pos_ - start));
  }

  // RFC 8601 pvalue, leniently: a quoted-string (optionally followed by @domain), or a run of
  // visible characters (which covers tokens, addr-specs and unquoted base64).
  Result<std::string> pvalue() {
    std::string out;
    if (peek() == '"') {
      Result<std::string> local = quoted_string();
      if (!local) return local.error();
      out = std::move(*local);
      if (peek() != '@') return out;
    }
    size_t start = pos_;
    while (!at_end() && is_pvalue_char(text_[pos_])) {
      ++pos_;
      if (out.size() + pos_ - start > kMaxAuthResItemBytes) {
        return Error::limit("property value too long");
      }
    }
    out.append(text_.substr(start, pos_ - start));
    return out;
  }

 private:
  Status skip_comment() {
    size_t depth = 0;
    while (!at_end()) {
      char c = text_[pos_++];
      if (c == '(') {
        if (++depth > kMaxAuthResCommentDepth) return Error::limit("comments nested too deep");
      } else if (c == ')') {
        if (--depth == 0) return Status::success();
      } else if (c == '\\') {
        if (at_end()) break;
        ++pos_;
      }
    }
    return Error::parse("unterminated comment");
  }

  Result<std::string> quoted_string() {
    ++pos_;  // the opening quote
    std::string out;
    while (!at_end()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) break;
        c = text_[pos_++];
      } else if (c == '\r' || c == '\n') {
        continue;  // a fold inside the string: the white space after it stays
      }
      if (out.size() >= kMaxAuthResItemBytes) return Error::limit("quoted string too long");
      out += c;
    }
    return Error::parse("unterminated quoted string");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

Status expect(ValueReader& reader, char c, const char* what) {
  if (reader.peek() != c) return Error::parse(what);
  reader.advance();
  return Status::success();
}

#define POSTERN_AUTHRES_TRY(expr)         \
  do {                                    \
    Status status_ = (expr);              \
    if (!status_) return status_.error(); \
  } while (0)

#define POSTERN_AUTHRES_ASSIGN(target, expr) \
  do {                                       \
    auto result_ = (expr);                   \
    if (!result_) return result_.error();    \
    target = std::move(*result_);            \
  } while (0)

Result<uint32_t> read_arc_instance(ValueReader& reader) {
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  std::string tag;
  POSTERN_AUTHRES_ASSIGN(tag, reader.keyword());
  if (tag != "i") return Error::parse("ARC-Authentication-Results must start with i=");
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  POSTERN_AUTHRES_TRY(expect(reader, '=', "= expected after i"));
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  std::string number;
  POSTERN_AUTHRES_ASSIGN(number, reader.digits());
  if (number.size() > 2) return Error::parse("i= out of range");
  uint32_t instance = static_cast<uint32_t>(std::stoul(number));
  if (instance < 1 || instance > kMaxArcInstance) return Error::parse("i= out of range");
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  POSTERN_AUTHRES_TRY(expect(reader, ';', "; expected after i="));
  return instance;
}

// After "method[/version]=result": an optional reason, then properties, up to ';' or the end.
Status read_resinfo_tail(ValueReader& reader, AuthResultsInfo& info) {
  while (true) {
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
    if (reader.at_end() || reader.peek() == ';') return Status::success();
    std::string name;
    POSTERN_AUTHRES_ASSIGN(name, reader.keyword());
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
    if (reader.peek() == '=' && name == "reason" && info.reason.empty() &&
        info.properties.empty()) {
      reader.advance();
      POSTERN_AUTHRES_TRY(reader.skip_cfws());
      POSTERN_AUTHRES_ASSIGN(info.reason, reader.value());
      continue;
    }
    POSTERN_AUTHRES_TRY(expect(reader, '.', "property expected (ptype.property=value)"));
    if (info.properties.size() >= kMaxAuthResProperties) {
      return Error::limit("too many properties in one result");
    }
    AuthResultsProperty property;
    property.ptype = std::move(name);
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
    POSTERN_AUTHRES_ASSIGN(property.property, reader.keyword());
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
    POSTERN_AUTHRES_TRY(expect(reader, '=', "= expected after the property"));
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
    POSTERN_AUTHRES_ASSIGN(property.value, reader.pvalue());
    info.properties.push_back(std::move(property));
  }
}

// One clause after a ';': "none" (only as the whole list) or method[/version]=result ...
Result<bool> read_resinfo(ValueReader& reader, AuthResults& out) {
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  if (reader.at_end() && !out.results.empty()) return false;  // a trailing ';'
  AuthResultsInfo info;
  POSTERN_AUTHRES_ASSIGN(info.method, reader.keyword());
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  if (info.method == "none" && out.results.empty() && reader.at_end()) return false;
  if (reader.peek() == '/') {
    reader.advance();
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
    POSTERN_AUTHRES_ASSIGN(info.method_version, reader.digits());
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
  }
  POSTERN_AUTHRES_TRY(expect(reader, '=', "= expected after the method"));
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  POSTERN_AUTHRES_ASSIGN(info.result, reader.keyword());
  POSTERN_AUTHRES_TRY(read_resinfo_tail(reader, info));
  if (out.results.size() >= kMaxAuthResInfos) return Error::limit("too many results");
  out.results.push_back(std::move(info));
  return true;
}

}  // namespace

Result<AuthResults> parse_auth_results(std::string_view value, AuthResultsKind kind) {
  if (value.size() > kMaxAuthResValueBytes) return Error::limit("header value too long");
  ValueReader reader(value);
  AuthResults out;
  if (kind == AuthResultsKind::kArcAuthenticationResults) {
    POSTERN_AUTHRES_ASSIGN(out.arc_instance, read_arc_instance(reader));
  }
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  POSTERN_AUTHRES_ASSIGN(out.authserv_id, reader.value());
  if (out.authserv_id.empty()) return Error::parse("empty authserv-id");
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  if (is_digit(reader.peek())) {
    POSTERN_AUTHRES_ASSIGN(out.version, reader.digits());
    POSTERN_AUTHRES_TRY(reader.skip_cfws());
  }
  POSTERN_AUTHRES_TRY(expect(reader, ';', "; expected after the authserv-id"));
  while (true) {
    bool more = false;
    POSTERN_AUTHRES_ASSIGN(more, read_resinfo(reader, out));
    if (!more) break;
    if (reader.at_end()) break;
    POSTERN_AUTHRES_TRY(expect(reader, ';', "; expected between results"));
  }
  POSTERN_AUTHRES_TRY(reader.skip_cfws());
  if (!reader.at_end()) return Error::parse("text after the results");
  return out;
}

bool claims_authserv_id(std::string_view header_value, std::string_view our_id) {
  Result<AuthResults> parsed = parse_auth_results(header_value);
  if (parsed) return ascii_iequals(parsed->authserv_id, our_id);
  // The safe way for a value that does not parse: judge it by its first token (or
  // quoted-string), so a broken header naming us is removed too.
  std::string_view limited = header_value.substr(0, kMaxAuthResValueBytes);
  ValueReader reader(limited);
  if (!reader.skip_cfws()) return false;
  Result<std::string> first = reader.value();
  return first && ascii_iequals(*first, our_id);
}

}  // namespace postern

#undef POSTERN_AUTHRES_TRY
#undef POSTERN_AUTHRES_ASSIGN
