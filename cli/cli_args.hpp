// The words after a subcommand: options and operands, as every `postern` subcommand takes them.
// `--name`, `--name VALUE`, `--name=VALUE`, single-letter `-n`; "--" ends the options. Which
// options exist, and which take a value, is the subcommand's table; anything else is a usage
// error naming the option. Runs in the `postern` command on its own argv (trusted only as far
// as checked here).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"

namespace postern::cli {

struct OptionSpec {
  std::string_view name;  // "--json", "-n"
  bool takes_value = false;
  bool repeatable = false;  // --domain a --domain b: every value kept, in order
};

struct ParsedArgs {
  std::vector<std::string> operands;
  std::map<std::string, std::vector<std::string>, std::less<>> options;  // flags: one "" value

  bool has(std::string_view name) const { return options.find(name) != options.end(); }
  // The (last) value of an option, or nullopt when it was not given.
  std::optional<std::string> value(std::string_view name) const;
  const std::vector<std::string>& values(std::string_view name) const;
};

// Errors are usage errors ("unknown option --x", "--domain needs a value", "--json given twice").
Result<ParsedArgs> parse_args(const std::vector<std::string>& words,
                              const std::vector<OptionSpec>& spec);

}  // namespace postern::cli
