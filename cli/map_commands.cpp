// postmap's jobs on Postern's lookup tables (see map_commands.hpp).
#include "cli/map_commands.hpp"

#include <fmt/format.h>
#include <limits.h>
#include <stdlib.h>

#include <algorithm>
#include <cerrno>

#include "cli/invocation.hpp"
#include "lib/base/ascii.hpp"
#include "lib/base/file_read.hpp"
#include "lib/config/alias_target.hpp"
#include "lib/config/aliases_file.hpp"

namespace postern::cli {
namespace {

// A path with symbolic links resolved; the path itself when it cannot be resolved.
std::string resolved(const std::string& path) {
  char buffer[PATH_MAX];
  if (::realpath(path.c_str(), buffer) != nullptr) return buffer;
  return path;
}

Result<LookupEntries> read_postmap_file(const std::string& path) {
  Result<std::string> text = read_small_file(path, kMaxLookupTableFileBytes);
  if (!text) return text.error();
  return parse_lookup_table(*text, path);
}

Result<size_t> check_aliases_file(const std::string& path) {
  Result<std::string> text = read_small_file(path, kMaxAliasFileBytes);
  if (!text) return text.error();
  Result<AliasEntries> aliases = parse_aliases(*text, path);
  if (!aliases) return aliases.error();
  return aliases->size();
}

}  // namespace

bool is_table_parameter(std::string_view name) {
  return std::find(std::begin(kTableParameters), std::end(kTableParameters), name) !=
         std::end(kTableParameters);
}

Result<LookupEntries> read_table(const MainConfig& config, std::string_view table) {
  if (is_table_parameter(table)) return read_lookup_tables(config, table);
  Result<std::string> path = lookup_table_path(table);
  if (!path) return path.error();
  return read_postmap_file(*path);
}

std::optional<std::string> query_entries(const LookupEntries& entries, std::string_view key) {
  if (key.empty() || key.size() > kMaxLookupKeyBytes) return std::nullopt;
  const std::string lower = ascii_lowercase(key);
  for (const auto& [entry_key, value] : entries) {
    if (entry_key == lower) return value;  // the first one, as in the compiled table
  }
  return std::nullopt;
}

Result<std::vector<std::string>> parameters_naming(const MainConfig& config,
                                                   const std::string& file) {
  const std::string wanted = resolved(file);
  std::vector<std::string> found;
  for (std::string_view parameter : kTableParameters) {
    for (const std::string& spec : config.get_list(parameter)) {
      Result<std::string> path = lookup_table_path(spec);
      if (!path) continue;  // master refuses such a main.cf; nothing of ours to build there
      if (resolved(*path) == wanted) {
        found.emplace_back(parameter);
        break;
      }
    }
  }
  return found;
}

Result<std::vector<BuiltTable>> build_table_file(const MainConfig& config, const std::string& file,
                                                 size_t* checked_entries) {
  Result<std::vector<std::string>> parameters = parameters_naming(config, file);
  if (!parameters) return parameters.error();
  const bool aliases =
      std::find(parameters->begin(), parameters->end(), "alias_maps") != parameters->end();
  if (aliases) {
    Result<size_t> count = check_aliases_file(file);
    if (!count) return count.error();
    *checked_entries = *count;
  } else {
    Result<LookupEntries> entries = read_postmap_file(file);
    if (!entries) return entries.error();
    *checked_entries = entries->size();
  }
  // Every table first, then the builds: a broken table elsewhere changes nothing.
  std::vector<std::pair<std::string, LookupEntries>> tables;
  for (const std::string& parameter : *parameters) {
    Result<LookupEntries> entries = read_lookup_tables(config, parameter);
    if (!entries) return entries.error();
    tables.emplace_back(parameter, std::move(entries).value());
  }
  Result<UserIds> owner_ids = daemon_file_owner(config);
  if (!owner_ids) return owner_ids.error();
  const auto [owner, group] = owner_ids.value();
  std::vector<BuiltTable> built;
  for (const auto& [parameter, entries] : tables) {
    if (Status installed = install_lookup_table(config, parameter, entries, owner, group);
        !installed) {
      return installed.error();
    }
    built.push_back(BuiltTable{
        parameter, lookup_table_db_dir(config.get("data_directory"), parameter), entries.size()});
  }
  return built;
}

}  // namespace postern::cli
