// for_each_config_entry (see config_lines.hpp).
#include "lib/config/config_lines.hpp"

#include <fmt/format.h>

#include <string>

namespace postern {

bool is_config_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

std::string_view trim_config_blanks(std::string_view text) {
  while (!text.empty() && is_config_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_config_blank(text.back())) text.remove_suffix(1);
  return text;
}

Status for_each_config_entry(
    std::string_view text, std::string_view file, const ConfigLineLimits& limits,
    std::string_view entry_kind,
    const std::function<Status(std::string_view entry, int line)>& on_entry) {
  if (text.size() > limits.max_file_bytes) {
    return Error::limit(
        fmt::format("{}: file is larger than {} bytes", file, limits.max_file_bytes));
  }
  std::string entry;
  int entry_line = 0;
  auto flush = [&]() -> Status {
    if (entry_line == 0) return Status::success();
    return on_entry(entry, std::exchange(entry_line, 0));
  };
  int line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (line.size() > limits.max_line_bytes) {
      return Error::limit(fmt::format("{}:{}: line is longer than {} bytes", file, line_number,
                                      limits.max_line_bytes));
    }
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::string_view content = trim_config_blanks(line);
    if (content.empty() || content.front() == '#') continue;
    if (is_config_blank(line.front())) {
      if (entry_line == 0) {
        return Error::config(fmt::format(
            "{}:{}: continuation line (it begins with white space) without a {} before it", file,
            line_number, entry_kind));
      }
      entry += ' ';
      entry += content;
      continue;
    }
    if (Status s = flush(); !s) return s;
    entry.assign(content);
    entry_line = line_number;
  }
  return flush();
}

}  // namespace postern
