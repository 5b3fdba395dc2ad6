// `postern aliases build` (see alias_commands.hpp).
#include "cli/alias_commands.hpp"

#include "cli/invocation.hpp"
#include "lib/store/lookup_table.hpp"

namespace postern {

Result<size_t> build_alias_table(const MainConfig& config) {
  Result<cli::UserIds> owner = cli::daemon_file_owner(config);
  if (!owner) return owner.error();
  Result<LookupEntries> entries = read_lookup_tables(config, "alias_maps");
  if (!entries) return entries.error();
  if (Status installed = install_lookup_table(config, "alias_maps", *entries, owner->uid, owner->gid);
      !installed) {
    return installed.error();
  }
  return entries->size();
}

}  // namespace postern
