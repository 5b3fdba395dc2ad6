// local_recipient_maps read and checked (see local_recipient_maps.hpp). Run by postern-master
// (start, reload, -t), postern-smtpd and postern-submission (start).
#include "lib/store/local_recipient_maps.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "lib/store/lookup_table.hpp"

namespace postern {
namespace {

constexpr std::string_view kPasswdTable = "unix:passwd.byname";
constexpr std::string_view kProxyPasswdTable = "proxy:unix:passwd.byname";

// The file a table spec names ("hash:/etc/aliases" -> "/etc/aliases"), or "" when the spec is
// not a table of a type we read.
std::string table_file(std::string_view spec) {
  Result<std::string> path = lookup_table_path(spec);
  return path ? *path : std::string();
}

}  // namespace

Result<LocalRecipientMaps> parse_local_recipient_maps(const MainConfig& config) {
  LocalRecipientMaps maps;
  std::vector<std::string> alias_files;
  for (const std::string& spec : config.get_list("alias_maps")) {
    if (std::string file = table_file(spec); !file.empty()) alias_files.push_back(file);
  }
  const std::vector<std::string> specs = config.get_list("local_recipient_maps");
  if (specs.size() > kMaxLookupTables) {
    return Error::config(
        fmt::format("local_recipient_maps: more than {} tables", kMaxLookupTables));
  }
  maps.any_local_part = specs.empty();
  for (const std::string& spec : specs) {
    if (spec == kPasswdTable || spec == kProxyPasswdTable) {
      maps.system_users = true;
      continue;
    }
    const std::string file = table_file(spec);
    if (!file.empty() &&
        std::find(alias_files.begin(), alias_files.end(), file) != alias_files.end()) {
      maps.aliases = true;
      continue;
    }
    return Error::config(fmt::format(
        "local_recipient_maps: unsupported table \"{}\" (supported: unix:passwd.byname and the "
        "tables of alias_maps)",
        spec));
  }
  return maps;
}

}  // namespace postern
