// `postern queue ...`: parses the words, checks who may change the queue, and runs
// cli/queue_commands.* (text list, show, flush), cli/queue_json.* (--json) and cli/queue_change.*
// (delete, hold, release, requeue); prints the results and picks the exit status
// (cli/exit_codes.hpp). See command_groups.hpp.
#include <algorithm>
#include <cstdio>

#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/queue_change.hpp"
#include "cli/queue_commands.hpp"
#include "cli/queue_json.hpp"
#include "lib/base/log.hpp"

namespace postern::cli {
namespace {

struct QueueAction {
  std::string_view name;
  std::string_view usage;
};

constexpr QueueAction kActions[] = {
    {"list",
     "usage: postern [-c config_dir] queue list [--json]\n"
     "  Every queued message, mailq-style (or as one JSON document), with the reason each\n"
     "  recipient was last deferred. Works with Postern stopped.\n"},
    {"show",
     "usage: postern [-c config_dir] queue show QUEUE_ID [--json]\n"
     "  One message: envelope, recipients with their deferral reasons, text.\n"},
    {"flush",
     "usage: postern [-c config_dir] queue flush [--domain DOMAIN]\n"
     "  Asks qmgr to try the deferred messages now (with --domain, only those with a pending\n"
     "  recipient in DOMAIN). Needs Postern running; root or mail_owner only.\n"},
    {"delete",
     "usage: postern [-c config_dir] queue delete QUEUE_ID... | --all | --from ADDR | --to ADDR\n"
     "  Removes messages for good (postsuper -d). --from: the envelope sender (\"<>\" for\n"
     "  bounces); --to: any recipient still to be delivered; domains compare without case.\n"
     "  root or mail_owner only.\n"},
    {"hold",
     "usage: postern [-c config_dir] queue hold QUEUE_ID...\n"
     "  Moves messages to hold/: not delivered until released (postsuper -h).\n"},
    {"release",
     "usage: postern [-c config_dir] queue release QUEUE_ID...\n"
     "  Puts held messages back into the queue (postsuper -H).\n"},
    {"requeue",
     "usage: postern [-c config_dir] queue requeue QUEUE_ID... | --all\n"
     "  Sends messages back through incoming/, so qmgr routes them afresh (postsuper -r).\n"
     "  --all: incoming/, active/ and deferred/; held messages stay on hold.\n"},
};

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] queue list [--json]\n"
    "       postern [-c config_dir] queue show QUEUE_ID [--json]\n"
    "       postern [-c config_dir] queue flush [--domain DOMAIN]\n"
    "       postern [-c config_dir] queue delete QUEUE_ID... | --all | --from ADDR | --to ADDR\n"
    "       postern [-c config_dir] queue hold QUEUE_ID...\n"
    "       postern [-c config_dir] queue release QUEUE_ID...\n"
    "       postern [-c config_dir] queue requeue QUEUE_ID... | --all\n"
    "`postern queue COMMAND --help` tells more.\n";

const std::vector<OptionSpec> kOptions = {
    {"--json"}, {"--domain", true}, {"--all"}, {"--from", true}, {"--to", true}};

const QueueAction* find_action(std::string_view name) {
  for (const QueueAction& action : kActions) {
    if (action.name == name) return &action;
  }
  return nullptr;
}

std::string_view done_text(ControlAction action) {
  switch (action) {
    case ControlAction::kDelete:
      return "removed";
    case ControlAction::kHold:
      return "placed on hold";
    case ControlAction::kRelease:
      return "released from hold";
    case ControlAction::kRequeue:
      return "requeued";
  }
  return "done";
}

int run_list(const Invocation& invocation, const QueueLayout& layout, bool json) {
  if (json) {
    Result<nlohmann::json> document = queue_list_json(layout);
    if (!document) return report_failure(invocation, "list", document.error());
    print_json(*document);
    return finish_stdout();
  }
  Result<QueueListTotals> listed = list_queue(layout, write_stdout);
  if (!listed) return report_failure(invocation, "list", listed.error());
  return finish_stdout();
}

int run_show(const Invocation& invocation, const QueueLayout& layout, const std::string& queue_id,
             bool json) {
  if (json) {
    Result<nlohmann::json> document = queue_show_json(layout, queue_id);
    if (!document) return report_failure(invocation, "show", document.error());
    print_json(*document);
    return finish_stdout();
  }
  Status shown = show_queue_message(layout, queue_id, write_stdout);
  std::fflush(stdout);
  if (!shown) return report_failure(invocation, "show", shown.error());
  return kExitOk;
}

int run_flush(const MainConfig&, const QueueLayout& layout,
              const std::optional<std::string>& domain) {
  Result<int64_t> count = flush_queue(layout, domain);
  if (!count) {
    std::fprintf(stderr, "postern queue flush: cannot reach qmgr: %s (is postern running?)\n",
                 count.error().describe().c_str());
    return count.error().kind == ErrorKind::kParse ? kExitFailed : kExitNotRunning;
  }
  std::printf("postern: queue flush: %lld deferred message%s%s%s scheduled for delivery now\n",
              static_cast<long long>(*count), *count == 1 ? "" : "s", domain ? " for " : "",
              domain ? domain->c_str() : "");
  return kExitOk;
}

// Prints one line per message and the summary; returns the exit status the results call for.
int report_change(const std::string& name, ControlAction action, const QueueChange& change) {
  size_t done = 0;
  bool not_found = false;
  bool failed = false;
  const std::string_view text = done_text(action);
  for (const ControlResult& result : change.results) {
    switch (result.outcome) {
      case ControlOutcome::kDone:
        ++done;
        std::printf("%s: %.*s%s%s%s\n", result.queue_id.c_str(), static_cast<int>(text.size()),
                    text.data(), result.reason.empty() ? "" : " (", result.reason.c_str(),
                    result.reason.empty() ? "" : ")");
        break;
      case ControlOutcome::kSkipped:
        std::printf("%s: skipped (%s)\n", result.queue_id.c_str(), result.reason.c_str());
        break;
      case ControlOutcome::kNotFound:
        not_found = true;
        std::fprintf(stderr, "postern queue %s: %s: %s\n", name.c_str(), result.queue_id.c_str(),
                     result.reason.c_str());
        break;
      case ControlOutcome::kFailed:
        failed = true;
        std::fprintf(stderr, "postern queue %s: %s: %s\n", name.c_str(), result.queue_id.c_str(),
                     result.reason.c_str());
        break;
    }
  }
  std::printf("postern: queue %s: %zu message%s %.*s%s\n", name.c_str(), done, done == 1 ? "" : "s",
              static_cast<int>(text.size()), text.data(),
              change.qmgr_running ? ""
                                  : " (qmgr was not running: the queue files were changed "
                                    "directly)");
  if (finish_stdout() != kExitOk) return kExitFailed;
  if (failed) return kExitFailed;
  return not_found ? kExitNotFound : kExitOk;
}

// The messages named on the command line, or a usage error (kExitUsage) in *status.
std::optional<QueueSelection> parse_selection(const Invocation& invocation, const ParsedArgs& args,
                                              const QueueAction& usage, int* status) {
  QueueSelection selection;
  selection.queue_ids.assign(args.operands.begin() + 1, args.operands.end());
  selection.all = args.has("--all");
  if (auto from = args.value("--from")) selection.match.sender = *from;
  if (auto to = args.value("--to")) selection.match.recipient = *to;
  const bool by_match = !selection.match.empty();
  auto refuse = [&](std::string problem) -> std::optional<QueueSelection> {
    *status = usage_error(invocation, problem, usage.usage);
    return std::nullopt;
  };
  if (!selection.queue_ids.empty() && (selection.all || by_match)) {
    return refuse("queue IDs, or --all, --from, --to: not both");
  }
  if (selection.all && by_match) return refuse("--all or --from/--to, not both");
  if (selection.queue_ids.empty() && !selection.all && !by_match) {
    return refuse("which messages?");
  }
  for (const std::string& queue_id : selection.queue_ids) {
    if (!is_queue_id(queue_id)) return refuse("not a queue ID: " + queue_id.substr(0, 40));
  }
  for (const std::optional<std::string>* address :
       {&selection.match.sender, &selection.match.recipient}) {
    if (*address && (*address)->size() > kMaxControlAddressBytes) {
      return refuse("address too long");
    }
  }
  return selection;
}

int run_change(const Invocation& invocation, const QueueLayout& layout, const std::string& name,
               const QueueSelection& selection) {
  ControlAction action = ControlAction::kDelete;
  if (name == "hold") action = ControlAction::kHold;
  if (name == "release") action = ControlAction::kRelease;
  if (name == "requeue") action = ControlAction::kRequeue;

  Result<std::vector<std::string>> queue_ids = select_messages(layout, action, selection);
  if (!queue_ids) return report_failure(invocation, name, queue_ids.error());
  QueueChange partial;
  Result<QueueChange> change = change_queue(layout, action, *queue_ids, selection.match, &partial);
  if (!change) {
    (void)report_change(name, action, partial);
    return report_failure(invocation, name, change.error());
  }
  if (!change->qmgr_running) {
    // What qmgr would have logged, in the mail log: Postfix's postsuper does the same.
    log::init("postern/postsuper", false);
    for (const ControlResult& result : change->results) {
      if (result.outcome == ControlOutcome::kDone) {
        log::info("{}: {}", result.queue_id, done_text(action));
      }
    }
  }
  return report_change(name, action, *change);
}

}  // namespace

int run_queue(const Invocation& invocation) {
  if (wants_help(invocation.words)) {
    // The first word that is not an option names the command whose help is wanted.
    const QueueAction* wanted = nullptr;
    for (const std::string& word : invocation.words) {
      if (!word.starts_with("-")) {
        wanted = find_action(word);
        break;
      }
    }
    return print_help(wanted ? wanted->usage : kUsage);
  }
  Result<ParsedArgs> args = parse_args(invocation.words, kOptions);
  const QueueAction* action =
      args && !args->operands.empty() ? find_action(args->operands[0]) : nullptr;
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  if (args->operands.empty()) return usage_error(invocation, "which queue command?", kUsage);
  const std::string& name = args->operands[0];
  if (!action) return usage_error(invocation, "unknown queue command " + name, kUsage);

  // Which options each command takes.
  auto allowed = [&](std::initializer_list<std::string_view> names) {
    for (const auto& [option, values] : args->options) {
      if (std::find(names.begin(), names.end(), option) == names.end()) return false;
    }
    return true;
  };
  const size_t operands = args->operands.size();
  bool fits = true;
  if (name == "list") fits = allowed({"--json"}) && operands == 1;
  if (name == "show") fits = allowed({"--json"}) && operands == 2;
  if (name == "flush") fits = allowed({"--domain"}) && operands == 1;
  if (name == "delete") fits = allowed({"--all", "--from", "--to"});
  if (name == "hold" || name == "release") fits = allowed({});
  if (name == "requeue") fits = allowed({"--all"});
  if (!fits) return usage_error(invocation, "wrong options or arguments", action->usage);
  std::optional<std::string> domain = args->value("--domain");
  if (domain && (domain->empty() || domain->size() > 255 ||
                 domain->find_first_of("@ \t\r\n") != std::string::npos)) {
    return usage_error(invocation, "not a domain: " + domain->substr(0, 40), action->usage);
  }

  std::optional<QueueSelection> selection;
  if (name != "list" && name != "show" && name != "flush") {
    int status = kExitUsage;
    selection = parse_selection(invocation, *args, *action, &status);
    if (!selection) return status;
  }

  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return kExitFailed;
  const QueueLayout layout{config->get("queue_directory")};

  if (name == "list") return run_list(invocation, layout, args->has("--json"));
  if (name == "show") return run_show(invocation, layout, args->operands[1], args->has("--json"));
  if (!is_admin(*config)) {
    std::fprintf(stderr, "postern queue %s: only root or %s may do that\n", name.c_str(),
                 config->get("mail_owner").c_str());
    return kExitDenied;
  }
  if (name == "flush") return run_flush(*config, layout, domain);
  return run_change(invocation, layout, name, *selection);
}

}  // namespace postern::cli
