// `postern aliases build` (what newaliases(1) and sendmail -bi run): compiles the aliases(5)
// files of alias_maps into $data_directory/maps/alias_maps, where postern-local reads them; a
// committed build is seen by the next delivery at once, without a reload (master also rebuilds
// it at start and on reload). Runs as root or mail_owner (the compiled table is mail_owner's).
// Trusts main.cf and the alias files as master does (lib/store/lookup_table: checked, errors name
// file:line; nothing changes when a file is refused).
#pragma once

#include <string>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"

namespace postern {

// Returns how many aliases were compiled.
Result<size_t> build_alias_table(const MainConfig& config);

}  // namespace postern
