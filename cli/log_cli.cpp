// `postern log reopen`: runs cli/log_commands.* (see command_groups.hpp).
#include <cstdio>

#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/log_commands.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage = "usage: postern [-c config_dir] log reopen\n";

}  // namespace

int run_log(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  if (args->operands.size() != 1 || args->operands[0] != "reopen") {
    return usage_error(invocation, "the only log command is reopen", kUsage);
  }
  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return kExitFailed;
  Result<std::string> reopened = reopen_log(*config);
  if (!reopened) return report_failure(invocation, "reopen", reopened.error());
  std::printf("postern: log reopen: %s\n", reopened->c_str());
  return kExitOk;
}

}  // namespace postern::cli
