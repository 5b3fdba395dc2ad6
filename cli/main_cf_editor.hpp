// Editing main.cf the way an admin would by hand: one parameter's value changed where it stands,
// a new one appended at the end, every other line (comments, blank lines, other parameters and
// their continuation lines) kept byte for byte, in its order. Used by `postern config set` and
// `postern setup` (cli/setup_command.hpp). Runs in the `postern` command.
//
// Line structure as lib/config/config_lines.hpp reads it: an entry is a line that starts with a
// name, plus the lines after it that begin with white space; a comment or blank line between
// two continuation lines belongs to the entry (it is replaced with it), one after its last
// continuation line does not. A parameter set twice: the last entry is the one in force, and
// the one edited.
//
// The text is the admin's file (trusted, still bounded: kMaxMainCfBytes, kMaxMainCfLineBytes
// as main.cf's reader). A new value is the caller's input (an argument): one line, at most
// kMaxValueBytes, no control characters; anything else is refused, never written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::cli {

inline constexpr size_t kMaxMainCfBytes = 4 * 1024 * 1024;  // as lib/config/main_cf.cpp
inline constexpr size_t kMaxMainCfLineBytes = 100000;
inline constexpr size_t kMaxParameterNameBytes = 100;
inline constexpr size_t kMaxValueBytes = 64 * 1024;

// A parameter name: letters, digits and '_', 1 to kMaxParameterNameBytes bytes.
bool valid_parameter_name(std::string_view name);
// A value that may be written on one line: no byte below 0x20 but TAB, no DEL, at most
// kMaxValueBytes. Leading and trailing blanks are the caller's to trim.
Status check_value_text(std::string_view name, std::string_view value);

class MainCfEditor {
 public:
  // Splits text into entries. Errors: too large, a line too long, a NUL byte.
  static Result<MainCfEditor> parse(std::string_view text);

  // Makes "name = value" the setting of name: its last entry replaced whole (continuation lines
  // included) by one line, or the line appended at the end. Returns whether the text changed
  // (false when the entry already reads exactly "name = value").
  Result<bool> set(std::string_view name, std::string_view value);

  // The value as written (continuation lines joined with one space, trimmed) in *value; false
  // when the file does not set name.
  bool get(std::string_view name, std::string* value) const;

  // Names the file sets, in file order, each once (its last entry).
  std::vector<std::string> names() const;

  // Replaces the comment lines from the line that equals begin_line to the line that equals
  // end_line (both included) with block (whose own first and last lines must be those two);
  // without such lines, inserts block at the start of the file. block ends with '\n'.
  Result<bool> set_comment_block(std::string_view begin_line, std::string_view end_line,
                                 std::string_view block);

  // Appends "\n" + line + "\n" (a comment line that heads what is appended next) unless a line
  // of the text already equals it.
  Result<bool> ensure_comment_line(std::string_view line);

  const std::string& text() const { return text_; }

 private:
  struct Entry {
    std::string name;
    size_t begin = 0;  // offset of its first line
    size_t end = 0;    // offset just after its last line's '\n' (or the end of the text)
  };
  explicit MainCfEditor(std::string text) : text_(std::move(text)) {}
  Status index();
  const Entry* last_entry(std::string_view name) const;

  std::string text_;
  std::vector<Entry> entries_;
};

}  // namespace postern::cli
