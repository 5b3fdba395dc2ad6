// parse_aliases (see aliases_file.hpp): physical lines are joined into entries as they are read,
// each entry is parsed as soon as it is complete, so the file is held once (plus one entry).
// Messages quote a name only through log::printable and never quote a target.
#include "lib/config/aliases_file.hpp"

#include <fmt/format.h>

#include <map>
#include <utility>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/config/config_lines.hpp"

namespace postern {
namespace {

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

bool is_control(char c) {
  auto byte = static_cast<unsigned char>(c);
  return byte < 0x20 || byte == 0x7f;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
  return text;
}

struct Name {
  std::string name;
  std::string_view rest;  // after the ':'
};

// The name at the start of entry and what follows its ':'. Errors have no "file:line: ".
Result<Name> split_name(std::string_view entry) {
  Name result;
  size_t pos = 0;
  if (entry.front() == '"') {
    for (pos = 1; pos < entry.size() && entry[pos] != '"'; ++pos) {
      if (entry[pos] == '\\' && pos + 1 < entry.size()) ++pos;
      result.name.push_back(entry[pos]);
      if (result.name.size() > kMaxAliasNameBytes) break;
    }
    if (result.name.size() <= kMaxAliasNameBytes) {
      if (pos >= entry.size()) return Error::parse("unterminated quote in the name");
      ++pos;  // the closing quote
      while (pos < entry.size() && is_blank(entry[pos])) ++pos;
      if (pos == entry.size() || entry[pos] != ':') {
        return Error::parse("':' expected after the quoted name");
      }
    }
  } else {
    while (pos < entry.size() && entry[pos] != ':') {
      char c = entry[pos];
      if (is_blank(c)) {
        size_t next = pos;
        while (next < entry.size() && is_blank(entry[next])) ++next;
        if (next < entry.size() && entry[next] == ':') {
          pos = next;  // "name :" is fine
          break;
        }
        return Error::parse("no ':' after the name (a name with blanks must be quoted)");
      }
      if (c == '"' || c == ',') return Error::parse("a quote or comma inside an unquoted name");
      result.name.push_back(c);
      if (result.name.size() > kMaxAliasNameBytes) break;
      ++pos;
    }
    if (result.name.size() <= kMaxAliasNameBytes && pos == entry.size()) {
      return Error::parse("no ':' after the name");
    }
  }
  if (result.name.size() > kMaxAliasNameBytes) {
    return Error::limit(fmt::format("name longer than {} bytes", kMaxAliasNameBytes));
  }
  if (result.name.empty()) return Error::parse("empty name");
  for (char c : result.name) {
    if (is_control(c)) return Error::parse("control character in the name");
  }
  result.name = ascii_lowercase(result.name);
  result.rest = entry.substr(pos + 1);
  return result;
}

class AliasesParser {
 public:
  AliasesParser(std::string_view file_name, std::vector<ConfigWarning>* warnings,
                const AliasTargetLimits& limits)
      : file_name_(file_name), warnings_(warnings), limits_(limits) {}

  Status parse_entry(std::string_view entry, int line) {
    auto fail = [&](const Error& error) -> Status {
      return Error{error.kind, fmt::format("{}:{}: {}", file_name_, line, error.message), 0};
    };
    Result<Name> name = split_name(entry);
    if (!name) return fail(name.error());
    Result<std::vector<AliasTarget>> targets = parse_alias_targets(name->rest, limits_);
    if (!targets) return fail(targets.error());
    if (targets->empty()) return fail(Error::parse("empty target list"));
    auto [it, inserted] = first_line_.emplace(name->name, line);
    if (!inserted) {
      warn(line, fmt::format("duplicate alias \"{}\" ignored (the entry of line {} is used)",
                             log::printable(name->name), it->second));
      return Status::success();
    }
    entries_.push_back(AliasEntry{std::move(name->name), std::move(targets).value(), line});
    return Status::success();
  }

  AliasEntries take_entries() { return std::move(entries_); }

 private:
  void warn(int line, std::string message) {
    if (warnings_ != nullptr) {
      warnings_->push_back(ConfigWarning{std::string(file_name_), line, std::move(message)});
    } else {
      log::warning("{}:{}: {}", file_name_, line, message);
    }
  }

  std::string_view file_name_;
  std::vector<ConfigWarning>* warnings_;
  AliasTargetLimits limits_;
  std::map<std::string, int, std::less<>> first_line_;  // name -> line of its entry
  AliasEntries entries_;
};

}  // namespace

Result<AliasEntries> parse_aliases(std::string_view text, std::string_view file_name,
                                   std::vector<ConfigWarning>* warnings,
                                   const AliasTargetLimits& limits) {
  if (text.size() > kMaxAliasFileBytes) {
    return Error::limit(
        fmt::format("{}: file is larger than {} bytes", file_name, kMaxAliasFileBytes));
  }
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    return Error::parse(fmt::format("{}:{}: NUL byte", file_name, line_of_offset(text, nul)));
  }
  AliasesParser parser(file_name, warnings, limits);
  std::string entry;
  int entry_line = 0;  // 0: no entry open
  auto flush = [&]() -> Status {
    if (entry_line == 0) return Status::success();
    return parser.parse_entry(entry, std::exchange(entry_line, 0));
  };
  TextLines lines(text);
  std::string_view line;
  while (lines.next(line)) {
    const int line_number = lines.number();
    std::string_view content = trim(line);
    if (content.empty() || content.front() == '#') continue;
    if (is_blank(line.front())) {
      if (entry_line == 0) {
        return Error::parse(
            fmt::format("{}:{}: continuation line before the first entry", file_name, line_number));
      }
      entry += ' ';
      entry += content;
      continue;
    }
    if (Status done = flush(); !done) return done.error();
    entry.assign(content);
    entry_line = line_number;
  }
  if (Status done = flush(); !done) return done.error();
  return parser.take_entries();
}

}  // namespace postern
