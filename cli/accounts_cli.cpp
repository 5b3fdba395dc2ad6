// `postern user|alias|domain ...`: parses the words, checks who runs a changing command
// (root or mail_owner, else exit 6), and runs cli/accounts_commands.* (see command_groups.hpp).
// Names on the command line are checked by cli/accounts_edit.* before use; a password is never
// taken from argv (cli/password_prompt.hpp).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "cli/accounts_commands.hpp"
#include "cli/accounts_edit.hpp"
#include "cli/accounts_file.hpp"
#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/password_prompt.hpp"
#include "lib/auth/password_hash.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUserUsage =
    "usage: postern [-c config_dir] user add ADDRESS [--password-stdin] [--create-domain]\n"
    "       postern [-c config_dir] user passwd ADDRESS [--password-stdin]\n"
    "       postern [-c config_dir] user del ADDRESS\n"
    "       postern [-c config_dir] user list [DOMAIN] [--json]\n"
    "The password is asked twice on the terminal, or read as one line from standard input\n"
    "with --password-stdin; it is never taken from the command line.\n";

constexpr std::string_view kAliasUsage =
    "usage: postern [-c config_dir] alias add ADDRESS TARGET...\n"
    "       postern [-c config_dir] alias del ADDRESS [TARGET]\n"
    "       postern [-c config_dir] alias list [DOMAIN] [--json]\n"
    "A TARGET is a local part (in the alias's domain) or a full address.\n";

constexpr std::string_view kDomainUsage =
    "usage: postern [-c config_dir] domain add DOMAIN\n"
    "       postern [-c config_dir] domain del DOMAIN [--force]\n"
    "       postern [-c config_dir] domain list [--json]\n";

// The parsed words of one command: its action, operands after it, and options.
struct Words {
  std::string action;
  std::vector<std::string> operands;
  ParsedArgs args;
};

// nullopt after a usage error (already printed; *status set).
std::optional<Words> parse_words(const Invocation& invocation, const std::vector<OptionSpec>& spec,
                                 std::string_view usage, int* status) {
  Result<ParsedArgs> args = parse_args(invocation.words, spec);
  if (!args) {
    *status = usage_error(invocation, args.error().message, usage);
    return std::nullopt;
  }
  if (args->operands.empty()) {
    *status = usage_error(invocation, "which " + invocation.command + " command?", usage);
    return std::nullopt;
  }
  Words words{args->operands.front(), {}, std::move(args).value()};
  words.operands.assign(words.args.operands.begin() + 1, words.args.operands.end());
  return words;
}

// Options only some actions take: anything else given is a usage error.
bool only_options(const Invocation& invocation, const Words& words,
                  std::initializer_list<std::string_view> allowed, std::string_view usage,
                  int* status) {
  for (const auto& [name, values] : words.args.options) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      *status = usage_error(invocation, name + " does not go with " + words.action, usage);
      return false;
    }
  }
  return true;
}

bool operand_count(const Invocation& invocation, const Words& words, size_t least, size_t most,
                   std::string_view usage, int* status) {
  if (words.operands.size() < least || words.operands.size() > most) {
    *status = usage_error(invocation, "wrong number of arguments for " + words.action, usage);
    return false;
  }
  return true;
}

// main.cf, then who runs a changing command; nullopt with *status set otherwise.
std::optional<MainConfig> config_for(const Invocation& invocation, bool changes, int* status) {
  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) {
    *status = kExitFailed;
    return std::nullopt;
  }
  if (changes && !is_admin(*config)) {
    std::fprintf(stderr, "postern %s: only root or %s may do that\n", invocation.command.c_str(),
                 config->get("mail_owner").c_str());
    *status = kExitDenied;
    return std::nullopt;
  }
  return config;
}

int print_listing(const Result<nlohmann::json>& listing, bool json, const Invocation& invocation,
                  std::string (*as_text)(const nlohmann::json&)) {
  if (!listing) return report_accounts_error(invocation, listing.error());
  if (json) {
    print_json(*listing);
  } else {
    write_stdout(as_text(*listing));
  }
  return finish_stdout();
}

// The accounts as they are in the file now (for listings and the checks before a prompt).
std::optional<AccountsData> current_accounts(const Invocation& invocation, const MainConfig& config,
                                             int* status) {
  Result<AccountsFile> file = read_accounts_file(config.get("accounts_file"));
  if (!file) {
    *status = report_accounts_error(invocation, file.error());
    return std::nullopt;
  }
  return std::move(file->data);
}

// The new password's hash, from stdin or the terminal.
Result<std::string> new_password_hash(const Words& words, const AccountAddress& user) {
  Result<SecretText> password = words.args.has("--password-stdin")
                                    ? read_password_line(STDIN_FILENO)
                                    : prompt_new_password(user.full());
  if (!password) {
    Error error = password.error();
    if (error.kind == ErrorKind::kParse) error.kind = ErrorKind::kPermanent;  // not a usage error
    return error;
  }
  return make_password_hash(password->view());
}

int run_user_change(const Invocation& invocation, const Words& words, int status) {
  const bool takes_password = words.action == "add" || words.action == "passwd";
  if (!operand_count(invocation, words, 1, 1, kUserUsage, &status)) return status;
  if (words.action == "add" &&
      !only_options(invocation, words, {"--password-stdin", "--create-domain"}, kUserUsage,
                    &status)) {
    return status;
  }
  if (words.action != "add" &&
      !only_options(invocation, words,
                    takes_password ? std::initializer_list<std::string_view>{"--password-stdin"}
                                   : std::initializer_list<std::string_view>{},
                    kUserUsage, &status)) {
    return status;
  }
  Result<AccountAddress> user = parse_account_address(words.operands[0]);
  if (!user) return usage_error(invocation, user.error().message, kUserUsage);
  std::optional<MainConfig> config = config_for(invocation, true, &status);
  if (!config) return status;

  if (words.action == "del") {
    std::vector<std::string> naming;
    const int deleted = edit_accounts(
        invocation, *config,
        [&](AccountsData& data) {
          naming = aliases_naming(data, user->full());
          return delete_user(data, *user);
        },
        user->full() + " deleted");
    if (deleted == kExitOk && !naming.empty()) {
      std::string list;
      for (const std::string& alias : naming) list += (list.empty() ? "" : ", ") + alias;
      std::fprintf(stderr, "postern user: note: still named by alias %s\n", list.c_str());
    }
    return deleted;
  }
  // Checked before the prompt, so that nobody types a password for a command that fails.
  std::optional<AccountsData> now = current_accounts(invocation, *config, &status);
  if (!now) return status;
  const bool create_domain = words.args.has("--create-domain");
  AccountsData trial = *now;
  Status possible = Status::success();
  if (words.action == "add") {
    if (create_domain && !trial.domains.count(user->domain)) {
      possible = add_domain(trial, user->domain);
    }
    if (possible) possible = add_user(trial, *user, "");
  } else {
    possible = set_user_password(trial, *user, "");
  }
  if (!possible) {
    Error error = possible.error();
    if (error.kind == ErrorKind::kNotFound && words.action == "add") {
      error.message += " (add it with `postern domain add`, or give --create-domain)";
    }
    return report_accounts_error(invocation, error);
  }
  Result<std::string> hash = new_password_hash(words, *user);
  if (!hash) return report_accounts_error(invocation, hash.error());

  if (words.action == "passwd") {
    return edit_accounts(
        invocation, *config,
        [&](AccountsData& data) { return set_user_password(data, *user, *hash); },
        "password of " + user->full() + " changed");
  }
  return edit_accounts(
      invocation, *config,
      [&](AccountsData& data) {
        if (create_domain && !data.domains.count(user->domain)) {
          if (Status added = add_domain(data, user->domain); !added) return added;
        }
        return add_user(data, *user, *hash);
      },
      user->full() + " added");
}

}  // namespace

int run_user(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUserUsage);
  int status = kExitUsage;
  std::optional<Words> words = parse_words(
      invocation, {{"--password-stdin"}, {"--create-domain"}, {"--json"}}, kUserUsage, &status);
  if (!words) return status;
  if (words->action == "list") {
    if (!only_options(invocation, *words, {"--json"}, kUserUsage, &status) ||
        !operand_count(invocation, *words, 0, 1, kUserUsage, &status)) {
      return status;
    }
    std::string domain;
    if (!words->operands.empty()) {
      Result<std::string> parsed = parse_domain_argument(words->operands[0]);
      if (!parsed) return usage_error(invocation, parsed.error().message, kUserUsage);
      domain = *parsed;
    }
    std::optional<MainConfig> config = config_for(invocation, false, &status);
    if (!config) return status;
    std::optional<AccountsData> data = current_accounts(invocation, *config, &status);
    if (!data) return status;
    return print_listing(list_users(*data, domain), words->args.has("--json"), invocation,
                         users_text);
  }
  if (words->action != "add" && words->action != "passwd" && words->action != "del") {
    return usage_error(invocation, "unknown user command " + words->action, kUserUsage);
  }
  return run_user_change(invocation, *words, status);
}

int run_alias(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kAliasUsage);
  int status = kExitUsage;
  std::optional<Words> words = parse_words(invocation, {{"--json"}}, kAliasUsage, &status);
  if (!words) return status;
  const std::string& action = words->action;
  if (action == "list") {
    if (!operand_count(invocation, *words, 0, 1, kAliasUsage, &status)) return status;
    std::string domain;
    if (!words->operands.empty()) {
      Result<std::string> parsed = parse_domain_argument(words->operands[0]);
      if (!parsed) return usage_error(invocation, parsed.error().message, kAliasUsage);
      domain = *parsed;
    }
    std::optional<MainConfig> config = config_for(invocation, false, &status);
    if (!config) return status;
    std::optional<AccountsData> data = current_accounts(invocation, *config, &status);
    if (!data) return status;
    return print_listing(list_aliases(*data, domain), words->args.has("--json"), invocation,
                         aliases_text);
  }
  if (action != "add" && action != "del") {
    return usage_error(invocation, "unknown alias command " + action, kAliasUsage);
  }
  if (!only_options(invocation, *words, {}, kAliasUsage, &status)) return status;
  const size_t most = action == "add" ? kMaxAliasTargets + 1 : 2;
  if (!operand_count(invocation, *words, action == "add" ? 2 : 1, most, kAliasUsage, &status)) {
    return status;
  }
  Result<AccountAddress> alias = parse_account_address(words->operands[0]);
  if (!alias) return usage_error(invocation, alias.error().message, kAliasUsage);
  std::optional<MainConfig> config = config_for(invocation, true, &status);
  if (!config) return status;
  const std::vector<std::string> targets(words->operands.begin() + 1, words->operands.end());
  if (action == "add") {
    return edit_accounts(
        invocation, *config,
        [&](AccountsData& data) -> Status {
          Result<size_t> added = add_alias(data, *alias, targets);
          if (!added) return added.error();
          return Status::success();
        },
        "alias " + alias->full() + " set");
  }
  return edit_accounts(
      invocation, *config,
      [&](AccountsData& data) {
        return delete_alias(data, *alias, targets.empty() ? nullptr : &targets.front());
      },
      targets.empty() ? "alias " + alias->full() + " deleted"
                      : "target " + targets.front() + " removed from alias " + alias->full());
}

int run_domain(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kDomainUsage);
  int status = kExitUsage;
  std::optional<Words> words =
      parse_words(invocation, {{"--json"}, {"--force"}}, kDomainUsage, &status);
  if (!words) return status;
  const std::string& action = words->action;
  if (action == "list") {
    if (!only_options(invocation, *words, {"--json"}, kDomainUsage, &status) ||
        !operand_count(invocation, *words, 0, 0, kDomainUsage, &status)) {
      return status;
    }
    std::optional<MainConfig> config = config_for(invocation, false, &status);
    if (!config) return status;
    std::optional<AccountsData> data = current_accounts(invocation, *config, &status);
    if (!data) return status;
    return print_listing(list_domains(*data), words->args.has("--json"), invocation, domains_text);
  }
  if (action != "add" && action != "del") {
    return usage_error(invocation, "unknown domain command " + action, kDomainUsage);
  }
  if (!only_options(invocation, *words,
                    action == "del" ? std::initializer_list<std::string_view>{"--force"}
                                    : std::initializer_list<std::string_view>{},
                    kDomainUsage, &status) ||
      !operand_count(invocation, *words, 1, 1, kDomainUsage, &status)) {
    return status;
  }
  Result<std::string> domain = parse_domain_argument(words->operands[0]);
  if (!domain) return usage_error(invocation, domain.error().message, kDomainUsage);
  std::optional<MainConfig> config = config_for(invocation, true, &status);
  if (!config) return status;
  if (action == "add") {
    return edit_accounts(
        invocation, *config, [&](AccountsData& data) { return add_domain(data, *domain); },
        "domain " + *domain + " added");
  }
  const bool force = words->args.has("--force");
  return edit_accounts(
      invocation, *config, [&](AccountsData& data) { return delete_domain(data, *domain, force); },
      "domain " + *domain + " deleted");
}

}  // namespace postern::cli
