// Postfix-style lookup tables (transport_maps, smtp_sasl_password_maps, smtpd_sender_login_maps):
// a text file in postmap format, compiled by master into LMDB under
// $data_directory/maps/<parameter> at start and on SIGHUP, and opened read-only by the daemons
// (submission, relay, qmgr), which see a committed rebuild at once. The text files are the
// admin's (trusted, but checked: errors name file:line); lookup keys come from the network
// (hostile; bounded by LMDB's 511-byte key limit). Values of smtp_sasl_password_maps are secrets
// and are never logged by this file.
//
// Text format (as postmap(1) reads it):
//   # a comment line (a '#' as the first non-blank character)
//   example.com      relay:[mail.example.com]:587
//   [smtp.resend.com]:587   resend:re_123456
//   user@example.org
//       alias@example.org        <- a line that starts with white space continues the previous
//                                   value (joined with one space)
// key = the first white-space-free token, value = the rest of the line, trimmed (may not be
// empty). Keys are lower-cased, so lookups are case-insensitive as in Postfix. A key that occurs
// twice: the first one wins, and a warning naming file:line is logged (the value is not).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/store/lmdb.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/base/result.hpp"

namespace postern {

inline constexpr size_t kMaxLookupTableFileBytes = size_t{64} << 20;  // 64 MiB of text
inline constexpr size_t kMaxLookupKeyBytes = 511;  // LMDB's default compile-time key limit
inline constexpr size_t kMaxLookupTables = 20;     // tables named in one parameter

using LookupEntries = std::vector<std::pair<std::string, std::string>>;

// "lmdb:/p", "hash:/p", "texthash:/p" or "/p" -> "/p" (all name the text file /p). Another
// type ("mysql:...", "pcre:...") is a kConfig error naming it; a relative path is refused.
Result<std::string> lookup_table_path(std::string_view spec);

// Parses postmap text (format above). Errors (kParse) carry "file_name:line: ...": a
// continuation line before any key, a key without a value, a key longer than
// kMaxLookupKeyBytes, a NUL byte. Duplicates: the first wins (warning logged).
Result<LookupEntries> parse_lookup_table(std::string_view text, std::string_view file_name);

// data_directory + "/maps/" + parameter: where the table of that parameter is compiled.
std::string lookup_table_db_dir(std::string_view data_directory, std::string_view parameter);

// One compiled table in LMDB. Move-only (owns the environment). find() starts a fresh read
// transaction each time, so it sees the latest committed build.
class LookupTable {
 public:
  // Read-only open of a table that master built (error if it does not exist).
  static Result<LookupTable> open(const std::string& db_dir);
  // Creates db_dir (mode 0700) if needed and replaces all entries in one write transaction:
  // a reader sees the old set or the new one, never a mix. Keys must already be lower-cased
  // (parse_lookup_table does that); a later duplicate key in entries is ignored (first wins).
  static Status build(const std::string& db_dir, const LookupEntries& entries);

  // The value for key (lower-cased before the lookup), nullopt when absent. A key that is empty
  // or longer than kMaxLookupKeyBytes is simply absent.
  Result<std::optional<std::string>> find(std::string_view key) const;

  LookupTable(LookupTable&&) noexcept = default;
  LookupTable& operator=(LookupTable&&) noexcept = default;

 private:
  LookupTable(LmdbEnv env, MDB_dbi dbi) : env_(std::move(env)), dbi_(dbi) {}
  LmdbEnv env_;
  MDB_dbi dbi_ = 0;
};

// Reads every table named in the parameter's value (a comma and/or white-space separated list
// of specs; earlier tables win on duplicate keys), and builds lookup_table_db_dir(
// data_directory, parameter): an EMPTY table when the parameter is empty, so that the daemons
// can always open it. The folder and files are chowned to owner/group (pass (uid_t)-1 /
// (gid_t)-1 to leave them as they are, e.g. when not running as root). For
// smtp_sasl_password_maps, a text file readable by group or others gets a warning (it holds
// passwords). On any error nothing is changed (the old compiled table stays).
Status compile_lookup_tables(const MainConfig& config, std::string_view parameter, uid_t owner,
                             gid_t group);

// compile_lookup_tables in two steps, so that master can check every table before it changes
// anything (a refused reload then leaves all of them, and the accounts, as they were):
// read_lookup_tables reads and merges the parameter's tables (with the permission warning);
// install_lookup_table builds and chowns what it returned.
Result<LookupEntries> read_lookup_tables(const MainConfig& config, std::string_view parameter);
Status install_lookup_table(const MainConfig& config, std::string_view parameter,
                            const LookupEntries& entries, uid_t owner, gid_t group);

}  // namespace postern
