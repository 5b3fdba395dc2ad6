// mail_owner lookup and the chown helper master uses on the folders and files that workers,
// running as mail_owner, must write. Process: master (as root, or as the user who started it).
// Trusts the passwd database; refuses uid or gid 0. Bounded: the getpwnam_r buffer.
#include "master/mail_owner.hpp"

#include <fmt/format.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace postern::master {
namespace {
constexpr size_t kMaxPasswdBuffer = 1024 * 1024;
}  // namespace

Result<MailOwner> resolve_mail_owner(const MainConfig& config) {
  MailOwner owner;
  owner.name = config.get("mail_owner");
  if (::geteuid() != 0) return owner;
  if (owner.name.empty()) return Error::config("mail_owner is empty");
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16384);
  int rc = 0;
  while ((rc = ::getpwnam_r(owner.name.c_str(), &entry, buffer.data(), buffer.size(), &found)) ==
             ERANGE &&
         buffer.size() < kMaxPasswdBuffer) {
    buffer.resize(buffer.size() * 2);
  }
  if (rc != 0) return Error::system("look up mail_owner " + owner.name, rc);
  if (found == nullptr) {
    return Error::config(
        fmt::format("mail_owner {}: no such user (create it, e.g. with "
                    "adduser --system --group {})",
                    owner.name, owner.name));
  }
  if (entry.pw_uid == 0 || entry.pw_gid == 0) {
    return Error::config(
        fmt::format("mail_owner {} has user or group ID 0: it must be an "
                    "unprivileged account",
                    owner.name));
  }
  owner.uid = entry.pw_uid;
  owner.gid = entry.pw_gid;
  // setgid_group: the group of the postdrop helper, which owns maildrop/ and public/. Unknown:
  // the folders keep mail_owner's group, so that only root can submit with sendmail(1).
  std::string group_name = config.get("setgid_group");
  group entry_group{};
  group* found_group = nullptr;
  std::vector<char> group_buffer(16384);
  if (!group_name.empty() &&
      ::getgrnam_r(group_name.c_str(), &entry_group, group_buffer.data(), group_buffer.size(),
                   &found_group) == 0 &&
      found_group != nullptr) {
    owner.postdrop_gid = found_group->gr_gid;
  } else {
    owner.postdrop_warning = fmt::format(
        "setgid_group {}: no such group; only root can use sendmail(1) (create it with "
        "addgroup --system {})",
        group_name, group_name);
  }
  return owner;
}

Status give_to_owner(const std::string& path, const MailOwner& owner) {
  if (!owner.changes_owner()) return Status::success();
  if (::lchown(path.c_str(), owner.uid, owner.gid) != 0) {
    return Error::system(fmt::format("chown {} to {}", path, owner.name));
  }
  return Status::success();
}

}  // namespace postern::master
