// Dovecot-style keyword letters of Maildir file names (imapd/maildir_keywords.hpp).
#include "imapd/maildir_keywords.hpp"

#include <algorithm>

#include "imapd/mailbox_types.hpp"
#include "imapd/maildir_files.hpp"
#include "lib/base/file_read.hpp"

namespace postern::imapd {

namespace {

// RFC 3501 atom characters (a keyword is an atom).
bool is_atom_char(char c) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7f) return false;
  return std::string_view("(){%*\"\\]").find(c) == std::string_view::npos;
}

bool valid_keyword(std::string_view keyword) {
  return !keyword.empty() && keyword.size() <= kMaxKeywordBytes && keyword.front() != '\\' &&
         std::all_of(keyword.begin(), keyword.end(), is_atom_char);
}

}  // namespace

MaildirKeywords MaildirKeywords::parse(std::string_view text) {
  MaildirKeywords keywords;
  if (text.size() > kMaxKeywordsFileBytes) text = text.substr(0, kMaxKeywordsFileBytes);
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    size_t space = line.find(' ');
    if (space == 0 || space == std::string_view::npos || space > 2) continue;
    std::string_view digits = line.substr(0, space);
    if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      continue;
    }
    size_t index = std::stoul(std::string(digits));
    std::string_view name = line.substr(space + 1);
    if (index >= kKeywordLetters || !valid_keyword(name) || !keywords.names_[index].empty() ||
        keywords.has_letter(name)) {
      continue;
    }
    keywords.names_[index] = std::string(name);
  }
  return keywords;
}

MaildirKeywords MaildirKeywords::load(const std::string& folder) {
  auto text = read_small_file(folder + "/" + kKeywordsFileName, kMaxKeywordsFileBytes);
  return text ? parse(*text) : MaildirKeywords();
}

std::vector<std::string> MaildirKeywords::keywords_in(std::string_view info) const {
  std::vector<std::string> found;
  for (char c : info) {
    if (c < 'a' || c > 'z') continue;
    const std::string& name = names_[static_cast<size_t>(c - 'a')];
    if (!name.empty()) found.push_back(name);
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  return found;
}

bool MaildirKeywords::has_letter(std::string_view keyword) const {
  return std::find(names_.begin(), names_.end(), keyword) != names_.end();
}

std::string MaildirKeywords::letters_for(const std::vector<std::string>& keywords) {
  std::string letters;
  for (const std::string& keyword : keywords) {
    auto at = std::find(names_.begin(), names_.end(), keyword);
    if (at == names_.end()) {
      at = std::find(names_.begin(), names_.end(), std::string());
      if (at == names_.end() || !valid_keyword(keyword)) continue;  // index only
      *at = keyword;
      changed_ = true;
    }
    letters += static_cast<char>('a' + (at - names_.begin()));
  }
  std::sort(letters.begin(), letters.end());
  letters.erase(std::unique(letters.begin(), letters.end()), letters.end());
  return letters;
}

std::string MaildirKeywords::text() const {
  std::string text;
  for (size_t i = 0; i < kKeywordLetters; ++i) {
    if (!names_[i].empty()) text += std::to_string(i) + " " + names_[i] + "\n";
  }
  return text;
}

Status MaildirKeywords::save(const std::string& folder) {
  if (!changed_) return Status::success();
  if (Status s = replace_file(folder, kKeywordsFileName, text()); !s) return s;
  changed_ = false;
  return Status::success();
}

std::string keyword_letters_of(std::string_view info) {
  std::string letters;
  for (char c : info) {
    if (c >= 'a' && c <= 'z' && letters.find(c) == std::string::npos) letters += c;
  }
  std::sort(letters.begin(), letters.end());
  return letters;
}

}  // namespace postern::imapd
