// Compiling the lookup tables into LMDB (master/lookup_tables_loader.hpp). Process: master. As
// with the accounts, each LMDB environment is opened, written and closed within the call, so
// master never keeps an LMDB handle across fork().
#include "master/lookup_tables_loader.hpp"

namespace postern::master {

Result<CheckedLookupTables> read_lookup_tables_for_master(const MainConfig& config) {
  CheckedLookupTables tables;
  for (const char* parameter : kLookupTableParameters) {
    Result<LookupEntries> entries = read_lookup_tables(config, parameter);
    if (!entries) return entries.error();
    tables.emplace_back(parameter, std::move(entries).value());
  }
  return tables;
}

Status install_lookup_tables(const CheckedLookupTables& tables, const MainConfig& config,
                             const MailOwner& owner) {
  for (const auto& [parameter, entries] : tables) {
    if (Status installed = install_lookup_table(config, parameter, entries, owner.uid, owner.gid);
        !installed) {
      return installed;
    }
  }
  return Status::success();
}

}  // namespace postern::master
