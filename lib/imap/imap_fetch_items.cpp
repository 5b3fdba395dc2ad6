// FETCH data items from the command's token tree: macros, simple items, BODY[section]<p.n>,
// BINARY[part], MODSEQ and the CHANGEDSINCE/VANISHED modifiers. See imap_fetch_items.hpp.
#include "lib/imap/imap_fetch_items.hpp"

#include <string_view>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

// RFC 3501 atom-char minus the ones a field name cannot hold (':' ends a field name).
bool field_name_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  switch (c) {
    case '(':
    case ')':
    case '{':
    case '%':
    case '*':
    case '"':
    case '\\':
    case ']':
    case ':':
      return false;
    default:
      return true;
  }
}

bool starts_with_word(std::string_view text, std::string_view word) {
  return text.size() >= word.size() && ascii_iequals(text.substr(0, word.size()), word);
}

// A decimal number of at most 32 bits at text[pos...]; advances pos. nz: 0 is refused.
std::optional<uint32_t> read_number(std::string_view text, size_t& pos, bool nz) {
  size_t start = pos;
  uint64_t value = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    value = value * 10 + static_cast<uint64_t>(text[pos] - '0');
    if (value > UINT32_MAX) return std::nullopt;
    ++pos;
  }
  if (pos == start) return std::nullopt;
  if (nz && value == 0) return std::nullopt;
  return static_cast<uint32_t>(value);
}

// The header-list "(A "B" C)" of HEADER.FIELDS, from text[pos] to the end of text.
Result<std::vector<std::string>> parse_header_list(std::string_view text, size_t pos,
                                                   const FetchLimits& limits) {
  std::vector<std::string> fields;
  if (pos >= text.size() || text[pos] != '(') return Error::parse("header list expected");
  ++pos;
  while (true) {
    if (pos >= text.size()) return Error::parse("unterminated header list");
    if (text[pos] == ')') {
      if (fields.empty()) return Error::parse("empty header list");
      if (pos + 1 != text.size()) return Error::parse("junk after header list");
      return fields;
    }
    if (!fields.empty()) {
      if (text[pos] != ' ') return Error::parse("invalid header list");
      ++pos;
    }
    if (fields.size() >= limits.max_header_fields) return Error::limit("too many header fields");
    std::string name;
    if (pos < text.size() && text[pos] == '"') {
      ++pos;
      while (pos < text.size() && text[pos] != '"') {
        if (text[pos] == '\\' && pos + 1 < text.size()) ++pos;
        name += text[pos++];
      }
      if (pos >= text.size()) return Error::parse("unterminated quoted field name");
      ++pos;
      for (char c : name) {
        if (!field_name_char(c)) return Error::parse("invalid header field name");
      }
    } else {
      while (pos < text.size() && field_name_char(text[pos])) name += text[pos++];
    }
    if (name.empty()) return Error::parse("invalid header field name");
    fields.push_back(ascii_uppercase(name));
  }
}

// "<offset.length>" at text[pos...] to the end of text.
Status parse_partial(std::string_view text, size_t pos, FetchItem& item) {
  if (pos == text.size()) return Status::success();
  if (text[pos] != '<' || text.back() != '>') return Error::parse("invalid partial");
  std::string_view inner = text.substr(pos + 1, text.size() - pos - 2);
  size_t at = 0;
  std::optional<uint32_t> offset = read_number(inner, at, false);
  if (!offset || at >= inner.size() || inner[at] != '.') return Error::parse("invalid partial");
  ++at;
  std::optional<uint32_t> length = read_number(inner, at, true);
  if (!length || at != inner.size()) return Error::parse("invalid partial");
  item.partial_offset = *offset;
  item.partial_length = *length;
  return Status::success();
}

void add_simple(std::vector<FetchItem>& out, FetchItemKind kind, std::string_view name) {
  FetchItem item;
  item.kind = kind;
  item.response_name = std::string(name);
  out.push_back(std::move(item));
}

// One item atom (not a macro).
Result<FetchItem> parse_item(std::string_view text, const FetchLimits& limits) {
  struct Simple {
    std::string_view name;
    FetchItemKind kind;
  };
  static constexpr Simple kSimple[] = {
      {"FLAGS", FetchItemKind::kFlags},
      {"INTERNALDATE", FetchItemKind::kInternalDate},
      {"RFC822", FetchItemKind::kRfc822},
      {"RFC822.HEADER", FetchItemKind::kRfc822Header},
      {"RFC822.SIZE", FetchItemKind::kRfc822Size},
      {"RFC822.TEXT", FetchItemKind::kRfc822Text},
      {"ENVELOPE", FetchItemKind::kEnvelope},
      {"BODY", FetchItemKind::kBody},
      {"BODYSTRUCTURE", FetchItemKind::kBodyStructure},
      {"UID", FetchItemKind::kUid},
      {"MODSEQ", FetchItemKind::kModSeq},
  };
  FetchItem item;
  for (const Simple& simple : kSimple) {
    if (ascii_iequals(text, simple.name)) {
      item.kind = simple.kind;
      item.response_name = std::string(simple.name);
      if (simple.kind == FetchItemKind::kRfc822Header) {
        item.peek = true;
        item.section.text = MimeSection::Text::kHeader;
      } else if (simple.kind == FetchItemKind::kRfc822Text) {
        item.section.text = MimeSection::Text::kText;
      }
      return item;
    }
  }
  struct Sectioned {
    std::string_view prefix;  // up to and including '['
    FetchItemKind kind;
    bool peek;
    std::string_view response;  // response prefix, with '['
  };
  static constexpr Sectioned kSectioned[] = {
      {"BODY[", FetchItemKind::kBodySection, false, "BODY["},
      {"BODY.PEEK[", FetchItemKind::kBodySection, true, "BODY["},
      {"BINARY[", FetchItemKind::kBinary, false, "BINARY["},
      {"BINARY.PEEK[", FetchItemKind::kBinary, true, "BINARY["},
      {"BINARY.SIZE[", FetchItemKind::kBinarySize, true, "BINARY.SIZE["},
  };
  for (const Sectioned& form : kSectioned) {
    if (!starts_with_word(text, form.prefix)) continue;
    // The section ends at the first ']' outside a quoted string.
    size_t pos = form.prefix.size();
    bool quoted = false;
    while (pos < text.size() && (quoted || text[pos] != ']')) {
      if (quoted && text[pos] == '\\') {
        ++pos;
      } else if (text[pos] == '"') {
        quoted = !quoted;
      }
      ++pos;
    }
    if (pos >= text.size()) return Error::parse("unterminated section");
    std::string_view spec = text.substr(form.prefix.size(), pos - form.prefix.size());
    Result<MimeSection> section =
        parse_section_spec(spec, form.kind != FetchItemKind::kBodySection, limits);
    if (!section) return section.error();
    item.kind = form.kind;
    item.peek = form.peek;
    item.section = std::move(*section);
    if (form.kind == FetchItemKind::kBinarySize) {
      if (pos + 1 != text.size()) return Error::parse("BINARY.SIZE takes no partial");
    } else {
      Status partial = parse_partial(text, pos + 1, item);
      if (!partial) return partial.error();
    }
    item.response_name = std::string(form.response) + format_section_spec(item.section) + "]";
    if (item.partial_offset) item.response_name += "<" + std::to_string(*item.partial_offset) + ">";
    return item;
  }
  return Error::parse("unknown FETCH item");
}

Status parse_modifiers(const ImapToken& modifiers, FetchRequest& request) {
  if (modifiers.kind != ImapToken::Kind::kList || modifiers.children.empty()) {
    return Error::parse("invalid FETCH modifiers");
  }
  const std::vector<ImapToken>& list = modifiers.children;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].is_word("CHANGEDSINCE")) {
      if (request.changed_since || i + 1 >= list.size() || !list[i + 1].is_atom()) {
        return Error::parse("invalid CHANGEDSINCE");
      }
      const std::string& digits = list[++i].text;
      uint64_t value = 0;
      if (digits.empty() || digits.size() > 20) return Error::parse("invalid CHANGEDSINCE");
      for (char c : digits) {
        if (c < '0' || c > '9') return Error::parse("invalid CHANGEDSINCE");
        uint64_t digit = static_cast<uint64_t>(c - '0');
        // mod-sequence-value is at most 2^63 - 1 (RFC 7162 7).
        if (value > (INT64_MAX - digit) / 10) return Error::parse("invalid CHANGEDSINCE");
        value = value * 10 + digit;
      }
      request.changed_since = value;
    } else if (list[i].is_word("VANISHED")) {
      if (request.vanished) return Error::parse("duplicate VANISHED");
      request.vanished = true;
    } else {
      return Error::parse("unknown FETCH modifier");
    }
  }
  if (request.vanished && !request.changed_since) {
    return Error::parse("VANISHED needs CHANGEDSINCE");
  }
  return Status::success();
}

void add_unique(std::vector<FetchItem>& items, FetchItem item) {
  for (FetchItem& have : items) {
    if (have.kind == item.kind && have.response_name == item.response_name) {
      if (!item.peek) have.peek = false;
      return;
    }
  }
  items.push_back(std::move(item));
}

}  // namespace

bool FetchItem::sets_seen() const {
  switch (kind) {
    case FetchItemKind::kRfc822:
    case FetchItemKind::kRfc822Text:
      return true;
    case FetchItemKind::kBodySection:
    case FetchItemKind::kBinary:
      return !peek;
    default:
      return false;
  }
}

bool FetchItem::needs_message() const {
  switch (kind) {
    case FetchItemKind::kRfc822:
    case FetchItemKind::kRfc822Header:
    case FetchItemKind::kRfc822Text:
    case FetchItemKind::kBodySection:
    case FetchItemKind::kBinary:
    case FetchItemKind::kBinarySize:
      return true;
    default:
      return false;
  }
}

bool FetchRequest::has(FetchItemKind kind) const {
  for (const FetchItem& item : items) {
    if (item.kind == kind) return true;
  }
  return false;
}

Result<MimeSection> parse_section_spec(std::string_view text, bool binary,
                                       const FetchLimits& limits) {
  MimeSection section;
  size_t pos = 0;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    if (section.part.size() >= limits.max_section_parts) {
      return Error::limit("section nested too deep");
    }
    std::optional<uint32_t> number = read_number(text, pos, true);
    if (!number) return Error::parse("invalid section part number");
    section.part.push_back(*number);
    if (pos == text.size()) return section;
    if (text[pos] != '.') return Error::parse("invalid section");
    ++pos;
    if (pos == text.size()) return Error::parse("invalid section");
  }
  if (pos == text.size()) return section;  // "" : the whole message
  if (binary) return Error::parse("BINARY takes part numbers only");
  std::string_view rest = text.substr(pos);
  if (ascii_iequals(rest, "HEADER")) {
    section.text = MimeSection::Text::kHeader;
  } else if (ascii_iequals(rest, "TEXT")) {
    section.text = MimeSection::Text::kText;
  } else if (ascii_iequals(rest, "MIME")) {
    if (section.part.empty()) return Error::parse("MIME needs a part number");
    section.text = MimeSection::Text::kMime;
  } else {
    size_t after = 0;
    if (starts_with_word(rest, "HEADER.FIELDS.NOT ")) {
      section.text = MimeSection::Text::kHeaderFieldsNot;
      after = 18;
    } else if (starts_with_word(rest, "HEADER.FIELDS ")) {
      section.text = MimeSection::Text::kHeaderFields;
      after = 14;
    } else {
      return Error::parse("invalid section");
    }
    Result<std::vector<std::string>> fields = parse_header_list(rest, after, limits);
    if (!fields) return fields.error();
    section.fields = std::move(*fields);
  }
  return section;
}

std::string format_section_spec(const MimeSection& section) {
  std::string text;
  for (uint32_t number : section.part) {
    if (!text.empty()) text += '.';
    text += std::to_string(number);
  }
  std::string_view keyword;
  switch (section.text) {
    case MimeSection::Text::kAll:
      return text;
    case MimeSection::Text::kHeader:
      keyword = "HEADER";
      break;
    case MimeSection::Text::kHeaderFields:
      keyword = "HEADER.FIELDS";
      break;
    case MimeSection::Text::kHeaderFieldsNot:
      keyword = "HEADER.FIELDS.NOT";
      break;
    case MimeSection::Text::kText:
      keyword = "TEXT";
      break;
    case MimeSection::Text::kMime:
      keyword = "MIME";
      break;
  }
  if (!text.empty()) text += '.';
  text += keyword;
  if (section.text == MimeSection::Text::kHeaderFields ||
      section.text == MimeSection::Text::kHeaderFieldsNot) {
    text += " (";
    for (size_t i = 0; i < section.fields.size(); ++i) {
      if (i) text += ' ';
      text += section.fields[i];
    }
    text += ')';
  }
  return text;
}

Result<FetchRequest> parse_fetch_items(const ImapToken& items, const ImapToken* modifiers,
                                       const FetchLimits& limits) {
  FetchRequest request;
  if (items.is_atom()) {
    std::string_view word = items.text;
    if (ascii_iequals(word, "ALL") || ascii_iequals(word, "FAST") || ascii_iequals(word, "FULL")) {
      add_simple(request.items, FetchItemKind::kFlags, "FLAGS");
      add_simple(request.items, FetchItemKind::kInternalDate, "INTERNALDATE");
      add_simple(request.items, FetchItemKind::kRfc822Size, "RFC822.SIZE");
      if (!ascii_iequals(word, "FAST")) {
        add_simple(request.items, FetchItemKind::kEnvelope, "ENVELOPE");
      }
      if (ascii_iequals(word, "FULL")) add_simple(request.items, FetchItemKind::kBody, "BODY");
      if (request.items.size() > limits.max_items) return Error::limit("too many FETCH items");
    } else {
      Result<FetchItem> item = parse_item(word, limits);
      if (!item) return item.error();
      if (limits.max_items == 0) return Error::limit("too many FETCH items");
      request.items.push_back(std::move(*item));
    }
  } else if (items.kind == ImapToken::Kind::kList) {
    if (items.children.empty()) return Error::parse("empty FETCH item list");
    if (items.children.size() > limits.max_items) return Error::limit("too many FETCH items");
    for (const ImapToken& child : items.children) {
      if (!child.is_atom()) return Error::parse("invalid FETCH item");
      Result<FetchItem> item = parse_item(child.text, limits);
      if (!item) return item.error();
      add_unique(request.items, std::move(*item));
    }
  } else {
    return Error::parse("invalid FETCH items");
  }
  if (modifiers != nullptr) {
    Status status = parse_modifiers(*modifiers, request);
    if (!status) return status.error();
  }
  return request;
}

}  // namespace postern
