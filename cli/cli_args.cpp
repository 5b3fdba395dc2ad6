// Option parsing for the subcommands (see cli_args.hpp).
#include "cli/cli_args.hpp"

#include <algorithm>

namespace postern::cli {

std::optional<std::string> ParsedArgs::value(std::string_view name) const {
  auto found = options.find(name);
  if (found == options.end() || found->second.empty()) return std::nullopt;
  return found->second.back();
}

const std::vector<std::string>& ParsedArgs::values(std::string_view name) const {
  static const std::vector<std::string> kNone;
  auto found = options.find(name);
  return found == options.end() ? kNone : found->second;
}

Result<ParsedArgs> parse_args(const std::vector<std::string>& words,
                              const std::vector<OptionSpec>& spec) {
  ParsedArgs parsed;
  bool options_ended = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (options_ended || word.size() < 2 || word.front() != '-') {
      parsed.operands.push_back(word);
      continue;
    }
    if (word == "--") {
      options_ended = true;
      continue;
    }
    std::string name = word;
    std::optional<std::string> inline_value;
    if (size_t equals = word.find('='); word.starts_with("--") && equals != std::string::npos) {
      name = word.substr(0, equals);
      inline_value = word.substr(equals + 1);
    }
    auto known = std::find_if(spec.begin(), spec.end(),
                              [&](const OptionSpec& option) { return option.name == name; });
    if (known == spec.end()) return Error::parse("unknown option " + name);
    if (parsed.has(name) && !known->repeatable) {
      return Error::parse(name + " given twice");
    }
    std::string value;
    if (known->takes_value) {
      if (inline_value) {
        value = *inline_value;
      } else if (i + 1 < words.size()) {
        value = words[++i];
      } else {
        return Error::parse(name + " needs a value");
      }
    } else if (inline_value) {
      return Error::parse(name + " takes no value");
    }
    parsed.options[name].push_back(std::move(value));
  }
  return parsed;
}

}  // namespace postern::cli
