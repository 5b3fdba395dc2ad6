// What every subcommand of `postern` shares (see invocation.hpp).
#include "cli/invocation.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdio>

#include "cli/exit_codes.hpp"

namespace postern::cli {

std::optional<MainConfig> load_main_config(const Invocation& invocation) {
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::load(invocation.main_cf_path(), &warnings);
  if (!config) {
    std::fprintf(stderr, "postern: %s\n", config.error().describe().c_str());
    return std::nullopt;
  }
  return std::move(config).value();
}

bool wants_help(const std::vector<std::string>& words) {
  for (const std::string& word : words) {
    if (word == "--") return false;
    if (word == "-h" || word == "--help") return true;
  }
  return false;
}

int print_help(std::string_view usage_text) {
  std::fwrite(usage_text.data(), 1, usage_text.size(), stdout);
  return kExitOk;
}

int usage_error(const Invocation& invocation, std::string_view problem,
                std::string_view usage_text) {
  std::fprintf(stderr, "postern %s: %.*s\n", invocation.command.c_str(),
               static_cast<int>(problem.size()), problem.data());
  std::fwrite(usage_text.data(), 1, usage_text.size(), stderr);
  return kExitUsage;
}

int report_failure(const Invocation& invocation, std::string_view what, const Error& error) {
  std::fprintf(stderr, "postern %s %.*s: %s\n", invocation.command.c_str(),
               static_cast<int>(what.size()), what.data(), error.describe().c_str());
  switch (error.kind) {
    case ErrorKind::kNotFound:
      return kExitNotFound;
    case ErrorKind::kConfig:
      return kExitBadConfig;
    case ErrorKind::kTemporary:
      return kExitNotRunning;
    default:
      return kExitFailed;
  }
}

Result<UserIds> mail_owner_ids(const MainConfig& config) {
  const std::string mail_owner = config.get("mail_owner");
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  if (::getpwnam_r(mail_owner.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    return Error::config("mail_owner " + mail_owner + ": no such user");
  }
  return UserIds{found->pw_uid, found->pw_gid};
}

Result<UserIds> daemon_file_owner(const MainConfig& config) {
  if (::geteuid() != 0) return UserIds{};
  return mail_owner_ids(config);
}

bool is_admin(const MainConfig& config) {
  if (::geteuid() == 0) return true;
  Result<UserIds> owner = mail_owner_ids(config);
  return owner && owner->uid == ::geteuid();
}

}  // namespace postern::cli
