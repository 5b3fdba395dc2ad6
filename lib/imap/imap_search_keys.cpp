// SEARCH criteria from the command's token tree into a bounded key tree, and the date readers
// the date keys need. See imap_search_keys.hpp.
#include "lib/imap/imap_search_keys.hpp"

#include <array>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

constexpr std::array<std::string_view, 12> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                      "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};

std::optional<unsigned> month_number(std::string_view name) {
  for (size_t i = 0; i < kMonths.size(); ++i) {
    if (ascii_iequals(name, kMonths[i])) return static_cast<unsigned>(i + 1);
  }
  return std::nullopt;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

unsigned days_in_month(int64_t year, unsigned month) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

std::optional<uint64_t> parse_u64(std::string_view text, uint64_t max) {
  if (text.empty() || text.size() > 20) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return value;
}

class KeyReader {
 public:
  KeyReader(const std::vector<ImapToken>& tokens, size_t pos, const SearchLimits& limits,
            bool* has_modseq)
      : tokens_(tokens), pos_(pos), limits_(limits), has_modseq_(has_modseq) {}

  bool at_end() const { return pos_ >= tokens_.size(); }
  size_t keys() const { return keys_; }

  Result<SearchKey> read_key(size_t depth) {
    if (depth > limits_.max_depth) return Error::limit("search criteria nested too deep");
    if (++keys_ > limits_.max_keys) return Error::limit("too many search keys");
    if (at_end()) return Error::parse("missing search key");
    const ImapToken& token = tokens_[pos_++];
    SearchKey key;
    if (token.kind == ImapToken::Kind::kList) {
      if (token.children.empty()) return Error::parse("empty search key list");
      KeyReader inner(token.children, 0, limits_, has_modseq_);
      inner.keys_ = keys_;
      key.kind = SearchKey::Kind::kAnd;
      while (!inner.at_end()) {
        Result<SearchKey> child = inner.read_key(depth + 1);
        if (!child) return child.error();
        key.children.push_back(std::move(*child));
      }
      keys_ = inner.keys_;
      return key;
    }
    if (!token.is_atom()) return Error::parse("invalid search key");
    const std::string& word = token.text;
    if (!word.empty() && (is_digit(word[0]) || word[0] == '*' || word[0] == '$')) {
      Result<SequenceSet> set = parse_sequence_set(word);
      if (!set) return set.error();
      key.kind = SearchKey::Kind::kSequenceSet;
      key.set = std::move(*set);
      return key;
    }
    std::string upper = ascii_uppercase(word);
    struct FlagKey {
      std::string_view name;
      SearchKey::Kind kind;
      uint8_t flag;
    };
    static constexpr FlagKey kFlagKeys[] = {
        {"ANSWERED", SearchKey::Kind::kFlag, kSearchFlagAnswered},
        {"DELETED", SearchKey::Kind::kFlag, kSearchFlagDeleted},
        {"DRAFT", SearchKey::Kind::kFlag, kSearchFlagDraft},
        {"FLAGGED", SearchKey::Kind::kFlag, kSearchFlagFlagged},
        {"SEEN", SearchKey::Kind::kFlag, kSearchFlagSeen},
        {"UNANSWERED", SearchKey::Kind::kNoFlag, kSearchFlagAnswered},
        {"UNDELETED", SearchKey::Kind::kNoFlag, kSearchFlagDeleted},
        {"UNDRAFT", SearchKey::Kind::kNoFlag, kSearchFlagDraft},
        {"UNFLAGGED", SearchKey::Kind::kNoFlag, kSearchFlagFlagged},
        {"UNSEEN", SearchKey::Kind::kNoFlag, kSearchFlagSeen},
    };
    for (const FlagKey& flag_key : kFlagKeys) {
      if (upper == flag_key.name) {
        key.kind = flag_key.kind;
        key.flag = flag_key.flag;
        return key;
      }
    }
    if (upper == "ALL") return key;
    if (upper == "NEW") return simple(SearchKey::Kind::kNew);
    if (upper == "OLD") return simple(SearchKey::Kind::kOld);
    if (upper == "RECENT") return simple(SearchKey::Kind::kRecent);
    if (upper == "NOT") {
      key.kind = SearchKey::Kind::kNot;
      Result<SearchKey> child = read_key(depth + 1);
      if (!child) return child.error();
      key.children.push_back(std::move(*child));
      return key;
    }
    if (upper == "OR") {
      key.kind = SearchKey::Kind::kOr;
      for (int i = 0; i < 2; ++i) {
        Result<SearchKey> child = read_key(depth + 1);
        if (!child) return child.error();
        key.children.push_back(std::move(*child));
      }
      return key;
    }
    struct HeaderKey {
      std::string_view name;
      std::string_view field;
    };
    static constexpr HeaderKey kHeaderKeys[] = {
        {"BCC", "BCC"}, {"CC", "CC"}, {"FROM", "FROM"}, {"SUBJECT", "SUBJECT"}, {"TO", "TO"}};
    for (const HeaderKey& header_key : kHeaderKeys) {
      if (upper == header_key.name) {
        Result<std::string> value = read_string();
        if (!value) return value.error();
        key.kind = SearchKey::Kind::kHeader;
        key.field = std::string(header_key.field);
        key.text = std::move(*value);
        return key;
      }
    }
    if (upper == "HEADER") {
      Result<std::string> field = read_string();
      if (!field) return field.error();
      Result<std::string> value = read_string();
      if (!value) return value.error();
      if (field->empty()) return Error::parse("empty header field name");
      for (char c : *field) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f || c == ':') return Error::parse("invalid header field name");
      }
      key.kind = SearchKey::Kind::kHeader;
      key.field = ascii_uppercase(*field);
      key.text = std::move(*value);
      return key;
    }
    if (upper == "BODY" || upper == "TEXT") {
      Result<std::string> value = read_string();
      if (!value) return value.error();
      key.kind = upper == "BODY" ? SearchKey::Kind::kBody : SearchKey::Kind::kText;
      key.text = std::move(*value);
      return key;
    }
    if (upper == "KEYWORD" || upper == "UNKEYWORD") {
      // NIL is an atom, so it is a keyword named NIL here.
      if (at_end() ||
          !(tokens_[pos_].is_atom() || tokens_[pos_].kind == ImapToken::Kind::kNil) ||
          tokens_[pos_].text.empty()) {
        return Error::parse("keyword expected");
      }
      key.kind = upper == "KEYWORD" ? SearchKey::Kind::kKeyword : SearchKey::Kind::kNoKeyword;
      key.text = tokens_[pos_++].text;
      return key;
    }
    if (upper == "LARGER" || upper == "SMALLER") {
      if (at_end() || !tokens_[pos_].is_atom()) return Error::parse("number expected");
      std::optional<uint64_t> number = parse_u64(tokens_[pos_++].text, UINT32_MAX);
      if (!number) return Error::parse("invalid number");
      key.kind = upper == "LARGER" ? SearchKey::Kind::kLarger : SearchKey::Kind::kSmaller;
      key.number = *number;
      return key;
    }
    struct DateKey {
      std::string_view name;
      SearchKey::Kind kind;
    };
    static constexpr DateKey kDateKeys[] = {
        {"BEFORE", SearchKey::Kind::kBefore}, {"ON", SearchKey::Kind::kOn},
        {"SINCE", SearchKey::Kind::kSince},   {"SENTBEFORE", SearchKey::Kind::kSentBefore},
        {"SENTON", SearchKey::Kind::kSentOn}, {"SENTSINCE", SearchKey::Kind::kSentSince},
    };
    for (const DateKey& date_key : kDateKeys) {
      if (upper == date_key.name) {
        if (at_end() ||
            !(tokens_[pos_].is_atom() || tokens_[pos_].kind == ImapToken::Kind::kQuoted)) {
          return Error::parse("date expected");
        }
        std::optional<int64_t> day = parse_imap_date(tokens_[pos_++].text);
        if (!day) return Error::parse("invalid date");
        key.kind = date_key.kind;
        key.day = *day;
        return key;
      }
    }
    if (upper == "UID") {
      if (at_end() || !tokens_[pos_].is_atom()) return Error::parse("UID set expected");
      Result<SequenceSet> set = parse_sequence_set(tokens_[pos_++].text);
      if (!set) return set.error();
      key.kind = SearchKey::Kind::kUidSet;
      key.set = std::move(*set);
      return key;
    }
    if (upper == "MODSEQ") {
      // MODSEQ ["entry-name" entry-type] mod-sequence-valzer (RFC 7162 3.1.5): the entry is
      // accepted and ignored (one MODSEQ per message here).
      if (!at_end() && tokens_[pos_].is_string()) {
        ++pos_;
        if (at_end() || !tokens_[pos_].is_atom()) return Error::parse("entry type expected");
        std::string type = ascii_uppercase(tokens_[pos_++].text);
        if (type != "PRIV" && type != "SHARED" && type != "ALL") {
          return Error::parse("invalid entry type");
        }
      }
      if (at_end() || !tokens_[pos_].is_atom()) return Error::parse("MODSEQ value expected");
      std::optional<uint64_t> number = parse_u64(tokens_[pos_++].text, INT64_MAX);
      if (!number) return Error::parse("invalid MODSEQ value");
      key.kind = SearchKey::Kind::kModSeq;
      key.number = *number;
      *has_modseq_ = true;
      return key;
    }
    return Error::parse("unknown search key");
  }

 private:
  static SearchKey simple(SearchKey::Kind kind) {
    SearchKey key;
    key.kind = kind;
    return key;
  }

  Result<std::string> read_string() {
    if (at_end()) return Error::parse("string expected");
    const ImapToken& token = tokens_[pos_++];
    std::optional<std::string_view> text = token.astring();
    if (!text) return Error::parse("string expected");
    return std::string(*text);
  }

  const std::vector<ImapToken>& tokens_;
  size_t pos_;
  const SearchLimits& limits_;
  bool* has_modseq_;
  size_t keys_ = 0;
};

// The obsolete zone names of RFC 5322 4.3 are irrelevant here: only the date is used.
std::optional<int64_t> parse_day_month_year(std::string_view day_text, std::string_view month,
                                            std::string_view year_text) {
  if (day_text.empty() || day_text.size() > 2 || year_text.empty() || year_text.size() > 4) {
    return std::nullopt;
  }
  for (char c : day_text) {
    if (!is_digit(c)) return std::nullopt;
  }
  for (char c : year_text) {
    if (!is_digit(c)) return std::nullopt;
  }
  std::optional<unsigned> month_num = month_number(month);
  if (!month_num) return std::nullopt;
  unsigned day = 0;
  for (char c : day_text) day = day * 10 + static_cast<unsigned>(c - '0');
  int64_t year = 0;
  for (char c : year_text) year = year * 10 + (c - '0');
  if (year_text.size() == 2) year += year < 50 ? 2000 : 1900;  // RFC 5322 4.3
  if (year_text.size() == 3) year += 1900;
  if (day < 1 || day > days_in_month(year, *month_num)) return std::nullopt;
  return days_from_civil(year, *month_num, day);
}

}  // namespace

int64_t days_from_civil(int64_t year, unsigned month, unsigned day) {
  // Days from 1970-01-01 counted in 400-year eras starting in March (so the leap day is the
  // last day of a year): era, year of era, day of year, day of era.
  year -= month <= 2 ? 1 : 0;
  int64_t era = (year >= 0 ? year : year - 399) / 400;
  int64_t year_of_era = year - era * 400;
  int64_t day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + day_of_era - 719468;
}

std::optional<int64_t> parse_imap_date(std::string_view text) {
  size_t first = text.find('-');
  if (first == std::string_view::npos) return std::nullopt;
  size_t second = text.find('-', first + 1);
  if (second == std::string_view::npos) return std::nullopt;
  std::string_view year = text.substr(second + 1);
  if (year.size() != 4) return std::nullopt;
  return parse_day_month_year(text.substr(0, first), text.substr(first + 1, second - first - 1),
                              year);
}

std::optional<int64_t> rfc5322_date_day(std::string_view value) {
  // Words separated by white space, commas and comments; the first three that are
  // day, month, year (in that order) make the date.
  std::vector<std::string_view> words;
  size_t pos = 0;
  int comment_depth = 0;
  while (pos < value.size() && words.size() < 8) {
    char c = value[pos];
    if (c == '(') {
      ++comment_depth;
      ++pos;
    } else if (c == ')') {
      if (comment_depth > 0) --comment_depth;
      ++pos;
    } else if (comment_depth > 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
      ++pos;
    } else {
      size_t start = pos;
      while (pos < value.size() && value[pos] != ' ' && value[pos] != '\t' && value[pos] != '\r' &&
             value[pos] != '\n' && value[pos] != ',' && value[pos] != '(') {
        ++pos;
      }
      words.push_back(value.substr(start, pos - start));
    }
  }
  for (size_t i = 0; i + 2 < words.size(); ++i) {
    if (words[i].empty() || !is_digit(words[i][0])) continue;
    std::optional<int64_t> day = parse_day_month_year(words[i], words[i + 1], words[i + 2]);
    if (day) return day;
  }
  // "1-Feb-1994" as one word (seen from old mailers).
  for (std::string_view word : words) {
    if (word.find('-') != std::string_view::npos) {
      std::optional<int64_t> day = parse_imap_date(word);
      if (day) return day;
    }
  }
  return std::nullopt;
}

Result<SearchRequest> parse_search(const std::vector<ImapToken>& args, size_t first,
                                   const SearchLimits& limits) {
  SearchRequest request;
  request.root.kind = SearchKey::Kind::kAnd;
  size_t pos = first;
  if (pos < args.size() && args[pos].is_word("RETURN")) {
    ++pos;
    if (pos >= args.size() || args[pos].kind != ImapToken::Kind::kList) {
      return Error::parse("RETURN options expected");
    }
    SearchReturn options;
    const std::vector<ImapToken>& list = args[pos++].children;
    if (list.empty()) options.all = true;
    for (const ImapToken& option : list) {
      if (option.is_word("MIN")) {
        options.min = true;
      } else if (option.is_word("MAX")) {
        options.max = true;
      } else if (option.is_word("ALL")) {
        options.all = true;
      } else if (option.is_word("COUNT")) {
        options.count = true;
      } else {
        return Error::parse("unknown RETURN option");
      }
    }
    request.result_options = options;
  }
  if (pos < args.size() && args[pos].is_word("CHARSET")) {
    ++pos;
    if (pos >= args.size()) return Error::parse("charset expected");
    std::optional<std::string_view> name = args[pos++].astring();
    if (!name) return Error::parse("charset expected");
    if (ascii_iequals(*name, "UTF-8") || ascii_iequals(*name, "UTF8")) {
      request.charset = "UTF-8";
    } else if (ascii_iequals(*name, "US-ASCII")) {
      request.charset = "US-ASCII";
    } else {
      return Error{ErrorKind::kPermanent, "BADCHARSET", 0};
    }
  }
  if (pos >= args.size()) return Error::parse("missing search criteria");
  KeyReader reader(args, pos, limits, &request.has_modseq);
  while (!reader.at_end()) {
    Result<SearchKey> key = reader.read_key(1);
    if (!key) return key.error();
    request.root.children.push_back(std::move(*key));
  }
  return request;
}

}  // namespace postern
