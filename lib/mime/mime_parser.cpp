// The MIME structure parser (lib/mime/mime_parser.hpp), used by imapd (and later the milters). The
// message is hostile: nothing here fails, malformed structure degrades to opaque bytes. Limits:
// MimeLimits (depth, parts, header fields per part); comments in structured fields nest at most
// kMaxCommentNesting deep (counted, not recursive). One forward pass over the lines; a line that
// starts with "--" is compared with the boundaries of the open multiparts (at most max_depth of
// them), so the work is linear in the message size times a bounded factor.
#include "lib/mime/mime_parser.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

#include "lib/base/ascii.hpp"

namespace postern {

namespace {

constexpr int kMaxCommentNesting = 64;
constexpr size_t kMaxContinuations = 1000;  // RFC 2231 pieces kept per parameter list

bool is_wsp(char c) {
  return c == ' ' || c == '\t';
}
bool is_lwsp(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// RFC 2045 token characters: printable ASCII except tspecials and SP.
bool is_token_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 32 || u >= 127) return false;
  return std::strchr("()<>@,;:\\\"/[]?=", c) == nullptr;
}

struct Line {
  size_t start;
  size_t content_end;  // without CR LF / LF
  size_t next;         // start of the following line
};

Line line_at(std::string_view text, size_t pos) {
  const void* lf = std::memchr(text.data() + pos, '\n', text.size() - pos);
  if (lf == nullptr) return Line{pos, text.size(), text.size()};
  size_t at = static_cast<size_t>(static_cast<const char*>(lf) - text.data());
  size_t content_end = (at > pos && text[at - 1] == '\r') ? at - 1 : at;
  return Line{pos, content_end, at + 1};
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_lwsp(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_lwsp(text.back())) text.remove_suffix(1);
  return text;
}

// The value unfolded (CR and LF dropped) and trimmed.
std::string unfold(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : trim(value)) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
  return out;
}

// Reads the tokens of a structured MIME field (Content-Type, Content-Disposition,
// Content-Language): CFWS is skipped, quoted strings unquoted.
class FieldLexer {
 public:
  explicit FieldLexer(std::string_view text) : text_(text) {}

  bool at_end() {
    skip_cfws();
    return pos_ >= text_.size();
  }
  // The next character after CFWS is c: consume it.
  bool accept(char c) {
    skip_cfws();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  std::optional<std::string> token() {
    skip_cfws();
    size_t start = pos_;
    while (pos_ < text_.size() && is_token_char(text_[pos_])) ++pos_;
    if (pos_ == start) return std::nullopt;
    return std::string(text_.substr(start, pos_ - start));
  }
  // A token or a quoted string (a parameter value). Tolerant: 8-bit bytes are taken as token
  // characters (raw UTF-8 file names are common).
  std::optional<std::string> value() {
    skip_cfws();
    if (pos_ < text_.size() && text_[pos_] == '"') return quoted();
    size_t start = pos_;
    while (pos_ < text_.size() &&
           (is_token_char(text_[pos_]) || static_cast<unsigned char>(text_[pos_]) >= 0x80)) {
      ++pos_;
    }
    if (pos_ == start) return std::nullopt;
    return std::string(text_.substr(start, pos_ - start));
  }
  // Skips one character (after CFWS): progress past garbage in a list.
  void skip_one() {
    skip_cfws();
    if (pos_ < text_.size()) ++pos_;
  }
  // Skips to the next ';' (not consumed) or the end: resynchronisation after garbage.
  void skip_to_semicolon() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (c == '"') {
        quoted();
        continue;
      }
      if (c == '(') {
        comment();
        continue;
      }
      if (c == ';') return;
      ++pos_;
    }
  }

 private:
  void skip_cfws() {
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (is_lwsp(c)) {
        ++pos_;
      } else if (c == '(') {
        comment();
      } else {
        break;
      }
    }
  }
  void comment() {
    int depth = 0;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '\\') {
        if (pos_ < text_.size()) ++pos_;
      } else if (c == '(') {
        ++depth;
        if (depth > kMaxCommentNesting) {  // give up on the rest
          pos_ = text_.size();
          return;
        }
      } else if (c == ')') {
        if (--depth <= 0) return;
      }
    }
  }
  std::string quoted() {
    std::string out;
    ++pos_;  // '"'
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\' && pos_ < text_.size()) {
        out.push_back(text_[pos_++]);
      } else if (c != '\r' && c != '\n') {
        out.push_back(c);
      }
    }
    return out;  // unterminated: what there was
  }

  std::string_view text_;
  size_t pos_ = 0;
};

// Parameters after the first ';'. RFC 2231 continuations ("name*0", "name*1*") are merged in
// their index order into one parameter, named "name*" when the first piece is extended (its
// value keeps the charset'lang'%XX form), "name" otherwise. Plain parameters come first, merged
// ones after, as Dovecot lists them.
std::vector<MimeParameter> read_parameters(FieldLexer& lexer) {
  std::vector<MimeParameter> plain;
  struct Piece {
    std::string base;
    unsigned index;
    bool extended;
    std::string value;
  };
  std::vector<Piece> pieces;
  while (!lexer.at_end()) {
    if (!lexer.accept(';')) {
      lexer.skip_to_semicolon();  // stops at a ';' (progress: the current one is not ';')
      continue;
    }
    if (lexer.at_end()) break;
    auto name = lexer.token();
    if (!name || !lexer.accept('=')) {
      lexer.skip_to_semicolon();
      continue;
    }
    auto value = lexer.value();
    if (!value) {
      lexer.skip_to_semicolon();
      continue;
    }
    // name*<digits>[*]: a continuation piece.
    size_t star = name->find('*');
    if (star != std::string::npos && star > 0 && star + 1 < name->size() &&
        std::isdigit(static_cast<unsigned char>((*name)[star + 1])) &&
        pieces.size() < kMaxContinuations) {
      size_t digits_end = star + 1;
      unsigned index = 0;
      while (digits_end < name->size() &&
             std::isdigit(static_cast<unsigned char>((*name)[digits_end])) && index < 100000) {
        index = index * 10 + static_cast<unsigned>((*name)[digits_end] - '0');
        ++digits_end;
      }
      bool extended = digits_end + 1 == name->size() && (*name)[digits_end] == '*';
      if (digits_end == name->size() || extended) {
        pieces.push_back(Piece{name->substr(0, star), index, extended, std::move(*value)});
        continue;
      }
    }
    if (star != std::string::npos && star > 0 && star + 1 == name->size() &&
        pieces.size() < kMaxContinuations) {  // "name*": one extended piece
      pieces.push_back(Piece{name->substr(0, star), 0, true, std::move(*value)});
      continue;
    }
    if (plain.size() < kMaxContinuations) {
      plain.push_back(MimeParameter{std::move(*name), std::move(*value)});
    }
  }
  // Merge the pieces, base by base in order of first appearance.
  std::stable_sort(pieces.begin(), pieces.end(), [](const Piece& a, const Piece& b) {
    return a.index < b.index;
  });
  std::vector<std::string> bases;
  for (const Piece& piece : pieces) {
    bool seen = false;
    for (const std::string& base : bases) seen = seen || ascii_iequals(base, piece.base);
    if (!seen) bases.push_back(piece.base);
  }
  for (const std::string& base : bases) {
    MimeParameter merged;
    bool first = true;
    for (const Piece& piece : pieces) {
      if (!ascii_iequals(piece.base, base)) continue;
      if (first) merged.name = piece.base + (piece.extended ? "*" : "");
      first = false;
      merged.value += piece.value;
    }
    plain.push_back(std::move(merged));
  }
  return plain;
}

void parse_content_type(std::string_view value, MimePart& part) {
  FieldLexer lexer(value);
  auto type = lexer.token();
  if (!type) return;
  std::string subtype;
  if (lexer.accept('/')) {
    auto sub = lexer.token();
    if (sub) subtype = std::move(*sub);
  } else if (!lexer.at_end()) {
    // "type;params" without a subtype: Dovecot shows "" "" and no parameters.
    part.type.clear();
    part.subtype.clear();
    part.type_defaulted = false;
    return;
  }
  part.type = std::move(*type);
  part.subtype = std::move(subtype);
  part.type_defaulted = false;
  part.type_params = read_parameters(lexer);
}

void parse_disposition(std::string_view value, MimePart& part) {
  FieldLexer lexer(value);
  auto token = lexer.token();
  if (!token) return;
  part.disposition = std::move(*token);
  part.disposition_params = read_parameters(lexer);
}

void parse_language(std::string_view value, MimePart& part) {
  FieldLexer lexer(value);
  while (!lexer.at_end() && part.languages.size() < kMaxContinuations) {
    if (lexer.accept(',')) continue;
    auto token = lexer.token();
    if (!token) {
      lexer.skip_one();
      continue;
    }
    part.languages.push_back(std::move(*token));
  }
}

// The first whitespace-free token of a value, comments skipped (Content-Transfer-Encoding).
std::string first_token(std::string_view value) {
  FieldLexer lexer(value);
  auto token = lexer.token();
  return token ? *token : unfold(value);
}

class Parser {
 public:
  Parser(std::string_view message, const MimeLimits& limits) : msg_(message), limits_(limits) {}

  MimeTree run() {
    uint32_t current = new_part(kNoMimePart, 0);
    open_.push_back(current);
    size_t pos = 0;
    while (true) {
      std::optional<Hit> hit = parse_header(current, pos);
      if (!hit) {
        MimePart& part = tree_.parts[current];
        std::optional<std::string_view> boundary = mime_param(part.type_params, "boundary");
        if (part.is_multipart() && can_nest(part)) {
          nest_.push_back(current);
          if (boundary && !boundary->empty()) {
            frames_.push_back(Frame{current, std::string(*boundary)});
          }
          hit = next_boundary(part.body_start);
        } else if ((part.is_type("message", "rfc822") || part.is_type("message", "global")) &&
                   can_nest(part) && tree_.parts.size() < limits_.max_parts) {
          uint32_t child = new_part(current, part.depth + 1);
          open_.push_back(child);
          pos = tree_.parts[current].body_start;
          current = child;
          continue;
        } else {
          hit = next_boundary(part.body_start);
        }
      }
      // A boundary line (or the end of the message) ends the innermost open parts.
      bool started_child = false;
      while (!started_child) {
        if (!hit) {
          close_open_parts(kNoMimePart, msg_.size());
          finish();
          return std::move(tree_);
        }
        uint32_t multipart = frames_[hit->frame].part;
        close_open_parts(multipart, body_end_before(hit->line_start));
        floor_ = hit->after_line;
        frames_.resize(hit->frame + 1);
        if (hit->close) {
          frames_.pop_back();
          hit = next_boundary(hit->after_line);
          continue;
        }
        if (tree_.parts.size() >= limits_.max_parts) {
          // No room for more parts: the rest of the message is opaque bytes of the parts
          // still open.
          tree_.limited = true;
          frames_.clear();
          hit.reset();
          continue;
        }
        uint32_t child = new_part(multipart, tree_.parts[multipart].depth + 1);
        open_.push_back(child);
        pos = hit->after_line;
        current = child;
        started_child = true;
      }
    }
  }

 private:
  struct Frame {
    uint32_t part;
    std::string boundary;
  };
  struct Hit {
    size_t line_start;
    size_t after_line;
    size_t frame;
    bool close;
  };

  bool can_nest(const MimePart& part) {
    if (part.depth < limits_.max_depth) return true;
    tree_.limited = true;
    return false;
  }

  uint32_t new_part(uint32_t parent, uint32_t depth) {
    auto index = static_cast<uint32_t>(tree_.parts.size());
    tree_.parts.emplace_back();
    MimePart& part = tree_.parts.back();
    part.parent = parent;
    part.depth = depth;
    if (parent != kNoMimePart) {
      MimePart& up = tree_.parts[parent];
      up.children.push_back(index);
      if (up.is_type("multipart", "digest")) {
        part.type = "message";
        part.subtype = "rfc822";
      }
    }
    return index;
  }

  // Where a body ends when a boundary line starts at line_start: the line end before the
  // boundary belongs to the boundary.
  size_t body_end_before(size_t line_start) const {
    size_t end = line_start;
    if (end > 0 && msg_[end - 1] == '\n') {
      --end;
      if (end > 0 && msg_[end - 1] == '\r') --end;
    }
    return end;
  }

  // Ends every open part deeper than keep (all of them for kNoMimePart) at end (a part whose
  // header was cut by the boundary keeps an empty body).
  void close_open_parts(uint32_t keep, size_t end) {
    while (!open_.empty() && open_.back() != keep) {
      MimePart& part = tree_.parts[open_.back()];
      if (part.body_end == kOpen) {
        // Not before the end of the last boundary line: after a close delimiter directly
        // followed by an outer boundary, the line end stays in the body (Dovecot counts so).
        part.body_end = std::max({end, part.body_start, floor_});
        part.body_lines = lf_at(part.body_end) - part_lf_start_[open_.back()];
      }
      open_.pop_back();
    }
  }

  // Number of LF bytes in [0, pos): counted forward from the last position asked for (the
  // parser asks in nearly increasing order, so the total work is linear).
  uint64_t lf_at(size_t pos) {
    if (pos >= lf_pos_) {
      lf_count_ += static_cast<uint64_t>(std::count(msg_.begin() + static_cast<long>(lf_pos_),
                                                    msg_.begin() + static_cast<long>(pos), '\n'));
    } else {
      lf_count_ -= static_cast<uint64_t>(std::count(msg_.begin() + static_cast<long>(pos),
                                                    msg_.begin() + static_cast<long>(lf_pos_), '\n'));
    }
    lf_pos_ = pos;
    return lf_count_;
  }

  // The boundary of an open multipart that this line (content [start, end)) is, or nullopt.
  std::optional<Hit> match(const Line& line) const {
    if (frames_.empty() || line.content_end - line.start < 2 || msg_[line.start] != '-' ||
        msg_[line.start + 1] != '-') {
      return std::nullopt;
    }
    std::string_view rest = msg_.substr(line.start + 2, line.content_end - line.start - 2);
    std::optional<Hit> best;
    size_t best_size = 0;
    for (size_t i = frames_.size(); i-- > 0;) {
      const std::string& boundary = frames_[i].boundary;
      if (rest.size() < boundary.size() || rest.compare(0, boundary.size(), boundary) != 0) {
        continue;
      }
      if (best && boundary.size() <= best_size) continue;
      std::string_view after = rest.substr(boundary.size());
      bool close = after.size() >= 2 && after[0] == '-' && after[1] == '-';
      best = Hit{line.start, line.next, i, close};
      best_size = boundary.size();
    }
    return best;
  }

  std::optional<Hit> next_boundary(size_t pos) const {
    if (frames_.empty()) return std::nullopt;
    while (pos < msg_.size()) {
      Line line = line_at(msg_, pos);
      if (auto hit = match(line)) return hit;
      pos = line.next;
    }
    return std::nullopt;
  }

  // Reads the header of part from pos (a line start). Returns the boundary line that cut the
  // header short, if one did (the part then has an empty body).
  std::optional<Hit> parse_header(uint32_t index, size_t pos) {
    {
      MimePart& part = tree_.parts[index];
      part.header_start = pos;
      part.body_end = kOpen;
    }
    std::optional<Hit> cut;
    size_t fields = 0;
    size_t field_start = kOpen;
    size_t header_end = msg_.size();
    auto take_field = [&](size_t end) {
      if (field_start == kOpen) return;
      if (fields < limits_.max_header_fields) {
        ++fields;
        apply_field(tree_.parts[index], msg_.substr(field_start, end - field_start));
      }
      field_start = kOpen;
    };
    while (pos < msg_.size()) {
      Line line = line_at(msg_, pos);
      if (line.content_end == line.start && line.next > line.start) {  // the empty line
        take_field(line.start);
        header_end = line.next;
        break;
      }
      if (auto hit = match(line)) {
        take_field(line.start);
        header_end = line.start;
        cut = hit;
        break;
      }
      if (!is_wsp(msg_[pos])) {
        take_field(line.start);
        field_start = line.start;
      }
      pos = line.next;
    }
    if (pos >= msg_.size()) take_field(msg_.size());
    MimePart& part = tree_.parts[index];
    part.header_end = header_end;
    part.body_start = header_end;
    if (part_lf_start_.size() <= index) part_lf_start_.resize(index + 1);
    part_lf_start_[index] = lf_at(header_end);
    return cut;
  }

  void apply_field(MimePart& part, std::string_view field) {
    size_t colon = field.find(':');
    if (colon == std::string_view::npos) return;
    std::string_view name = trim(field.substr(0, colon));
    std::string_view value = field.substr(colon + 1);
    if (name.size() < 8 || !ascii_iequals(name.substr(0, 8), "content-")) return;
    std::string_view rest = name.substr(8);
    if (ascii_iequals(rest, "type")) {
      if (part.type_defaulted) parse_content_type(value, part);
    } else if (ascii_iequals(rest, "transfer-encoding")) {
      if (!part.transfer_encoding) part.transfer_encoding = first_token(value);
    } else if (ascii_iequals(rest, "id")) {
      if (!part.content_id) part.content_id = unfold(value);
    } else if (ascii_iequals(rest, "description")) {
      if (!part.description) part.description = unfold(value);
    } else if (ascii_iequals(rest, "md5")) {
      if (!part.md5) part.md5 = unfold(value);
    } else if (ascii_iequals(rest, "location")) {
      if (!part.location) part.location = unfold(value);
    } else if (ascii_iequals(rest, "disposition")) {
      if (!part.disposition) parse_disposition(value, part);
    } else if (ascii_iequals(rest, "language")) {
      if (part.languages.empty()) parse_language(value, part);
    }
  }

  // A multipart that could hold parts but got none gets one empty text/plain part (Dovecot's
  // rendering of such a message).
  void finish() {
    for (uint32_t index : nest_) {
      if (!tree_.parts[index].children.empty()) continue;
      if (tree_.parts.size() >= limits_.max_parts) {
        tree_.limited = true;
        continue;
      }
      size_t at = tree_.parts[index].body_start;
      uint32_t child = new_part(index, tree_.parts[index].depth + 1);
      MimePart& part = tree_.parts[child];
      part.type = "text";
      part.subtype = "plain";
      part.header_start = part.header_end = part.body_start = part.body_end = at;
    }
  }

  static constexpr size_t kOpen = SIZE_MAX;

  std::string_view msg_;
  MimeLimits limits_;
  MimeTree tree_;
  std::vector<Frame> frames_;        // open multiparts with a boundary, outermost first
  std::vector<uint32_t> open_;       // parts not yet ended, root first
  std::vector<uint32_t> nest_;       // multiparts allowed to hold parts
  std::vector<uint64_t> part_lf_start_;  // LF count at each part's body start
  size_t lf_pos_ = 0;
  size_t floor_ = 0;  // end of the last boundary line seen
  uint64_t lf_count_ = 0;
};

}  // namespace

bool MimePart::is_type(std::string_view want_type, std::string_view want_subtype) const {
  if (!ascii_iequals(type, want_type)) return false;
  return want_subtype.empty() || ascii_iequals(subtype, want_subtype);
}

MimeTree parse_mime(std::string_view message, const MimeLimits& limits) {
  return Parser(message, limits).run();
}

std::optional<std::string_view> mime_param(const std::vector<MimeParameter>& params,
                                           std::string_view name) {
  for (const MimeParameter& param : params) {
    if (ascii_iequals(param.name, name)) return std::string_view(param.value);
  }
  return std::nullopt;
}

std::vector<MimeHeaderField> mime_header_fields(std::string_view message, const MimePart& part,
                                                size_t max_fields) {
  std::vector<MimeHeaderField> out;
  std::string_view header = message.substr(part.header_start, part.header_end - part.header_start);
  size_t pos = 0;
  size_t field_start = SIZE_MAX;
  auto take = [&](size_t end) {
    if (field_start == SIZE_MAX || out.size() >= max_fields) return;
    std::string_view raw = header.substr(field_start, end - field_start);
    size_t colon = raw.find(':');
    field_start = SIZE_MAX;
    if (colon == std::string_view::npos) return;
    std::string_view name = raw.substr(0, colon);
    while (!name.empty() && is_wsp(name.back())) name.remove_suffix(1);
    if (name.empty()) return;
    std::string_view value = raw.substr(colon + 1);
    if (!value.empty() && value.back() == '\n') value.remove_suffix(1);
    if (!value.empty() && value.back() == '\r') value.remove_suffix(1);
    out.push_back(MimeHeaderField{name, value, raw});
  };
  while (pos < header.size()) {
    Line line = line_at(header, pos);
    if (line.content_end == line.start) {  // the empty line (or a stray line end)
      take(line.start);
      pos = line.next;
      continue;
    }
    if (!is_wsp(header[pos])) {
      take(line.start);
      field_start = line.start;
    }
    pos = line.next;
  }
  take(header.size());
  return out;
}

std::optional<uint32_t> find_mime_part(const MimeTree& tree, const std::vector<uint32_t>& path) {
  if (tree.parts.empty()) return std::nullopt;
  uint32_t current = 0;
  bool at_message = true;  // current is a message (the top one or an embedded one), not a part
  for (uint32_t number : path) {
    if (number == 0) return std::nullopt;
    if (!at_message) {
      const MimePart& part = tree.parts[current];
      if (part.is_message()) {
        current = part.children[0];  // the parts of an embedded message are its subparts
        at_message = true;
      } else if (part.is_multipart() && !part.children.empty()) {
        if (number > part.children.size()) return std::nullopt;
        current = part.children[number - 1];
        continue;
      } else if (number == 1) {
        continue;  // a leaf part's part 1 is itself (Dovecot answers so; RFC 3501 is silent)
      } else {
        return std::nullopt;
      }
    }
    const MimePart& message = tree.parts[current];
    at_message = false;
    if (message.is_multipart() && !message.children.empty()) {
      if (number > message.children.size()) return std::nullopt;
      current = message.children[number - 1];
    } else if (number != 1) {
      return std::nullopt;  // a non-multipart message has only part 1: its body
    }
  }
  return current;
}

}  // namespace postern
