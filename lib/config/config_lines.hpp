// The line structure that main.cf and master.cf share (Postfix's): blank lines and lines whose
// first non-blank character is '#' are skipped; a line that begins with white space continues
// the entry before it (joined with one space); a CR before the LF is dropped. Read by master
// and every worker at start and reload; the admin's file, still bounded in file and line size.
#pragma once

#include <functional>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

struct ConfigLineLimits {
  size_t max_file_bytes = 4 * 1024 * 1024;
  size_t max_line_bytes = 100000;
};

// One physical line at a time: each without its LF and a CR before it, with its 1-based number.
// Shared by the readers of aliases(5) and .forward files, which join lines their own way.
class TextLines {
 public:
  explicit TextLines(std::string_view text) : text_(text) {}
  bool next(std::string_view& line) {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line = text_.substr(pos_, end - pos_);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    pos_ = end + 1;
    ++number_;
    return true;
  }
  int number() const { return number_; }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  int number_ = 0;
};

// The 1-based line number of offset in text (for "file:line: NUL byte").
inline int line_of_offset(std::string_view text, size_t offset) {
  int line = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) line += text[i] == '\n';
  return line;
}

// Calls on_entry(entry, line) for each logical entry, line being where it starts. Errors name
// "file:line: ..."; entry_kind ("parameter", "service") words the continuation error. Stops
// at the first error on_entry returns.
Status for_each_config_entry(
    std::string_view text, std::string_view file, const ConfigLineLimits& limits,
    std::string_view entry_kind,
    const std::function<Status(std::string_view entry, int line)>& on_entry);

// The blanks of main.cf/master.cf syntax (space, tab, CR, VT, FF), and a view without them at
// either end. Shared with the main.cf editor of `postern config set` so both read a line alike.
bool is_config_blank(char c);
std::string_view trim_config_blanks(std::string_view text);

}  // namespace postern
