// Keywords in Maildir file names, kept the way Dovecot keeps them, so that a folder's keywords
// survive a rebuilt index and a move between Postern and Dovecot: "<folder>/dovecot-keywords"
// has lines "<n> <keyword>" (n from 0 to 25), and the info letter 'a' + n of a message file
// ("...:2,Sab") says the message has keyword n. The first 26 keywords of a folder get letters;
// later ones live in the index only. Used by the mail store (mail_store_scan.cpp reads letters,
// mail_store_writes.cpp writes them) inside the index's write transaction, which serialises
// imapd processes. The file is hostile (any tool may write it): at most kMaxKeywordsFileBytes
// are read, and a line that is not a number 0-25, one space and an atom of at most
// kMaxKeywordBytes is ignored.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::imapd {

inline constexpr char kKeywordsFileName[] = "dovecot-keywords";
inline constexpr size_t kKeywordLetters = 26;
inline constexpr size_t kMaxKeywordsFileBytes = 64 * 1024;

class MaildirKeywords {
 public:
  // The folder's file; none (or unreadable): no letters given out yet.
  static MaildirKeywords load(const std::string& folder);
  static MaildirKeywords parse(std::string_view text);

  // The keywords the lower-case letters of a file's info name (letters without a keyword are
  // ignored), sorted and unique.
  std::vector<std::string> keywords_in(std::string_view info) const;
  bool has_letter(std::string_view keyword) const;
  // The letters for keywords, in ASCII order. A keyword without a letter gets the lowest free
  // one while any is free (the file must then be saved before a name uses it); past 26 it gets
  // none.
  std::string letters_for(const std::vector<std::string>& keywords);

  bool changed() const { return changed_; }
  std::string text() const;
  // Writes the file (tmp, fsync, rename) when letters were given out since load.
  Status save(const std::string& folder);

 private:
  std::array<std::string, kKeywordLetters> names_;  // by letter; "" = free
  bool changed_ = false;
};

// The lower-case letters of an info string, in ASCII order.
std::string keyword_letters_of(std::string_view info);

}  // namespace postern::imapd
