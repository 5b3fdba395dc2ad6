// `postern config show|check|set` (see config_commands.hpp).
#include "cli/config_commands.hpp"

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "cli/cli_output.hpp"
#include "cli/config_file_writer.hpp"
#include "cli/exit_codes.hpp"
#include "cli/main_cf_editor.hpp"
#include "cli/master_check.hpp"
#include "cli/master_process.hpp"
#include "lib/base/log.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/config/parameters.hpp"

namespace postern::cli {
namespace {

constexpr size_t kMaxShownNameBytes = 100;

// No main.cf is a failure (exit 1), not a missing queue ID or user (exit 3).
int missing_main_cf(const Invocation& invocation, const Error& error) {
  if (error.kind != ErrorKind::kNotFound) return report_failure(invocation, "read main.cf", error);
  std::fprintf(stderr, "postern %s: %s (postern setup writes one)\n", invocation.command.c_str(),
               error.message.c_str());
  return kExitFailed;
}

// What a process sees: main.cf read and checked, config_directory the -c directory (as
// postern-master sets it for its workers). nullopt after a message on stderr; *status says
// which exit status.
std::optional<MainConfig> load_checked(const Invocation& invocation, int* status) {
  const std::string dir = absolute_config_dir(invocation.config_dir);
  Result<std::string> text = read_config_file(dir + "/main.cf", kMaxMainCfBytes);
  if (!text) {
    *status = missing_main_cf(invocation, text.error());
    return std::nullopt;
  }
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::parse(*text, dir + "/main.cf", &warnings);
  if (config) {
    if (Status set = config->set("config_directory", dir); !set) config = set.error();
  }
  if (!config) {
    std::fprintf(stderr, "postern config: %s\n", config.error().describe().c_str());
    *status = kExitBadConfig;
    return std::nullopt;
  }
  return std::move(config).value();
}

std::string expanded_or_raw(const MainConfig& config, const std::string& name) {
  if (find_parameter(name) != nullptr) return config.get(name);
  Result<std::string> expanded = config.expand_text(config.raw(name));
  return expanded ? std::move(expanded).value() : config.raw(name);
}

std::string raw_of(const MainConfig& config, const std::string& name) {
  auto it = config.explicit_values().find(name);
  if (it != config.explicit_values().end()) return it->second;
  return config.raw(name);
}

bool set_in_file(const MainConfig& config, const std::string& name) {
  return config.explicit_values().count(name) != 0 && !config.set_by_override(name);
}

nlohmann::json describe(const MainConfig& config, const std::string& name) {
  const ParamSpec* spec = find_parameter(name);
  nlohmann::json entry;
  entry["value"] = expanded_or_raw(config, name);
  entry["raw"] = raw_of(config, name);
  entry["type"] = spec != nullptr ? std::string(param_type_name(spec->type)) : "unknown";
  entry["default"] = spec != nullptr ? std::string(spec->default_value) : "";
  entry["set_in_main_cf"] = set_in_file(config, name);
  return entry;
}

}  // namespace

int config_show(const Invocation& invocation, const ConfigShowOptions& options) {
  int status = kExitFailed;
  std::optional<MainConfig> config = load_checked(invocation, &status);
  if (!config) return status;

  std::vector<std::string> names;
  int result = kExitOk;
  if (!options.names.empty()) {
    for (const std::string& name : options.names) {
      bool known = find_parameter(name) != nullptr || set_in_file(*config, name);
      if (!known || (options.only_set && !set_in_file(*config, name))) {
        std::fprintf(stderr, "postern config show: %s: %s\n",
                     log::printable(name, kMaxShownNameBytes).c_str(),
                     known ? "not set in main.cf" : "unknown parameter");
        result = kExitNotFound;
        continue;
      }
      names.push_back(name);
    }
  } else if (options.only_set) {
    for (const auto& [name, value] : config->explicit_values()) {
      if (set_in_file(*config, name)) names.push_back(name);
    }
  } else {
    std::map<std::string, bool> all;  // sorted; the file's unknown names among them
    for (const ParamSpec& spec : all_parameters()) all[std::string(spec.name)] = true;
    for (const auto& [name, value] : config->explicit_values()) {
      if (set_in_file(*config, name)) all[name] = true;
    }
    for (const auto& [name, unused] : all) names.push_back(name);
  }

  if (options.json) {
    nlohmann::json document = nlohmann::json::object();
    for (const std::string& name : names) document[name] = describe(*config, name);
    print_json(document);
  } else {
    for (const std::string& name : names) {
      std::string value = options.expand ? expanded_or_raw(*config, name) : raw_of(*config, name);
      std::string line = value.empty() ? name + " =\n" : name + " = " + value + "\n";
      write_stdout(line);
    }
  }
  int written = finish_stdout();
  return result != kExitOk ? result : written;
}

int config_check(const Invocation& invocation) {
  int status = kExitFailed;
  std::optional<MainConfig> config = load_checked(invocation, &status);
  if (!config) return status;
  const std::string dir = absolute_config_dir(invocation.config_dir);
  Result<MasterCheck> check = run_master_check(*config, dir);
  if (!check) return report_failure(invocation, "check", check.error());
  if (check->exit_status != 0) {
    std::fputs(check->output.c_str(), stderr);
    std::fprintf(stderr, "postern config check: %s has errors (%s -t exited %d)\n", dir.c_str(),
                 check->program.c_str(), check->exit_status);
    return kExitBadConfig;
  }
  std::fputs(check->output.c_str(), stdout);
  std::printf("postern config check: %s is usable\n", dir.c_str());
  return finish_stdout();
}

int config_set(const Invocation& invocation, const std::vector<std::string>& assignments) {
  const std::string dir = absolute_config_dir(invocation.config_dir);
  const std::string path = dir + "/main.cf";
  // Every NAME=VALUE checked before main.cf is read.
  std::vector<std::pair<std::string, std::string>> wanted;
  for (const std::string& assignment : assignments) {
    size_t equals = assignment.find('=');
    std::string_view name = std::string_view(assignment).substr(0, equals);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
    if (equals == std::string::npos || !valid_parameter_name(name)) {
      std::fprintf(stderr, "postern config set: \"%s\" is not NAME=VALUE\n",
                   log::printable(assignment, kMaxShownNameBytes).c_str());
      return kExitUsage;
    }
    if (find_parameter(name) == nullptr) {
      std::fprintf(stderr, "postern config set: unknown parameter %s (see postern.cf(5))\n",
                   std::string(name).c_str());
      return kExitNotFound;
    }
    std::string_view value = std::string_view(assignment).substr(equals + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (Status text = check_value_text(name, value); !text) {
      std::fprintf(stderr, "postern config set: %s\n", text.error().message.c_str());
      return kExitBadConfig;
    }
    wanted.emplace_back(std::string(name), std::string(value));
  }

  Result<UniqueFd> lock = lock_config_directory(dir);
  if (!lock) return report_failure(invocation, "lock", lock.error());
  Result<std::string> old_text = read_config_file(path, kMaxMainCfBytes);
  if (!old_text) return missing_main_cf(invocation, old_text.error());
  Result<MainCfEditor> editor = MainCfEditor::parse(*old_text);
  if (!editor) return report_failure(invocation, path, editor.error());
  std::vector<std::string> report;
  for (const auto& [name, value] : wanted) {
    std::string before;
    bool was_set = editor->get(name, &before);
    Result<bool> changed = editor->set(name, value);
    if (!changed) {
      std::fprintf(stderr, "postern config set: %s\n", changed.error().message.c_str());
      return kExitBadConfig;
    }
    if (*changed) {
      report.push_back(name + ": " +
                       (was_set ? (before.empty() ? "(empty)" : before) : "(not set)") + " -> " +
                       (value.empty() ? "(empty)" : value));
    }
  }
  // The whole new file as every process will read it: a bad value is refused here, main.cf
  // untouched.
  Result<MainConfig> checked = MainConfig::parse(editor->text(), path, nullptr);
  if (checked) {
    if (Status set = checked->set("config_directory", dir); !set) checked = set.error();
  }
  if (!checked) {
    std::fprintf(stderr, "postern config set: %s; main.cf not changed\n",
                 checked.error().describe().c_str());
    return kExitBadConfig;
  }
  if (report.empty()) {
    std::printf("postern config set: main.cf already says so: nothing changed\n");
    return kExitOk;
  }
  Result<WriteOutcome> written = replace_file(path, editor->text(), NewFileMode{});
  if (!written) return report_failure(invocation, "write main.cf", written.error());
  for (const std::string& line : report) std::printf("postern config set: %s\n", line.c_str());

  Result<pid_t> reloaded = reload_master(*checked);
  if (reloaded) {
    std::printf(
        "postern config set: postern-master (pid %d) reloaded: the new values are in "
        "effect\n",
        static_cast<int>(*reloaded));
  } else if (reloaded.error().kind == ErrorKind::kTemporary) {
    std::printf(
        "postern config set: postern-master is not running: the new values take effect "
        "at its start\n");
  } else {
    return report_failure(invocation, "reload", reloaded.error());
  }
  return finish_stdout();
}

}  // namespace postern::cli
