// LIST/LSUB mailbox patterns (RFC 3501 6.3.8): the reference and the pattern are joined, then
// matched against folder names with "*" (any characters) and "%" (any characters but the
// hierarchy separator). Runs in postern-imapd for LIST, LSUB and STATUS-less listing. The
// pattern is hostile: matching is a set-of-states walk (no backtracking), O(name x pattern)
// whatever the wildcards ("*%*%*%..." costs the same as any pattern of that length); runs of
// wildcards are folded first and a pattern with more literal bytes than kMaxPatternLiteralBytes
// matches nothing (no folder name is that long). "INBOX" at the start of a name compares
// case-insensitively with a pattern that starts by spelling it (or a prefix of it).
#pragma once

#include <string>
#include <string_view>

namespace postern::imapd {

inline constexpr size_t kMaxPatternLiteralBytes = 1024;

class ListPattern {
 public:
  // reference + pattern (RFC 3501: the reference names the context; we join them as Dovecot
  // does: plain concatenation). separator is the hierarchy separator ('.').
  ListPattern(std::string_view reference, std::string_view pattern, char separator);

  bool matches(std::string_view name) const;
  // True when some name below name (name + separator + ...) could match: used to decide
  // whether a parent is listed for its children (RECURSIVEMATCH, "%" over missing parents).
  bool may_match_below(std::string_view name) const;
  // The joined pattern after folding (for tests and logs).
  const std::string& text() const { return pattern_; }
  bool empty() const { return pattern_.empty(); }
  bool matches_nothing() const { return too_long_; }

 private:
  // Walks name from the start state set; returns the reached state set (bit per position).
  bool run(std::string_view name, bool need_below) const;
  std::string pattern_;
  char separator_;
  bool too_long_ = false;
  size_t inbox_fold_bytes_ = 0;  // leading pattern bytes that spell a prefix of "INBOX"
};

}  // namespace postern::imapd
