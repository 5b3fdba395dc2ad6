// One run of the `postern` command as the subcommands see it: the configuration directory (-c)
// and the words after the subcommand's name, plus what every subcommand needs around them:
// loading main.cf, --help, who may change things, and turning an Error into a message on stderr
// and an exit status (cli/exit_codes.hpp). Runs in the `postern` command.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/cli_args.hpp"
#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"

namespace postern::cli {

inline constexpr const char* kDefaultConfigDir = "/etc/postern";

struct Invocation {
  std::string config_dir = kDefaultConfigDir;
  std::string command;             // "queue"
  std::vector<std::string> words;  // what follows it: "list", "--json"

  std::string main_cf_path() const { return config_dir + "/main.cf"; }
};

// main.cf of this invocation; on failure prints "postern: <why>" and returns nullopt.
std::optional<MainConfig> load_main_config(const Invocation& invocation);

// -h or --help among the words (before a "--").
bool wants_help(const std::vector<std::string>& words);

// Prints usage_text on stdout and returns kExitOk (for --help).
int print_help(std::string_view usage_text);
// Prints "postern <command>: <problem>" and usage_text on stderr; returns kExitUsage.
int usage_error(const Invocation& invocation, std::string_view problem,
                std::string_view usage_text);
// Prints "postern <command> <what>: <error>" on stderr; returns kExitNotFound for a
// not-found error, kExitBadConfig for a configuration error, kExitNotRunning for a temporary
// one (postern-master or qmgr not there to ask), kExitFailed otherwise.
int report_failure(const Invocation& invocation, std::string_view what, const Error& error);

struct UserIds {
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};
// mail_owner's uid and primary gid, or a kConfig error when there is no such user.
Result<UserIds> mail_owner_ids(const MainConfig& config);
// Who should own a file the daemons read (a compiled table): mail_owner when we run as root;
// otherwise (-1, -1), the files stay this user's.
Result<UserIds> daemon_file_owner(const MainConfig& config);

// Root, or the user the daemons run as (mail_owner): who may change the queue and the data.
bool is_admin(const MainConfig& config);

}  // namespace postern::cli
