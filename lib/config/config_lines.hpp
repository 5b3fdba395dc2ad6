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

// Calls on_entry(entry, line) for each logical entry, line being where it starts. Errors name
// "file:line: ..."; entry_kind ("parameter", "service") words the continuation error. Stops
// at the first error on_entry returns.
Status for_each_config_entry(
    std::string_view text, std::string_view file, const ConfigLineLimits& limits,
    std::string_view entry_kind,
    const std::function<Status(std::string_view entry, int line)>& on_entry);

}  // namespace postern
