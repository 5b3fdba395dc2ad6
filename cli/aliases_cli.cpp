// `postern aliases build` (what newaliases runs): runs cli/alias_commands.*.
#include "cli/alias_commands.hpp"
#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage = "usage: postern [-c config_dir] aliases build\n";

}  // namespace

int run_aliases(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  if (args->operands.size() != 1 || args->operands[0] != "build") {
    return usage_error(invocation, "the only aliases command is build", kUsage);
  }
  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return kExitFailed;
  Result<size_t> built = build_alias_table(*config);
  if (!built) return report_failure(invocation, "build", built.error());
  return kExitOk;  // the table's own log line says how many (newaliases prints nothing else)
}

}  // namespace postern::cli
