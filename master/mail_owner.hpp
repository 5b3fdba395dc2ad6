// Who owns the queue, the mailboxes and the LMDB files: mail_owner when master runs as root,
// nobody to change to otherwise. Process: master. Trusts the passwd database and main.cf;
// refuses a mail_owner that is root (user or group ID 0).
#pragma once

#include <sys/types.h>

#include <string>

#include "lib/config/main_cf.hpp"
#include "lib/base/result.hpp"

namespace postern::master {

struct MailOwner {
  std::string name;
  uid_t uid = static_cast<uid_t>(-1);  // -1: not root, keep whatever owner files get
  gid_t gid = static_cast<gid_t>(-1);
  gid_t postdrop_gid = static_cast<gid_t>(-1);  // setgid_group (maildrop/, public/); -1: gid
  std::string postdrop_warning;                 // set when setgid_group is unknown
  bool changes_owner() const { return uid != static_cast<uid_t>(-1); }
};

// Looks mail_owner up when running as root (error when unknown or root); otherwise returns an
// owner that changes nothing.
Result<MailOwner> resolve_mail_owner(const MainConfig& config);

// chown(path) to the owner; a no-op when the owner changes nothing.
Status give_to_owner(const std::string& path, const MailOwner& owner);

}  // namespace postern::master
