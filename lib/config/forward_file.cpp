// parse_forward (see forward_file.hpp): each line is handed to append_alias_targets, which
// counts the targets of the whole file against the limit.
#include "lib/config/forward_file.hpp"

#include <fmt/format.h>

#include "lib/config/config_lines.hpp"

namespace postern {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

}  // namespace

Result<std::vector<AliasTarget>> parse_forward(std::string_view text, std::string_view file_name,
                                               const ForwardFileLimits& limits) {
  if (text.size() > limits.max_file_bytes) {
    return Error::limit(
        fmt::format("{}: file is larger than {} bytes", file_name, limits.max_file_bytes));
  }
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Error::parse(fmt::format("{}:{}: NUL byte", file_name, line_of_offset(text, nul)));
  }
  std::vector<AliasTarget> targets;
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const int line_number = lines.number();
    size_t first = 0;
    while (first < line.size() && is_blank(line[first])) ++first;
    if (first == line.size() || line[first] == '#') continue;
    if (Status added = append_alias_targets(line, limits.targets, &targets); !added) {
      const Error& error = added.error();
      return Error{error.kind, fmt::format("{}:{}: {}", file_name, line_number, error.message), 0};
    }
  }
  return targets;
}

}  // namespace postern
