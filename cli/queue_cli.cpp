// `postern queue ...`: parses the words and runs cli/queue_commands.* (see command_groups.hpp).
#include <cstdio>

#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/queue_commands.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] queue list\n"
    "       postern [-c config_dir] queue show QUEUE_ID\n"
    "       postern [-c config_dir] queue flush\n"
    "       postern [-c config_dir] queue release QUEUE_ID\n";

}  // namespace

int run_queue(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  const std::vector<std::string>& operands = args->operands;
  if (operands.empty()) return usage_error(invocation, "which queue command?", kUsage);
  const std::string& action = operands[0];
  const bool takes_id = action == "show" || action == "release";
  if (action != "list" && action != "flush" && !takes_id) {
    return usage_error(invocation, "unknown queue command " + action, kUsage);
  }
  if (operands.size() != (takes_id ? 2u : 1u)) {
    return usage_error(invocation, "wrong number of arguments", kUsage);
  }

  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return kExitFailed;
  const QueueLayout layout{config->get("queue_directory")};

  if (action == "list") {
    Result<QueueListTotals> listed = list_queue(layout, write_stdout);
    if (!listed) return report_failure(invocation, "list", listed.error());
    return finish_stdout();
  }
  if (action == "show") {
    Status shown = show_queue_message(layout, operands[1], write_stdout);
    std::fflush(stdout);
    if (!shown) return report_failure(invocation, "show", shown.error());
    return kExitOk;
  }
  if (!is_admin(*config)) {
    std::fprintf(stderr, "postern queue %s: only root or %s may do that\n", action.c_str(),
                 config->get("mail_owner").c_str());
    return kExitDenied;
  }
  if (action == "release") {
    Status released = release_held_message(layout, operands[1]);
    if (!released) return report_failure(invocation, "release", released.error());
    std::printf("postern: queue release: %s back in the queue\n", operands[1].c_str());
    return kExitOk;
  }
  Result<int64_t> count = flush_queue(layout);
  if (!count) {
    std::fprintf(stderr, "postern queue flush: cannot reach qmgr: %s (is postern running?)\n",
                 count.error().describe().c_str());
    return kExitNotRunning;
  }
  std::printf("postern: queue flush: %lld deferred message%s scheduled for delivery now\n",
              static_cast<long long>(*count), *count == 1 ? "" : "s");
  return kExitOk;
}

}  // namespace postern::cli
