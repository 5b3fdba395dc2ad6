// The local recipient table of postern-smtpd and postern-submission (see local_recipients.hpp):
// local_recipient_maps read once at start, then one bounded lookup per RCPT of a mydestination
// domain. The local part is hostile: checked for length and bytes before any lookup.
#include "smtpd/local_recipients.hpp"

#include <fmt/format.h>
#include <pwd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/smtp/address.hpp"
#include "lib/store/local_recipient_maps.hpp"

namespace postern::smtpd {
namespace {

// A local part we look up at all: within RFC 5321's length, and no control byte (NUL included)
// that could cut a C string short or confuse a name service.
bool is_lookup_safe(std::string_view local_part) {
  if (local_part.empty() || local_part.size() > kMaxLocalPartBytes) return false;
  return std::none_of(local_part.begin(), local_part.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
  });
}

// A name getpwnam may be asked about: printable ASCII without ':' (the passwd field separator)
// or '/'. Anything else cannot be a system user name.
bool is_passwd_name(std::string_view name) {
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > 0x20 && c < 0x7f && c != ':' && c != '/'; });
}

}  // namespace

Result<LocalRecipientSettings> load_local_recipient_settings(const MainConfig& config) {
  Result<LocalRecipientMaps> maps = parse_local_recipient_maps(config);
  if (!maps) return maps.error();
  LocalRecipientSettings settings;
  for (const std::string& domain : config.get_list("mydestination")) {
    settings.mydestination.push_back(ascii_lowercase(domain));
  }
  settings.recipient_delimiter = config.get("recipient_delimiter");
  settings.alias_db_dir = lookup_table_db_dir(config.get("data_directory"), "alias_maps");
  settings.any_local_part = maps->any_local_part;
  settings.system_users = maps->system_users;
  settings.aliases = maps->aliases;
  return settings;
}

Result<bool> find_system_user(const std::string& name) {
  std::vector<char> buffer(kInitialPasswdBufferBytes);
  passwd entry{};
  passwd* found = nullptr;
  int rc = 0;
  while ((rc = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
         ERANGE) {
    if (buffer.size() >= kMaxPasswdBufferBytes) {
      return Error::temporary(
          fmt::format("passwd entry larger than {} bytes", kMaxPasswdBufferBytes));
    }
    buffer.resize(buffer.size() * 2);
  }
  // Not found is 0 with no entry; some NSS modules say ENOENT or ESRCH instead.
  if (rc == 0 || rc == ENOENT || rc == ESRCH) return found != nullptr && rc == 0;
  return Error::system("getpwnam_r", rc);
}

LocalRecipients LocalRecipients::open(LocalRecipientSettings settings,
                                      SystemUserLookup system_user) {
  LocalRecipients table(std::move(settings), std::move(system_user));
  if (table.settings_.aliases && !table.settings_.any_local_part) {
    Result<LookupTable> opened = LookupTable::open(table.settings_.alias_db_dir);
    if (opened) {
      table.aliases_.emplace(std::move(opened).value());
    } else {
      table.open_problem_ = fmt::format("cannot open the compiled alias_maps {}: {}",
                                        table.settings_.alias_db_dir, opened.error().describe());
    }
  }
  return table;
}

bool LocalRecipients::is_local_domain(std::string_view domain) const {
  const std::string lower = ascii_lowercase(domain);
  return std::find(settings_.mydestination.begin(), settings_.mydestination.end(), lower) !=
         settings_.mydestination.end();
}

Result<bool> LocalRecipients::exists(std::string_view local_part) const {
  if (!is_lookup_safe(local_part)) return false;
  if (settings_.any_local_part) return true;
  const std::string full = ascii_lowercase(local_part);
  const std::string base =
      ascii_lowercase(strip_extension(local_part, settings_.recipient_delimiter));
  if (full == "postmaster" || base == "postmaster") return true;

  std::vector<std::string> keys{full};
  if (base != full) keys.push_back(base);
  // A yes from any source accepts; a failed lookup matters only when nothing said yes.
  std::optional<Error> failure;
  if (settings_.system_users) {
    for (const std::string& key : keys) {
      if (!is_passwd_name(key)) continue;
      Result<bool> user = system_user_(key);
      if (!user) {
        failure = user.error();
      } else if (*user) {
        return true;
      }
    }
  }
  if (settings_.aliases) {
    if (!aliases_) {
      failure = Error::temporary(open_problem_);
    } else {
      for (const std::string& key : keys) {
        Result<std::optional<std::string>> alias = aliases_->find(key);
        if (!alias) {
          failure = alias.error();
        } else if (*alias) {
          return true;
        }
      }
    }
  }
  if (failure) return *failure;
  return false;
}

LocalRecipients open_local_recipients_or_exit(const MainConfig& config) {
  Result<LocalRecipientSettings> settings = load_local_recipient_settings(config);
  if (!settings) log::fatal("{}", settings.error().describe());
  if (settings->any_local_part && !settings->mydestination.empty()) {
    log::warning(
        "local_recipient_maps is empty: every local part of mydestination is accepted, and "
        "mail for unknown users is bounced after it was accepted");
  }
  LocalRecipients table = LocalRecipients::open(std::move(settings).value());
  if (!table.open_problem().empty()) {
    log::warning("{}: recipients of mydestination that only aliases name get 451",
                 table.open_problem());
  }
  return table;
}

}  // namespace postern::smtpd
