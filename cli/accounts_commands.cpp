// The edit-write-reload sequence and the listings of `postern user|alias|domain`
// (see accounts_commands.hpp).
#include "cli/accounts_commands.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdio>

#include "cli/accounts_edit.hpp"
#include "cli/accounts_file.hpp"
#include "cli/accounts_reload.hpp"
#include "cli/exit_codes.hpp"

namespace postern::cli {
namespace {

bool in_domain(std::string_view address, const std::string& domain) {
  return domain.empty() || domain_of(address) == domain;
}

Status require_listed_domain(const AccountsData& data, const std::string& domain) {
  if (!domain.empty() && !data.domains.count(domain)) {
    return Error::not_found("no domain " + domain);
  }
  return Status::success();
}

}  // namespace

int accounts_exit_status(const Error& error) {
  switch (error.kind) {
    case ErrorKind::kParse:
      return kExitUsage;
    case ErrorKind::kNotFound:
      return kExitNotFound;
    case ErrorKind::kConfig:
      return kExitBadConfig;
    default:
      return kExitFailed;
  }
}

int report_accounts_error(const Invocation& invocation, const Error& error) {
  std::fprintf(stderr, "postern %s: %s\n", invocation.command.c_str(), error.describe().c_str());
  return accounts_exit_status(error);
}

int edit_accounts(const Invocation& invocation, const MainConfig& config, const AccountsEdit& edit,
                  std::string_view done) {
  const std::string configured = config.get("accounts_file");
  Result<AccountsFileLock> lock = AccountsFileLock::acquire(configured);
  if (!lock) return report_accounts_error(invocation, lock.error());
  Result<AccountsFile> file = read_accounts_file(configured);
  if (!file) return report_accounts_error(invocation, file.error());
  AccountsData data = file->data;
  if (Status edited = edit(data); !edited) return report_accounts_error(invocation, edited.error());
  if (Status written = write_accounts_file(*file, data); !written) {
    return report_accounts_error(invocation, written.error());
  }
  if (file->mode & S_IROTH) {
    std::fprintf(stderr,
                 "postern %s: warning: %s is readable by others but holds password hashes "
                 "(chmod 0600)\n",
                 invocation.command.c_str(), file->path.c_str());
  }

  ReloadReport reload = reload_accounts(config, data);
  const std::string what = fmt::format("postern {}: {}", invocation.command, done);
  switch (reload.outcome) {
    case ReloadOutcome::kLoaded:
      std::printf("%s; postern-master (pid %d) has loaded it\n", what.c_str(),
                  static_cast<int>(reload.master_pid));
      return kExitOk;
    case ReloadOutcome::kNotRunning:
      std::printf(
          "%s (written to %s); postern-master is not running: it takes effect when it "
          "starts\n",
          what.c_str(), file->path.c_str());
      return kExitOk;
    case ReloadOutcome::kNotSeen:
      std::fprintf(stderr,
                   "%s (written to %s), and postern-master (pid %d) was told to reload, but %s: "
                   "see its "
                   "log (a reload refused for another reason keeps the old accounts)\n",
                   what.c_str(), file->path.c_str(), static_cast<int>(reload.master_pid),
                   reload.detail.c_str());
      return kExitFailed;
    case ReloadOutcome::kFailed:
      break;
  }
  std::fprintf(stderr, "%s (written to %s), but postern-master could not be told to reload: %s\n",
               what.c_str(), file->path.c_str(), reload.detail.c_str());
  return kExitFailed;
}

Result<nlohmann::json> list_users(const AccountsData& data, const std::string& domain) {
  if (Status known = require_listed_domain(data, domain); !known) return known.error();
  nlohmann::json users = nlohmann::json::array();
  for (const auto& [address, hash] : data.passwords) {
    if (!in_domain(address, domain)) continue;
    nlohmann::json send_as = nlohmann::json::array();
    if (auto found = data.send_as.find(address); found != data.send_as.end()) {
      for (const std::string& item : found->second) send_as.push_back(item);
    }
    users.push_back({{"address", address},
                     {"domain", std::string(domain_of(address))},
                     {"login", !hash.empty()},
                     {"send_as", send_as}});
  }
  return users;
}

Result<nlohmann::json> list_aliases(const AccountsData& data, const std::string& domain) {
  if (Status known = require_listed_domain(data, domain); !known) return known.error();
  nlohmann::json aliases = nlohmann::json::array();
  for (const auto& [address, targets] : data.aliases) {
    if (!in_domain(address, domain)) continue;
    aliases.push_back({{"address", address}, {"targets", targets}});
  }
  return aliases;
}

nlohmann::json list_domains(const AccountsData& data) {
  nlohmann::json domains = nlohmann::json::array();
  for (const std::string& domain : data.domains) {
    size_t users = 0;
    size_t aliases = 0;
    for (const auto& entry : data.passwords) users += domain_of(entry.first) == domain;
    for (const auto& entry : data.aliases) aliases += domain_of(entry.first) == domain;
    nlohmann::json catch_all = nlohmann::json::array();
    if (auto found = data.catch_alls.find(domain); found != data.catch_alls.end()) {
      for (const std::string& target : found->second) catch_all.push_back(target);
    }
    domains.push_back(
        {{"domain", domain}, {"users", users}, {"aliases", aliases}, {"catch_all", catch_all}});
  }
  return domains;
}

std::string users_text(const nlohmann::json& users) {
  std::string text;
  for (const nlohmann::json& user : users) {
    text += user["address"].get<std::string>();
    if (!user["login"].get<bool>()) text += "  (no password: cannot log in)";
    if (!user["send_as"].empty()) {
      text += "  send_as:";
      for (const nlohmann::json& address : user["send_as"])
        text += " " + address.get<std::string>();
    }
    text += '\n';
  }
  return text;
}

std::string aliases_text(const nlohmann::json& aliases) {
  std::string text;
  for (const nlohmann::json& alias : aliases) {
    text += alias["address"].get<std::string>() + ":";
    const char* separator = " ";
    for (const nlohmann::json& target : alias["targets"]) {
      text += separator + target.get<std::string>();
      separator = ", ";
    }
    text += '\n';
  }
  return text;
}

std::string domains_text(const nlohmann::json& domains) {
  std::string text;
  for (const nlohmann::json& domain : domains) {
    const size_t users = domain["users"].get<size_t>();
    const size_t aliases = domain["aliases"].get<size_t>();
    text += fmt::format("{}  {} user{}, {} alias{}", domain["domain"].get<std::string>(), users,
                        users == 1 ? "" : "s", aliases, aliases == 1 ? "" : "es");
    if (!domain["catch_all"].empty()) {
      text += ", catch-all:";
      for (const nlohmann::json& target : domain["catch_all"]) {
        text += " " + target.get<std::string>();
      }
    }
    text += '\n';
  }
  return text;
}

}  // namespace postern::cli
