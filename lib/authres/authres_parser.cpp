// Reads Authentication-Results and ARC-Authentication-Results values: see authres_parser.hpp
// for the grammar's leniencies and the limits. One pass over the value with a cursor that keeps
// its first error: once it has failed it reads as the end of the value, so the grammar below
// reads straight through and checks failed() where it decides. Every read checks the end
// first, and nothing is buffered beyond the bounded items.
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
// RFC 8601 Keyword (ldh-str), with '_' tolerated as some verifiers write it.
bool is_keyword_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' || c == '_';
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

  bool failed() const { return failed_; }
  const Error& error() const { return error_; }
  bool at_end() const { return failed_ || pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }

  void fail(Error error) {
    if (failed_) return;
    failed_ = true;
    error_ = std::move(error);
  }

  // Consumes c, or fails with what.
  void expect(char c, const char* what) {
    if (peek() != c) return fail(Error::parse(what));
    ++pos_;
  }

  // Folding white space and comments, any number, in any order. A line break counts only when
  // white space follows it (a fold) or it ends the value.
  void skip_cfws() {
    while (!at_end()) {
      char c = text_[pos_];
      if (is_wsp(c)) {
        ++pos_;
      } else if (c == '\r' || c == '\n') {
        bool crlf = c == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n';
        size_t next = pos_ + (crlf ? 2 : 1);
        if (next < text_.size() && !is_wsp(text_[next])) {
          return fail(Error::parse("line break without folding white space"));
        }
        pos_ = next;
      } else if (c == '(') {
        skip_comment();
      } else {
        return;
      }
    }
  }

  std::string keyword() {
    std::string_view run = take_run(is_keyword_char, "keyword");
    return ascii_lowercase(run);
  }

  std::string digits() { return std::string(take_run(is_digit, "number")); }

  // RFC 2045 value: token / quoted-string.
  std::string value() {
    if (peek() == '"') return quoted_string();
    return std::string(take_run(is_authres_token_char, "value"));
  }

  // RFC 8601 pvalue, leniently: a quoted-string (optionally followed by @domain), or a run of
  // visible characters (which covers tokens, addr-specs and unquoted base64). May be empty.
  std::string pvalue() {
    std::string out;
    if (peek() == '"') {
      out = quoted_string();
      if (peek() != '@') return out;
    }
    size_t start = pos_;
    while (!at_end() && is_pvalue_char(text_[pos_])) {
      if (out.size() + pos_ - start >= kMaxAuthResItemBytes) {
        fail(Error::limit("property value too long"));
        return out;
      }
      ++pos_;
    }
    out.append(text_.substr(start, pos_ - start));
    return out;
  }

 private:
  // A non-empty run of characters of one class, at most kMaxAuthResItemBytes long.
  std::string_view take_run(bool (*in_class)(char), const char* what) {
    size_t start = pos_;
    while (!at_end() && in_class(text_[pos_])) {
      if (pos_ - start >= kMaxAuthResItemBytes) {
        fail(Error::limit(std::string(what) + " too long"));
        return {};
      }
      ++pos_;
    }
    if (pos_ == start) fail(Error::parse(std::string(what) + " expected"));
    return text_.substr(start, pos_ - start);
  }

  void skip_comment() {
    size_t depth = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '(') {
        if (++depth > kMaxAuthResCommentDepth)
          return fail(Error::limit("comments nested too deep"));
      } else if (c == ')') {
        if (--depth == 0) return;
      } else if (c == '\\') {
        if (pos_ >= text_.size()) break;
        ++pos_;
      }
    }
    fail(Error::parse("unterminated comment"));
  }

  std::string quoted_string() {
    ++pos_;  // the opening quote
    std::string out;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (pos_ >= text_.size()) break;
        c = text_[pos_++];
      } else if (c == '\r' || c == '\n') {
        continue;  // a fold inside the string: the white space after it stays
      }
      if (out.size() >= kMaxAuthResItemBytes) {
        fail(Error::limit("quoted string too long"));
        return out;
      }
      out += c;
    }
    fail(Error::parse("unterminated quoted string"));
    return out;
  }

  std::string_view text_;
  size_t pos_ = 0;
  bool failed_ = false;
  Error error_;
};

// "i=N;" before an ARC-Authentication-Results payload (RFC 8617 4.1.1), N in 1..50.
uint32_t read_arc_instance(ValueReader& reader) {
  reader.skip_cfws();
  if (reader.keyword() != "i" && !reader.failed()) {
    reader.fail(Error::parse("ARC-Authentication-Results must start with i="));
  }
  reader.skip_cfws();
  reader.expect('=', "= expected after i");
  reader.skip_cfws();
  std::string number = reader.digits();
  reader.skip_cfws();
  reader.expect(';', "; expected after i=");
  if (reader.failed()) return 0;
  uint32_t instance = number.size() <= 2 ? static_cast<uint32_t>(std::stoul(number)) : 0;
  if (instance < 1 || instance > kMaxArcInstance) reader.fail(Error::parse("i= out of range"));
  return instance;
}

// After "method[/version]=result": an optional reason, then properties, up to ';' or the end.
void read_resinfo_tail(ValueReader& reader, AuthResultsInfo& info) {
  while (true) {
    reader.skip_cfws();
    if (reader.at_end() || reader.peek() == ';') return;
    std::string name = reader.keyword();
    reader.skip_cfws();
    if (reader.peek() == '=' && name == "reason" && info.reason.empty() &&
        info.properties.empty()) {
      reader.expect('=', "=");
      reader.skip_cfws();
      info.reason = reader.value();
      continue;
    }
    reader.expect('.', "property expected (ptype.property=value)");
    if (reader.failed()) return;
    if (info.properties.size() >= kMaxAuthResProperties) {
      return reader.fail(Error::limit("too many properties in one result"));
    }
    AuthResultsProperty property;
    property.ptype = std::move(name);
    reader.skip_cfws();
    property.property = reader.keyword();
    reader.skip_cfws();
    reader.expect('=', "= expected after the property");
    reader.skip_cfws();
    property.value = reader.pvalue();
    info.properties.push_back(std::move(property));
  }
}

// One clause after a ';': "none" (only as the whole list) or method[/version]=result ...
// False when there was no clause (the "none" of an empty list, or a trailing ';').
bool read_resinfo(ValueReader& reader, AuthResults& out) {
  reader.skip_cfws();
  if (reader.at_end() && !reader.failed() && !out.results.empty()) return false;
  AuthResultsInfo info;
  info.method = reader.keyword();
  reader.skip_cfws();
  if (info.method == "none" && out.results.empty() && reader.at_end()) return false;
  if (reader.peek() == '/') {
    reader.expect('/', "/");
    reader.skip_cfws();
    info.method_version = reader.digits();
    reader.skip_cfws();
  }
  reader.expect('=', "= expected after the method");
  reader.skip_cfws();
  info.result = reader.keyword();
  read_resinfo_tail(reader, info);
  if (reader.failed()) return false;
  if (out.results.size() >= kMaxAuthResInfos) {
    reader.fail(Error::limit("too many results"));
    return false;
  }
  out.results.push_back(std::move(info));
  return true;
}

}  // namespace

Result<AuthResults> parse_auth_results(std::string_view value, AuthResultsKind kind) {
  if (value.size() > kMaxAuthResValueBytes) return Error::limit("header value too long");
  ValueReader reader(value);
  AuthResults out;
  if (kind == AuthResultsKind::kArcAuthenticationResults) {
    out.arc_instance = read_arc_instance(reader);
  }
  reader.skip_cfws();
  out.authserv_id = reader.value();
  if (out.authserv_id.empty()) reader.fail(Error::parse("empty authserv-id"));
  reader.skip_cfws();
  if (is_digit(reader.peek())) {
    out.version = reader.digits();
    reader.skip_cfws();
  }
  reader.expect(';', "; expected after the authserv-id");
  while (read_resinfo(reader, out) && !reader.at_end()) {
    reader.expect(';', "; expected between results");
  }
  reader.skip_cfws();
  if (!reader.failed() && !reader.at_end()) reader.fail(Error::parse("text after the results"));
  if (reader.failed()) return reader.error();
  return out;
}

bool claims_authserv_id(std::string_view header_value, std::string_view our_id) {
  Result<AuthResults> parsed = parse_auth_results(header_value);
  if (parsed) return ascii_iequals(parsed->authserv_id, our_id);
  // The safe way for a value that does not parse: judge it by its first token (or
  // quoted-string), so a broken header naming us is removed too.
  ValueReader reader(header_value.substr(0, kMaxAuthResValueBytes));
  reader.skip_cfws();
  std::string first = reader.value();
  return !reader.failed() && ascii_iequals(first, our_id);
}

}  // namespace postern
