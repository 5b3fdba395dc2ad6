// Loading master's configuration snapshot (master/master_config.hpp). Process: master, at
// start, for `postern-master -t`, and on SIGHUP. Trusts nothing beyond what the main.cf,
// master.cf and accounts parsers check (they bound line length, file size and counts); adds
// the checks that need all three files together.
#include "master/master_config.hpp"

#include <unistd.h>

#include <fmt/format.h>

namespace postern::master {

Result<MasterConfig> load_master_config(const std::string& config_dir) {
  MasterConfig config;
  config.config_dir = config_dir;
  auto main_cf = MainConfig::load(config_dir + "/main.cf", &config.warnings);
  if (!main_cf) return main_cf.error();
  config.main = std::move(main_cf).value();
  if (Status set = config.main.set("config_directory", config_dir); !set) return set.error();

  auto services = load_master_cf(config_dir + "/master.cf");
  if (!services) return services.error();
  config.services = std::move(services).value();
  for (const ServiceEntry& service : config.services) {
    if (service.command.find('/') != std::string::npos && service.command.front() != '/') {
      return Error::config(fmt::format("{}/master.cf:{}: command {}: expected a program name "
                                       "or an absolute path",
                                       config_dir, service.line, service.command));
    }
  }

  std::string accounts_file = config.main.get("accounts_file");
  auto accounts = load_accounts_yaml(accounts_file);
  if (!accounts) return accounts.error();
  config.accounts = std::move(accounts).value();

  auto owner = resolve_mail_owner(config.main);
  if (!owner) return owner.error();
  config.owner = std::move(owner).value();
  return config;
}

std::string program_path(const MainConfig& config, const ServiceEntry& service) {
  if (!service.command.empty() && service.command.front() == '/') return service.command;
  return config.get("daemon_directory") + "/postern-" + service.command;
}

}  // namespace postern::master
