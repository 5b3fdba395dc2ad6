// Loading accounts into LMDB (master/accounts_loader.hpp). Process: master. The environment is
// opened, written and closed within the call: master never keeps an LMDB handle across fork().
#include "master/accounts_loader.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "lib/base/log.hpp"

namespace postern::master {

Status load_accounts_into_lmdb(const AccountsData& accounts, const MainConfig& config,
                               const MailOwner& owner) {
  std::string db_dir = config.get("data_directory") + "/accounts";
  if (::mkdir(db_dir.c_str(), 0750) != 0 && errno != EEXIST) {
    return Error::system("mkdir " + db_dir);
  }
  if (Status given = give_to_owner(db_dir, owner); !given) return given;
  {
    auto db = AccountsDb::open(db_dir, false);
    if (!db) return db.error();
    if (Status stored = db->store(accounts); !stored) return stored;
  }
  for (const char* name : {"/data.mdb", "/lock.mdb"}) {
    std::string file = db_dir + name;
    struct stat st {};
    if (::lstat(file.c_str(), &st) != 0) continue;  // an implementation may not create both
    if (Status given = give_to_owner(file, owner); !given) return given;
  }
  log::info("accounts: {} domains, {} users, {} aliases loaded into {}", accounts.domains.size(),
            accounts.passwords.size(), accounts.aliases.size(), db_dir);
  return Status::success();
}

}  // namespace postern::master
