// `postern map query|build`, Postfix's postmap -q and postmap FILE for Postern's lookup tables
// (lib/store/lookup_table.hpp). Postern's tables are text files (texthash:, hash: and lmdb: all
// name the same text file) that master compiles into LMDB; these commands reuse that code:
// read_lookup_tables / parse_lookup_table to read and check, install_lookup_table to build.
// Runs in the `postern` command; the table files are the admin's (checked, errors name
// file:line), the key comes from the command line (bounded by kMaxLookupKeyBytes). Values may be
// secrets (smtp_sasl_password_maps): query prints the one value asked for and nothing else
// prints a value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/store/lookup_table.hpp"

namespace postern::cli {

// The main.cf parameters whose tables master compiles (master/lookup_tables_loader.hpp has the
// same list: cli/ may not include master/).
inline constexpr std::string_view kTableParameters[] = {"transport_maps", "smtp_sasl_password_maps",
                                                        "smtpd_sender_login_maps", "alias_maps"};

bool is_table_parameter(std::string_view name);

// The entries of TABLE: a parameter name (every table it names, merged as master merges them:
// the earlier table wins; alias_maps in aliases(5) format), or one table "type:/path" or "/path"
// in postmap format. kConfig for a table type Postern does not have; kParse (file:line) for a
// broken file.
Result<LookupEntries> read_table(const MainConfig& config, std::string_view table);

// The value of key (lower-cased, as the daemons look it up) in entries: an exact match only, as
// postmap -q does; nullopt when it is not there.
std::optional<std::string> query_entries(const LookupEntries& entries, std::string_view key);

// The parameters of kTableParameters that name file (after resolving symbolic links).
Result<std::vector<std::string>> parameters_naming(const MainConfig& config,
                                                   const std::string& file);

struct BuiltTable {
  std::string parameter;
  std::string db_dir;
  size_t entries = 0;
};

// Checks file (postmap format, or aliases(5) when alias_maps names it), then rebuilds the LMDB
// table of every parameter that names it, as master would (all of that parameter's tables,
// merged), owned by mail_owner when run as root. Returns the tables built (none when no
// parameter names file: then it was only checked; *checked_entries says how many it has).
Result<std::vector<BuiltTable>> build_table_file(const MainConfig& config, const std::string& file,
                                                 size_t* checked_entries);

}  // namespace postern::cli
