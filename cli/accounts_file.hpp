// The accounts file (main.cf's accounts_file) as `postern user|alias|domain` read and replace
// it. Runs in the `postern` command as root or mail_owner. The file is read with the loader
// master uses (load_accounts_yaml: bounded size, every name checked) and replaced atomically:
// the new text goes to a temporary file in the same folder with the old file's owner, group and
// mode (0600 for a new file), is fsynced, read back through the same loader and compared with
// what was meant, and only then renamed over the old one (and the folder fsynced). A write that
// fails or reads back different leaves the old file untouched and no temporary file behind.
// Edits are serialised with flock(2) on the folder, so two admins' commands never lose one
// another's change. A symbolic link at accounts_file is followed: the file it names is replaced.
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/auth/accounts.hpp"
#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::cli {

struct AccountsFile {
  std::string path;     // the file itself (a symbolic link resolved)
  bool exists = false;  // false: no file yet (an empty set of accounts)
  uid_t owner = 0;
  gid_t group = 0;
  mode_t mode = 0600;         // permission bits only
  std::string comment_block;  // accounts_yaml.hpp's leading_comment_block
  AccountsData data;
};

// Reads and checks the file (kConfig errors name file:line, as master's). A file that does not
// exist reads as no accounts.
Result<AccountsFile> read_accounts_file(const std::string& configured_path);

// Held while a command reads, edits and replaces the file.
class AccountsFileLock {
 public:
  static Result<AccountsFileLock> acquire(const std::string& configured_path);

 private:
  explicit AccountsFileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Replaces file.path with data (see above). On success the file holds exactly data, as the
// loader reads it.
Status write_accounts_file(const AccountsFile& file, const AccountsData& data);

}  // namespace postern::cli
