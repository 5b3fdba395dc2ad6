// LIST pattern matching without backtracking (see list_pattern.hpp).
#include "imapd/list_pattern.hpp"

#include <algorithm>
#include <vector>

namespace postern::imapd {
namespace {

char upper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool is_wild(char c) {
  return c == '*' || c == '%';
}

}  // namespace

ListPattern::ListPattern(std::string_view reference, std::string_view pattern, char separator)
    : separator_(separator) {
  std::string joined;
  joined.reserve(reference.size() + pattern.size());
  joined.append(reference);
  joined.append(pattern);
  // Fold runs of wildcards: a run holding a '*' is "*", a run of '%' is "%".
  size_t literal_bytes = 0;
  for (size_t i = 0; i < joined.size();) {
    if (!is_wild(joined[i])) {
      pattern_.push_back(joined[i++]);
      ++literal_bytes;
      continue;
    }
    bool star = false;
    while (i < joined.size() && is_wild(joined[i])) star |= joined[i++] == '*';
    pattern_.push_back(star ? '*' : '%');
  }
  too_long_ = literal_bytes > kMaxPatternLiteralBytes;
  // INBOX folds only where the pattern spells (a prefix of) INBOX itself: "inbox.%" and "inb*"
  // find INBOX, "*x" does not.
  static constexpr std::string_view kInbox = "INBOX";
  while (inbox_fold_bytes_ < kInbox.size() && inbox_fold_bytes_ < pattern_.size() &&
         upper(pattern_[inbox_fold_bytes_]) == kInbox[inbox_fold_bytes_]) {
    ++inbox_fold_bytes_;
  }
}

bool ListPattern::run(std::string_view name, bool need_below) const {
  if (too_long_) return false;
  const size_t m = pattern_.size();
  // INBOX (and INBOX<sep>...) compares case-insensitively in its first five bytes.
  const bool inbox = name.size() >= 5 && name.substr(0, 5) == "INBOX" &&
                     (name.size() == 5 || name[5] == separator_);
  std::vector<char> states(m + 1, 0);
  std::vector<char> next(m + 1, 0);
  auto close = [&](std::vector<char>& set) {
    for (size_t i = 0; i < m; ++i) {
      if (set[i] && is_wild(pattern_[i])) set[i + 1] = 1;
    }
  };
  states[0] = 1;
  close(states);
  auto step = [&](char c, bool fold) {
    std::fill(next.begin(), next.end(), 0);
    bool any = false;
    for (size_t i = 0; i < m; ++i) {
      if (!states[i]) continue;
      const char p = pattern_[i];
      if (p == '*' || (p == '%' && c != separator_)) {
        next[i] = 1;
        any = true;
      } else if (p == c || (fold && i < inbox_fold_bytes_ && upper(p) == c)) {
        next[i + 1] = 1;
        any = true;
      }
    }
    close(next);
    states.swap(next);
    return any;
  };
  for (size_t pos = 0; pos < name.size(); ++pos) {
    if (!step(name[pos], inbox && pos < 5)) return false;
  }
  if (!need_below) return states[m] != 0;
  // Below name: after name + separator any live state can still be completed.
  if (!step(separator_, false)) return false;
  for (char live : states) {
    if (live) return true;
  }
  return false;
}

bool ListPattern::matches(std::string_view name) const {
  return run(name, false);
}

bool ListPattern::may_match_below(std::string_view name) const {
  return run(name, true);
}

}  // namespace postern::imapd
