// The lenient address-list reader for IMAP ENVELOPE (lib/mime/mime_address.hpp), run by imapd on
// stored mail: hostile bytes, never an error. Tokens are read one at a time; each list element
// is collected (bounded by the value's size) and interpreted as a group, an angle address or a
// bare addr-spec. Limits: kMaxEnvelopeAddresses entries, comment nesting 64 (counted).
#include "lib/mime/mime_address.hpp"

#include <cstring>

namespace postern {

namespace {

constexpr int kMaxCommentNesting = 64;

enum class Kind { kWord, kQuoted, kLiteral, kSpecial };

struct Token {
  Kind kind;
  std::string text;
  bool space_before = false;  // white space or a comment came before it
  char special() const { return kind == Kind::kSpecial ? text[0] : '\0'; }
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool is_special(char c) {
  return c != '\0' && std::strchr("()<>@,;:\\\".[]", c) != nullptr;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // The next token, or nullopt at the end. Comments seen before it go to last_comment_.
  std::optional<Token> next() {
    bool space = false;
    while (pos_ < text_.size()) {
      char c = text_[pos_];
      if (is_space(c)) {
        ++pos_;
        space = true;
      } else if (c == '(') {
        comment();
        space = true;
      } else {
        break;
      }
    }
    if (pos_ >= text_.size()) return std::nullopt;
    char c = text_[pos_];
    Token token{Kind::kWord, {}, space};
    if (c == '"') {
      token.kind = Kind::kQuoted;
      ++pos_;
      while (pos_ < text_.size() && text_[pos_] != '"') {
        char q = text_[pos_++];
        if (q == '\\' && pos_ < text_.size()) q = text_[pos_++];
        if (q != '\r' && q != '\n') token.text.push_back(q);
      }
      if (pos_ < text_.size()) ++pos_;
      return token;
    }
    if (c == '[') {
      token.kind = Kind::kLiteral;
      while (pos_ < text_.size()) {
        char q = text_[pos_++];
        if (!is_space(q)) token.text.push_back(q);
        if (q == ']') break;
      }
      return token;
    }
    if (is_special(c)) {
      token.kind = Kind::kSpecial;
      token.text.assign(1, c);
      ++pos_;
      return token;
    }
    while (pos_ < text_.size() && !is_space(text_[pos_]) && !is_special(text_[pos_])) {
      token.text.push_back(text_[pos_++]);
    }
    return token;
  }

  std::optional<std::string> take_comment() {
    auto out = std::move(last_comment_);
    last_comment_.reset();
    return out;
  }

 private:
  void comment() {
    int depth = 0;
    std::string text;
    while (pos_ < text_.size()) {
      char c = text_[pos_++];
      if (c == '\\' && pos_ < text_.size()) {
        text.push_back(text_[pos_++]);
        continue;
      }
      if (c == '(') {
        if (++depth > kMaxCommentNesting) {
          pos_ = text_.size();
          break;
        }
        if (depth == 1) continue;
      } else if (c == ')') {
        if (--depth == 0) break;
      }
      if (c != '\r' && c != '\n') text.push_back(c);
    }
    // Trim; keep the last non-empty comment.
    size_t b = text.find_first_not_of(" \t");
    if (b == std::string::npos) return;
    size_t e = text.find_last_not_of(" \t");
    last_comment_ = text.substr(b, e - b + 1);
  }

  std::string_view text_;
  size_t pos_ = 0;
  std::optional<std::string> last_comment_;
};

// Words joined as written: a space where the source had white space between them.
std::string join(const std::vector<Token>& tokens, size_t begin, size_t end) {
  std::string out;
  for (size_t i = begin; i < end; ++i) {
    if (!out.empty() && tokens[i].space_before) out.push_back(' ');
    out += tokens[i].text;
  }
  return out;
}

class ListReader {
 public:
  explicit ListReader(std::string_view value) : lexer_(value) {}

  std::vector<ImapAddress> run() {
    bool in_group = false;
    bool in_angle = false;  // between '<' and '>': ',' ':' ';' do not end anything
    std::vector<Token> element;
    std::optional<std::string> comment;
    while (out_.size() < kMaxEnvelopeAddresses) {
      std::optional<Token> token = lexer_.next();
      if (auto c = lexer_.take_comment()) comment = std::move(c);
      bool end = !token.has_value();
      char special = end ? '\0' : token->special();
      if (special == '<') in_angle = true;
      if (special == '>') in_angle = false;
      if (in_angle && !end) {
        element.push_back(std::move(*token));
        continue;
      }
      if (end || special == ',' || (special == ';' && in_group) ||
          (special == ':' && !in_group && !has_angle(element))) {
        if (!end && special == ':') {
          // A group's display name.
          ImapAddress start;
          start.mailbox = join(element, 0, element.size());
          out_.push_back(std::move(start));
          in_group = true;
          element.clear();
          comment.reset();
          continue;
        }
        if (!element.empty()) mailbox(element, comment);
        element.clear();
        comment.reset();
        if (!end && special == ';') {
          out_.push_back(ImapAddress{});
          in_group = false;
        }
        if (end) break;
        continue;
      }
      element.push_back(std::move(*token));
    }
    if (in_group && out_.size() < kMaxEnvelopeAddresses) out_.push_back(ImapAddress{});
    return std::move(out_);
  }

 private:
  static bool has_angle(const std::vector<Token>& element) {
    for (const Token& token : element) {
      if (token.special() == '<') return true;
    }
    return false;
  }

  // One mailbox: "phrase <route:local@domain>" or "local@domain".
  void mailbox(const std::vector<Token>& tokens, const std::optional<std::string>& comment) {
    ImapAddress address;
    size_t open = tokens.size();
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (tokens[i].special() == '<') {
        open = i;
        break;
      }
    }
    size_t begin = 0;
    size_t end = tokens.size();
    if (open < tokens.size()) {
      if (open > 0) address.name = join(tokens, 0, open);
      begin = open + 1;
      end = begin;
      while (end < tokens.size() && tokens[end].special() != '>') ++end;
      // Source route: "@a,@b:" up to a ':'.
      if (begin < end && tokens[begin].special() == '@') {
        size_t colon = begin;
        while (colon < end && tokens[colon].special() != ':') ++colon;
        if (colon < end) {
          address.adl = join(tokens, begin, colon);
          begin = colon + 1;
        }
      }
    }
    size_t at = end;
    for (size_t i = begin; i < end; ++i) {
      if (tokens[i].special() == '@') {
        at = i;
        break;
      }
    }
    std::string local;
    bool only_quoted = true;
    for (size_t i = begin; i < at; ++i) {
      local += tokens[i].text;
      only_quoted = only_quoted && tokens[i].kind == Kind::kQuoted;
    }
    // A lone quoted string is a phrase, not a mailbox (Dovecot: MISSING_MAILBOX).
    if (open == tokens.size() && at == end && only_quoted) local.clear();
    address.mailbox = local.empty() ? std::string("MISSING_MAILBOX") : local;
    if (at == end) {
      address.host = "MISSING_DOMAIN";
    } else {
      std::string domain;
      for (size_t i = at + 1; i < end; ++i) domain += tokens[i].text;
      address.host = domain.empty() ? std::string("SYNTAX_ERROR") : domain;
    }
    if (open == tokens.size() && at == end && tokens.empty()) return;  // nothing there at all
    if (!address.name && comment) address.name = comment;
    out_.push_back(std::move(address));
  }

  Lexer lexer_;
  std::vector<ImapAddress> out_;
};

}  // namespace

std::vector<ImapAddress> parse_imap_address_list(std::string_view value) {
  return ListReader(value).run();
}

}  // namespace postern
