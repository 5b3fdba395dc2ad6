// `postern aliases build` (see alias_commands.hpp).
#include "cli/alias_commands.hpp"

#include <pwd.h>
#include <unistd.h>

#include <vector>

#include "lib/store/lookup_table.hpp"

namespace postern {

Result<size_t> build_alias_table(const MainConfig& config) {
  uid_t owner = static_cast<uid_t>(-1);
  gid_t group = static_cast<gid_t>(-1);
  if (::geteuid() == 0) {
    std::vector<char> buffer(16384);
    passwd entry{};
    passwd* found = nullptr;
    const std::string mail_owner = config.get("mail_owner");
    if (::getpwnam_r(mail_owner.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 ||
        found == nullptr) {
      return Error::config("mail_owner " + mail_owner + ": no such user");
    }
    owner = found->pw_uid;
    group = found->pw_gid;
  }
  Result<LookupEntries> entries = read_lookup_tables(config, "alias_maps");
  if (!entries) return entries.error();
  if (Status installed = install_lookup_table(config, "alias_maps", *entries, owner, group);
      !installed) {
    return installed.error();
  }
  return entries->size();
}

}  // namespace postern
