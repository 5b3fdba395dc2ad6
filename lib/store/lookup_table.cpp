// Postfix-style lookup tables in LMDB (lib/store/lookup_table.hpp). compile_lookup_tables runs in
// master (as root, at start and on SIGHUP) and reads the admin's text files: trusted but checked,
// bounded by kMaxLookupTableFileBytes and kMaxLookupTables. LookupTable::find runs in the
// daemons with keys from the network: hostile, bounded by kMaxLookupKeyBytes. Values may be
// secrets (smtp_sasl_password_maps): no message or log line of this file contains a value.
#include "lib/store/lookup_table.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <set>

#include "lib/base/ascii.hpp"
#include "lib/base/file_read.hpp"
#include "lib/base/log.hpp"
#include "lib/config/aliases_file.hpp"

namespace postern {
namespace {

constexpr const char* kTableDbName = "entries";
constexpr size_t kTableMapBytes = size_t{1} << 30;  // sparse; far more than 64 MiB of text

LmdbOptions table_options(bool read_only) {
  LmdbOptions options;
  options.map_size_bytes = kTableMapBytes;
  options.max_databases = 2;
  options.read_only = read_only;
  return options;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (is_blank(text.front()) || text.front() == '\r')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

Status make_dir(const std::string& path, mode_t mode) {
  if (::mkdir(path.c_str(), mode) != 0 && errno != EEXIST) {
    return Error::system("mkdir " + path);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return Error::system("stat " + path);
  if (!S_ISDIR(st.st_mode)) return Error::config(path + " is not a directory");
  return Status::success();
}

Status chown_path(const std::string& path, uid_t owner, gid_t group) {
  if (owner == static_cast<uid_t>(-1) && group == static_cast<gid_t>(-1)) {
    return Status::success();
  }
  if (::lchown(path.c_str(), owner, group) != 0) return Error::system("chown " + path);
  return Status::success();
}

}  // namespace

Result<std::string> lookup_table_path(std::string_view spec) {
  std::string_view path = spec;
  if (spec.empty()) return Error::config("empty lookup table name");
  if (spec.front() != '/') {
    size_t colon = spec.find(':');
    if (colon == std::string_view::npos) {
      return Error::config("lookup table \"" + std::string(spec) +
                           "\": not an absolute path and not type:/path");
    }
    std::string_view type = spec.substr(0, colon);
    if (type != "lmdb" && type != "hash" && type != "texthash") {
      return Error::config("lookup table \"" + std::string(spec) + "\": unsupported type \"" +
                           std::string(type) + "\" (use lmdb:, hash:, texthash: or a path)");
    }
    path = spec.substr(colon + 1);
  }
  if (path.empty() || path.front() != '/') {
    return Error::config("lookup table \"" + std::string(spec) + "\": path must be absolute");
  }
  return std::string(path);
}

Result<LookupEntries> parse_lookup_table(std::string_view text, std::string_view file_name) {
  if (text.find('\0') != std::string_view::npos) {
    // Name the line without echoing any of its text.
    size_t line = 1;
    for (size_t i = 0; i < text.find('\0'); ++i) line += text[i] == '\n';
    return Error::parse(fmt::format("{}:{}: NUL byte", file_name, line));
  }
  // First join each logical line (a line that starts with white space continues the last one).
  struct Logical {
    size_t line_number;
    std::string text;
  };
  std::vector<Logical> logical;
  size_t line_number = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t lf = text.find('\n', pos);
    size_t end = lf == std::string_view::npos ? text.size() : lf;
    std::string_view line = text.substr(pos, end - pos);
    pos = lf == std::string_view::npos ? text.size() : lf + 1;
    ++line_number;
    std::string_view trimmed = trim(line);
    if (trimmed.empty() || trimmed.front() == '#') continue;
    if (is_blank(line.front())) {
      if (logical.empty()) {
        return Error::parse(
            fmt::format("{}:{}: continuation line before the first entry", file_name, line_number));
      }
      logical.back().text.push_back(' ');
      logical.back().text.append(trimmed);
      continue;
    }
    logical.push_back(Logical{line_number, std::string(trimmed)});
  }

  LookupEntries entries;
  std::map<std::string, size_t, std::less<>> first_line;  // key -> line where it was defined
  for (const Logical& entry : logical) {
    std::string_view rest = entry.text;
    size_t key_end = 0;
    while (key_end < rest.size() && !is_blank(rest[key_end])) ++key_end;
    std::string key = ascii_lowercase(rest.substr(0, key_end));
    std::string_view value = trim(rest.substr(key_end));
    if (key.size() > kMaxLookupKeyBytes) {
      return Error::parse(fmt::format("{}:{}: key longer than {} bytes", file_name,
                                      entry.line_number, kMaxLookupKeyBytes));
    }
    if (value.empty()) {
      return Error::parse(fmt::format("{}:{}: key \"{}\" has no value", file_name,
                                      entry.line_number, log::printable(key)));
    }
    auto [it, inserted] = first_line.emplace(key, entry.line_number);
    if (!inserted) {
      log::warning("{}:{}: duplicate key \"{}\" ignored (the entry of line {} is used)", file_name,
                   entry.line_number, log::printable(key), it->second);
      continue;
    }
    entries.emplace_back(std::move(key), std::string(value));
  }
  return entries;
}

std::string lookup_table_db_dir(std::string_view data_directory, std::string_view parameter) {
  std::string dir(data_directory);
  dir += "/maps/";
  dir += parameter;
  return dir;
}

// --- LookupTable

Result<LookupTable> LookupTable::open(const std::string& db_dir) {
  struct stat st {};
  if (::stat((db_dir + "/data.mdb").c_str(), &st) != 0) {
    return Error::system("lookup table " + db_dir + " has not been built");
  }
  Result<LmdbEnv> env = LmdbEnv::open(db_dir, table_options(true));
  if (!env) return env.error();
  MDB_dbi dbi = 0;
  {
    Result<LmdbTxn> txn = LmdbTxn::begin(*env, true);
    if (!txn) return txn.error();
    Result<MDB_dbi> opened = txn->open_db(kTableDbName, false);
    if (!opened) return opened.error();
    dbi = *opened;
    // A dbi opened in a read transaction stays valid for the environment once the
    // transaction commits (mdb_dbi_open).
    if (Status committed = txn->commit(); !committed) return committed.error();
  }
  return LookupTable(std::move(env).value(), dbi);
}

Status LookupTable::build(const std::string& db_dir, const LookupEntries& entries) {
  size_t slash = db_dir.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    if (Status made = make_dir(db_dir.substr(0, slash), 0755); !made) return made;
  }
  if (Status made = make_dir(db_dir, 0700); !made) return made;
  Result<LmdbEnv> env = LmdbEnv::open(db_dir, table_options(false));
  if (!env) return env.error();
  Result<LmdbTxn> txn = LmdbTxn::begin(*env, false);
  if (!txn) return txn.error();
  Result<MDB_dbi> dbi = txn->open_db(kTableDbName, true);
  if (!dbi) return dbi.error();
  if (Status cleared = txn->clear(*dbi); !cleared) return cleared;
  std::set<std::string_view> seen;
  for (const auto& [key, value] : entries) {
    if (key.empty() || key.size() > kMaxLookupKeyBytes) {
      return Error::limit("lookup table " + db_dir + ": key empty or longer than " +
                          std::to_string(kMaxLookupKeyBytes) + " bytes");
    }
    if (!seen.insert(key).second) continue;  // the first one wins
    if (Status put = txn->put(*dbi, key, value); !put) {
      // LMDB's message names neither key nor value.
      return Error{put.error().kind, "lookup table " + db_dir + ": " + put.error().message,
                   put.error().sys_errno};
    }
  }
  return txn->commit();
}

Result<std::optional<std::string>> LookupTable::find(std::string_view key) const {
  if (key.empty() || key.size() > kMaxLookupKeyBytes) return std::optional<std::string>();
  std::string lower = ascii_lowercase(key);
  Result<LmdbTxn> txn = LmdbTxn::begin(env_, true);
  if (!txn) return txn.error();
  auto found = txn->get(dbi_, lower);
  if (!found) return found.error();
  if (!found->has_value()) return std::optional<std::string>();
  return std::optional<std::string>(std::string(**found));
}

// --- compile_lookup_tables

// aliases(5) text as table entries: name -> the canonical target list (format_alias_targets),
// which postern-local parses back.
Result<LookupEntries> alias_entries(std::string_view text, const std::string& path) {
  Result<AliasEntries> aliases = parse_aliases(text, path);
  if (!aliases) return aliases.error();
  LookupEntries entries;
  for (const AliasEntry& alias : *aliases) {
    if (alias.name.size() > kMaxLookupKeyBytes) {
      return Error::parse(fmt::format("{}:{}: alias name longer than {} bytes", path, alias.line,
                                      kMaxLookupKeyBytes));
    }
    entries.emplace_back(alias.name, format_alias_targets(alias.targets));
  }
  return entries;
}

Result<LookupEntries> read_lookup_tables(const MainConfig& config, std::string_view parameter) {
  std::vector<std::string> specs = config.get_list(parameter);
  if (specs.size() > kMaxLookupTables) {
    return Error::config(fmt::format("{}: more than {} tables", parameter, kMaxLookupTables));
  }
  bool holds_secrets = parameter == "smtp_sasl_password_maps";
  bool is_alias_table = parameter == "alias_maps";
  LookupEntries merged;
  std::set<std::string, std::less<>> keys;
  for (const std::string& spec : specs) {
    Result<std::string> path = lookup_table_path(spec);
    if (!path) {
      return Error::config(fmt::format("{}: {}", parameter, path.error().message));
    }
    Result<std::string> text = read_small_file(*path, kMaxLookupTableFileBytes);
    if (!text && is_alias_table && text.error().kind == ErrorKind::kSystem &&
        text.error().sys_errno == ENOENT) {
      // As Postfix: no /etc/aliases is no aliases (a fresh system), said once per build.
      log::warning("{}: {} does not exist: no aliases from it", parameter, *path);
      continue;
    }
    if (!text) {
      Error error = text.error();
      error.message = fmt::format("{}: {}", parameter, error.message);
      return error;
    }
    if (holds_secrets) {
      struct stat st {};
      if (::stat(path->c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        log::warning("{}: {} is readable by group or others, but holds passwords (chmod 600)",
                     parameter, *path);
      }
    }
    Result<LookupEntries> entries =
        is_alias_table ? alias_entries(*text, *path) : parse_lookup_table(*text, *path);
    if (!entries) return entries.error();
    for (auto& entry : *entries) {
      if (!keys.insert(entry.first).second) continue;  // an earlier table has this key
      merged.push_back(std::move(entry));
    }
  }
  return merged;
}

Status install_lookup_table(const MainConfig& config, std::string_view parameter,
                            const LookupEntries& entries, uid_t owner, gid_t group) {
  std::string data_directory = config.get("data_directory");
  std::string db_dir = lookup_table_db_dir(data_directory, parameter);
  if (Status built = LookupTable::build(db_dir, entries); !built) {
    Error error = built.error();
    error.message = fmt::format("{}: {}", parameter, error.message);
    return error;
  }
  for (const std::string& path :
       {data_directory + "/maps", db_dir, db_dir + "/data.mdb", db_dir + "/lock.mdb"}) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (Status given = chown_path(path, owner, group); !given) return given;
  }
  log::info("{}: {} entries compiled into {}", parameter, entries.size(), db_dir);
  return Status::success();
}

Status compile_lookup_tables(const MainConfig& config, std::string_view parameter, uid_t owner,
                             gid_t group) {
  Result<LookupEntries> entries = read_lookup_tables(config, parameter);
  if (!entries) return entries.error();
  return install_lookup_table(config, parameter, *entries, owner, group);
}

}  // namespace postern
