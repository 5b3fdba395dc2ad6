// `postern config ...`: parses the words and runs cli/config_commands.* (see
// command_groups.hpp).
#include "cli/command_groups.hpp"
#include "cli/config_commands.hpp"
#include "cli/exit_codes.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] config show [-n] [-x] [--json] [NAME...]\n"
    "       postern [-c config_dir] config check\n"
    "       postern [-c config_dir] config set NAME=VALUE...\n"
    "\n"
    "  show    every parameter (or NAME...) with its value as written, or its default;\n"
    "          -n only what main.cf sets, -x expanded; --json both, with type and default\n"
    "  check   main.cf, master.cf, the accounts file and the tables, as postern-master -t\n"
    "  set     change main.cf in place (comments and order kept), then reload postern-master\n"
    "See postern(8).\n";

}  // namespace

int run_config(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {{"-n"}, {"-x"}, {"--json"}});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  const std::vector<std::string>& operands = args->operands;
  if (operands.empty()) return usage_error(invocation, "which config command?", kUsage);
  const std::string& action = operands[0];
  std::vector<std::string> rest(operands.begin() + 1, operands.end());
  if (action == "show") {
    ConfigShowOptions options;
    options.names = std::move(rest);
    options.only_set = args->has("-n");
    options.expand = args->has("-x");
    options.json = args->has("--json");
    return config_show(invocation, options);
  }
  if (args->has("-n") || args->has("-x") || args->has("--json")) {
    return usage_error(invocation, "-n, -x and --json go with config show", kUsage);
  }
  if (action == "check") {
    if (!rest.empty()) return usage_error(invocation, "config check takes no argument", kUsage);
    return config_check(invocation);
  }
  if (action == "set") {
    if (rest.empty()) return usage_error(invocation, "config set needs NAME=VALUE", kUsage);
    return config_set(invocation, rest);
  }
  return usage_error(invocation, "unknown config command " + action, kUsage);
}

}  // namespace postern::cli
