// `postern setup ...`: parses and checks the words, reads the relay password from stdin, and
// runs cli/setup_command.* (see command_groups.hpp). Every value is checked here or in
// cli/setup_modes.cpp; a bad one is a usage error (exit 2) and nothing is written.
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/password_prompt.hpp"
#include "cli/setup_command.hpp"
#include "cli/setup_modes.hpp"
#include "lib/auth/password_hash.hpp"

namespace postern::cli {
namespace {

static_assert(kMaxRelayPasswordBytes == kMaxPasswordBytes,
              "the relay password's limit is the shared reader's");

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] setup --mode internet|smarthost|satellite|local\n"
    "           [--domain DOMAIN]... [--mailname NAME] [--relayhost HOST[:PORT]]\n"
    "           [--relay-user USER --relay-password-stdin]\n"
    "           [--listen all|loopback|ADDR[,ADDR...]] [--dry-run]\n"
    "\n"
    "  internet   mail received on every interface, sent straight to each domain's MX\n"
    "  smarthost  mail received on every interface, sent through --relayhost\n"
    "  satellite  nothing received from the network; all mail sent through --relayhost\n"
    "  local      loopback only, local delivery only: nothing leaves this machine\n"
    "\n"
    "Writes main.cf (keeping the admin's other lines), the mail name file myorigin names,\n"
    "the relay login (mode 0600); checks with postern-master -t; reloads a running master.\n"
    "See postern(8).\n";

}  // namespace

int run_setup(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {{"--mode", true},
                                                          {"--domain", true, true},
                                                          {"--mailname", true},
                                                          {"--relayhost", true},
                                                          {"--relay-user", true},
                                                          {"--relay-password-stdin"},
                                                          {"--listen", true},
                                                          {"--dry-run"}});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  if (!args->operands.empty()) {
    return usage_error(invocation, "unexpected argument " + args->operands.front(), kUsage);
  }
  std::optional<std::string> mode_name = args->value("--mode");
  if (!mode_name) return usage_error(invocation, "--mode is required", kUsage);
  std::optional<SetupMode> mode = parse_setup_mode(*mode_name);
  if (!mode) return usage_error(invocation, "unknown mode " + *mode_name, kUsage);
  const ModeInfo& info = mode_info(*mode);

  SetupOptions options;
  options.mode = *mode;
  options.dry_run = args->has("--dry-run");
  if (args->values("--domain").size() > kMaxSetupDomains) {
    return usage_error(invocation, "more than " + std::to_string(kMaxSetupDomains) + " --domain",
                       kUsage);
  }
  for (const std::string& domain : args->values("--domain")) {
    Result<std::string> normalized = normalize_domain(domain);
    if (!normalized)
      return usage_error(invocation, "--domain: " + normalized.error().message, kUsage);
    if (std::find(options.domains.begin(), options.domains.end(), *normalized) ==
        options.domains.end()) {
      options.domains.push_back(std::move(normalized).value());
    }
  }
  if (std::optional<std::string> mailname = args->value("--mailname")) {
    Result<std::string> normalized = normalize_domain(*mailname);
    if (!normalized) {
      return usage_error(invocation, "--mailname: " + normalized.error().message, kUsage);
    }
    options.mailname = std::move(normalized).value();
  }
  std::optional<std::string> relayhost = args->value("--relayhost");
  if (info.needs_relayhost && !relayhost) {
    return usage_error(invocation, "--mode " + *mode_name + " needs --relayhost", kUsage);
  }
  if (!info.needs_relayhost && relayhost) {
    return usage_error(invocation, "--mode " + *mode_name + " sends no mail to a relay host",
                       kUsage);
  }
  if (relayhost) {
    Result<std::string> normalized = normalize_relayhost(*relayhost);
    if (!normalized)
      return usage_error(invocation, "--relayhost: " + normalized.error().message, kUsage);
    options.relayhost = std::move(normalized).value();
  }
  const bool password_stdin = args->has("--relay-password-stdin");
  if (std::optional<std::string> user = args->value("--relay-user")) {
    if (!info.needs_relayhost) {
      return usage_error(invocation, "--relay-user needs a mode with a relay host", kUsage);
    }
    if (Status checked = check_relay_user(*user); !checked) {
      return usage_error(invocation, checked.error().message, kUsage);
    }
    if (!password_stdin) {
      return usage_error(invocation, "--relay-user needs --relay-password-stdin", kUsage);
    }
    options.relay_user = *user;
  } else if (password_stdin) {
    return usage_error(invocation, "--relay-password-stdin needs --relay-user", kUsage);
  }
  if (std::optional<std::string> listen = args->value("--listen")) {
    Result<std::string> normalized = normalize_listen(*listen);
    if (!normalized) return usage_error(invocation, normalized.error().message, kUsage);
    options.listen = std::move(normalized).value();
  }
  if (password_stdin) {
    // A pipe (the postinst, a script): one line. A terminal (an admin by hand): asked twice
    // with echo off (cli/password_prompt.hpp restores the echo however the prompt ends).
    Result<SecretText> password =
        ::isatty(STDIN_FILENO) != 0
            ? prompt_new_password(*options.relay_user + " at " + options.relayhost)
            : read_password_line(STDIN_FILENO);
    if (!password) {
      return usage_error(invocation, "relay password: " + password.error().describe(), kUsage);
    }
    if (Status checked = check_relay_password(password->view()); !checked) {
      return usage_error(invocation, checked.error().message, kUsage);
    }
    options.relay_password = std::string(password->view());
  }
  return run_setup_command(invocation, options);
}

}  // namespace postern::cli
