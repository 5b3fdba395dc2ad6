// postern-local's settings from main.cf (see local_settings.hpp).
#include "local/local_settings.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "lib/base/ascii.hpp"
#include "lib/config/mail_origin.hpp"
#include "lib/store/lookup_table.hpp"

namespace postern::local {

bool LocalSettings::is_local_domain(std::string_view domain) const {
  const std::string lower = ascii_lowercase(domain);
  return std::find(mydestination.begin(), mydestination.end(), lower) != mydestination.end();
}

LocalSettings load_local_settings(const MainConfig& config) {
  LocalSettings settings;
  settings.queue = QueueLayout{config.get("queue_directory")};
  settings.hostname = config.get("myhostname");
  settings.origin = mail_origin(config);
  for (const std::string& domain : config.get_list("mydestination")) {
    settings.mydestination.push_back(ascii_lowercase(domain));
  }
  settings.mail_spool_directory = config.get("mail_spool_directory");
  settings.home_mailbox = config.get("home_mailbox");
  settings.recipient_delimiter = config.get("recipient_delimiter");
  settings.mailbox_size_limit = static_cast<uint64_t>(config.get_size("mailbox_size_limit"));
  settings.lock_timeout_ms = static_cast<int>(config.get_seconds("deliver_lock_timeout") * 1000);
  settings.command_time_limit_seconds = static_cast<int>(config.get_seconds("command_time_limit"));
  for (const std::string& word : config.get_list("allow_mail_to_commands")) {
    settings.allow_mail_to_commands.insert(ascii_lowercase(word));
  }
  for (const std::string& word : config.get_list("allow_mail_to_files")) {
    settings.allow_mail_to_files.insert(ascii_lowercase(word));
  }
  settings.default_privs = config.get("default_privs");
  std::vector<char> buffer(16384);
  group entry{};
  group* found = nullptr;
  if (::getgrnam_r("mail", &entry, buffer.data(), buffer.size(), &found) == 0 && found) {
    settings.mail_gid = found->gr_gid;
  }
  settings.alias_db_dir = lookup_table_db_dir(config.get("data_directory"), "alias_maps");
  settings.queue_uid = ::getuid();
  settings.queue_gid = ::getgid();
  passwd owner{};
  passwd* owner_found = nullptr;
  if (::geteuid() == 0 &&
      ::getpwnam_r(config.get("mail_owner").c_str(), &owner, buffer.data(), buffer.size(),
                   &owner_found) == 0 &&
      owner_found) {
    settings.queue_uid = owner_found->pw_uid;
    settings.queue_gid = owner_found->pw_gid;
  }
  return settings;
}

}  // namespace postern::local
