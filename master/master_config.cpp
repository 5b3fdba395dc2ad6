// Loading master's configuration snapshot (master/master_config.hpp). Process: master, at
// start, for `postern-master -t`, and on SIGHUP. Trusts nothing beyond what the main.cf,
// master.cf and accounts parsers check (they bound line length, file size and counts); adds
// the checks that need all three files together, smtpd_tls_cipherlist (main.cf's and any
// master.cf -o) against OpenSSL, and main.cf's local_recipient_maps (tables smtpd can read).
#include "master/master_config.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>

#include "lib/net/daemon.hpp"
#include "lib/net/tls_server.hpp"
#include "lib/store/local_recipient_maps.hpp"
#include "master/maillog.hpp"

namespace postern::master {
namespace {

// An in-memory file holding text that nobody (not even us) can change any more.
Result<UniqueFd> sealed_snapshot(const std::string& text) {
  UniqueFd fd(::memfd_create("postern-main.cf", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!fd) return Error::system("memfd_create");
  size_t written = 0;
  while (written < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Error::system("write main.cf snapshot");
    written += static_cast<size_t>(n);
  }
  if (::fcntl(fd.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
      0) {
    return Error::system("seal main.cf snapshot");
  }
  return fd;
}

}  // namespace

Result<MasterConfig> load_master_config(const std::string& config_dir) {
  MasterConfig config;
  config.config_dir = config_dir;
  std::string main_cf_path = config_dir + "/main.cf";
  UniqueFd file(::open(main_cf_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!file) return Error::system("open " + main_cf_path);
  auto text = read_main_cf_text(file.get(), main_cf_path);
  if (!text) return text.error();
  auto main_cf = MainConfig::parse(*text, main_cf_path, &config.warnings);
  if (!main_cf) return main_cf.error();
  auto snapshot = sealed_snapshot(*text);
  if (!snapshot) return snapshot.error();
  config.main_cf_snapshot = std::move(snapshot).value();
  config.main = std::move(main_cf).value();
  if (Status set = config.main.set("config_directory", config_dir); !set) return set.error();
  if (Status maillog = check_maillog_file(config.main); !maillog) {
    return Error::config(main_cf_path + ": " + maillog.error().describe());
  }

  // The TLS 1.2 cipher list is OpenSSL's syntax, which MainConfig cannot judge: a bad one
  // refuses the start or the reload here, rather than a worker at its start.
  if (Status ciphers = check_tls_server_ciphers(config.main.get(kTlsServerCiphersParameter));
      !ciphers) {
    return Error::config(main_cf_path + ": " + ciphers.error().message);
  }

  // local_recipient_maps names tables smtpd must be able to read: a mistake refuses the start
  // or the reload here, rather than smtpd at its start (which it does too).
  if (Result<LocalRecipientMaps> maps = parse_local_recipient_maps(config.main); !maps) {
    return Error::config(main_cf_path + ": " + maps.error().message);
  }

  auto services = load_master_cf(config_dir + "/master.cf");
  if (!services) return services.error();
  config.services = std::move(services).value();
  for (const ServiceEntry& service : config.services) {
    if (service.command.find('/') != std::string::npos && service.command.front() != '/') {
      return Error::config(
          fmt::format("{}/master.cf:{}: command {}: expected a program name "
                      "or an absolute path",
                      config_dir, service.line, service.command));
    }
    for (const auto& [name, value] : service.overrides) {
      if (name != kTlsServerCiphersParameter) continue;
      Result<std::string> expanded = config.main.expand_text(value);
      Status ciphers = expanded ? check_tls_server_ciphers(*expanded) : Status(expanded.error());
      if (!ciphers) {
        return Error::config(fmt::format("{}/master.cf:{}: service {}: -o {}: {}", config_dir,
                                         service.line, service.name, name,
                                         ciphers.error().message));
      }
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
