// `postern map query|build`: parses the words and runs cli/map_commands.* (see
// command_groups.hpp). query reads; build writes the compiled tables, so only root or
// mail_owner may run it on a file main.cf names.
#include <unistd.h>

#include <cstdio>

#include "cli/cli_output.hpp"
#include "cli/command_groups.hpp"
#include "cli/exit_codes.hpp"
#include "cli/map_commands.hpp"
#include "lib/base/log.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kUsage =
    "usage: postern [-c config_dir] map query TABLE KEY\n"
    "       postern [-c config_dir] map build FILE\n"
    "TABLE: texthash:/path, hash:/path, lmdb:/path or /path (the same text file), or one of\n"
    "transport_maps, smtp_sasl_password_maps, smtpd_sender_login_maps, alias_maps.\n";

// kParse and kLimit: the table file is broken (5); kConfig: TABLE names no table we have (2).
int map_failure(std::string_view what, const Error& error) {
  std::fprintf(stderr, "postern map %.*s: %s\n", static_cast<int>(what.size()), what.data(),
               error.describe().c_str());
  switch (error.kind) {
    case ErrorKind::kParse:
    case ErrorKind::kLimit:
      return kExitBadConfig;
    case ErrorKind::kConfig:
      return kExitUsage;
    case ErrorKind::kNotFound:
      return kExitNotFound;
    default:
      return kExitFailed;
  }
}

std::string absolute(const std::string& path) {
  if (!path.empty() && path.front() == '/') return path;
  char cwd[4096];
  if (::getcwd(cwd, sizeof cwd) == nullptr) return path;
  return std::string(cwd) + "/" + path;
}

int run_query(const MainConfig& config, const std::string& table, const std::string& key) {
  Result<LookupEntries> entries = read_table(config, table);
  if (!entries) return map_failure("query", entries.error());
  std::optional<std::string> value = query_entries(*entries, key);
  if (!value) {
    std::fprintf(stderr, "postern map query: no key \"%s\" in %s\n",
                 log::printable(key, 100).c_str(), table.c_str());
    return kExitNotFound;
  }
  write_stdout(*value + "\n");
  return finish_stdout();
}

int run_build(const Invocation& invocation, const MainConfig& config, const std::string& given) {
  std::string file = given;
  if (given.find(':') != std::string::npos && given.front() != '/') {
    Result<std::string> path = lookup_table_path(given);
    if (!path) return usage_error(invocation, path.error().message, kUsage);
    file = *path;
  }
  file = absolute(file);
  Result<std::vector<std::string>> naming = parameters_naming(config, file);
  if (!naming) return map_failure("build", naming.error());
  if (!naming->empty() && !is_admin(config)) {
    std::fprintf(stderr, "postern map build: only root or %s may do that\n",
                 config.get("mail_owner").c_str());
    return kExitDenied;
  }
  size_t checked = 0;
  Result<std::vector<BuiltTable>> built = build_table_file(config, file, &checked);
  if (!built) return map_failure("build", built.error());
  if (built->empty()) {
    std::printf(
        "postern map build: %s: %zu entr%s, no errors; no table parameter of main.cf "
        "names it, so nothing was built\n",
        file.c_str(), checked, checked == 1 ? "y" : "ies");
    return finish_stdout();
  }
  std::printf("postern map build: %s: %zu entr%s, no errors\n", file.c_str(), checked,
              checked == 1 ? "y" : "ies");
  for (const BuiltTable& table : *built) {
    std::printf("postern map build: %s: %zu entr%s built into %s (in use at once)\n",
                table.parameter.c_str(), table.entries, table.entries == 1 ? "y" : "ies",
                table.db_dir.c_str());
  }
  return finish_stdout();
}

}  // namespace

int run_map(const Invocation& invocation) {
  if (wants_help(invocation.words)) return print_help(kUsage);
  Result<ParsedArgs> args = parse_args(invocation.words, {});
  if (!args) return usage_error(invocation, args.error().message, kUsage);
  const std::vector<std::string>& operands = args->operands;
  if (operands.empty()) return usage_error(invocation, "which map command?", kUsage);
  const std::string& action = operands[0];
  if (action != "query" && action != "build") {
    return usage_error(invocation, "unknown map command " + action, kUsage);
  }
  if (operands.size() != (action == "query" ? 3u : 2u)) {
    return usage_error(invocation, "wrong number of arguments", kUsage);
  }
  if (operands[1].empty()) return usage_error(invocation, "empty table name", kUsage);
  std::optional<MainConfig> config = load_main_config(invocation);
  if (!config) return kExitFailed;
  if (action == "query") {
    const std::string& table = operands[1];
    if (!is_table_parameter(table) && table.front() != '/' &&
        table.find(':') == std::string::npos) {
      return usage_error(invocation,
                         "\"" + table +
                             "\" is neither type:/path, /path nor a "
                             "table parameter",
                         kUsage);
    }
    return run_query(*config, table, operands[2]);
  }
  return run_build(invocation, *config, operands[1]);
}

}  // namespace postern::cli
