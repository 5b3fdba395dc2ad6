// RFC 6376 3.2 tag lists, parsed in one pass with the limits of dkim_tag_list.hpp. Input is a
// header field value or a DNS TXT record: hostile. Whitespace is SP, TAB and line breaks (the
// milter hands folded header values over with CRLF or LF).
#include "lib/dkim/dkim_tag_list.hpp"

namespace postern {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
// tval characters: VCHAR except ';' (RFC 6376 3.2, %x21-3A / %x3C-7E).
bool is_value_char(char c) {
  return c >= 0x21 && c <= 0x7e && c != ';';
}

size_t skip_space(std::string_view text, size_t at) {
  while (at < text.size() && is_space(text[at])) ++at;
  return at;
}

}  // namespace

Result<DkimTagList> DkimTagList::parse(std::string_view text) {
  DkimTagList list;
  size_t at = skip_space(text, 0);
  if (at == text.size()) return list;
  while (true) {
    // tag-name = ALPHA *ALNUMPUNC
    size_t name_begin = at;
    if (at >= text.size() || !is_alpha(text[at])) return Error::parse("tag name expected");
    while (at < text.size() && (is_alpha(text[at]) || is_digit(text[at]) || text[at] == '_')) {
      ++at;
    }
    if (at - name_begin > kMaxDkimTagNameBytes) return Error::limit("tag name too long");
    std::string name(text.substr(name_begin, at - name_begin));
    at = skip_space(text, at);
    if (at >= text.size() || text[at] != '=') return Error::parse("'=' expected after " + name);
    ++at;
    size_t raw_begin = at;
    at = skip_space(text, at);
    size_t value_begin = at;
    size_t value_end = at;
    while (at < text.size() && text[at] != ';') {
      if (is_value_char(text[at])) {
        ++at;
        value_end = at;
      } else if (is_space(text[at])) {
        ++at;
      } else {
        return Error::parse("bad character in the value of " + name);
      }
    }
    if (value_end - value_begin > kMaxDkimTagValueBytes) {
      return Error::limit("value of " + name + " too long");
    }
    for (const DkimTag& tag : list.tags_) {
      if (tag.name == name) return Error::parse("tag " + name + " given twice");
    }
    if (list.tags_.size() == kMaxDkimTags) return Error::limit("too many tags");
    list.tags_.push_back(DkimTag{std::move(name),
                                 std::string(text.substr(value_begin, value_end - value_begin)),
                                 raw_begin, at});
    if (at == text.size()) break;
    ++at;  // ';'
    at = skip_space(text, at);
    if (at == text.size()) break;  // a final ';' is allowed
  }
  return list;
}

const DkimTag* DkimTagList::find(std::string_view name) const {
  for (const DkimTag& tag : tags_) {
    if (tag.name == name) return &tag;
  }
  return nullptr;
}

std::string dkim_strip_whitespace(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (!is_space(c)) out += c;
  }
  return out;
}

std::vector<std::string> dkim_split_colon_list(std::string_view value) {
  std::vector<std::string> items;
  size_t start = 0;
  while (true) {
    size_t colon = value.find(':', start);
    std::string_view item = value.substr(
        start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    size_t b = 0;
    size_t e = item.size();
    while (b < e && is_space(item[b])) ++b;
    while (e > b && is_space(item[e - 1])) --e;
    items.emplace_back(item.substr(b, e - b));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  return items;
}

Result<uint64_t> dkim_parse_digits(std::string_view text, size_t max_digits, const char* tag) {
  if (text.empty()) return Error::parse(std::string(tag) + " is empty");
  if (text.size() > max_digits) return Error::limit(std::string(tag) + " has too many digits");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return Error::parse(std::string(tag) + " is not a number");
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

}  // namespace postern
