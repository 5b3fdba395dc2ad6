// Creating the queue, mailbox and data folders (master/runtime_dirs.hpp). Process: master.
// Missing parents are created 0755 and keep the owner that creates them (root, or the user
// running master); the folders themselves go to mail_owner. A path that exists but is not a
// directory is an error, never replaced.
#include "master/runtime_dirs.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "lib/base/log.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::master {
namespace {

constexpr mode_t kParentMode = 0755;

// mkdir -p path; the last component gets mode (when created) and the owner (always).
Status ensure_directory(const std::string& path, mode_t mode, const MailOwner& owner) {
  if (path.empty() || path.front() != '/') {
    return Error::config("\"" + path + "\" is not an absolute path");
  }
  for (size_t pos = 1; pos < path.size(); ++pos) {
    if (path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), kParentMode) != 0 && errno != EEXIST) {
      return Error::system("mkdir " + prefix);
    }
  }
  if (::mkdir(path.c_str(), mode) == 0) {
    if (::chmod(path.c_str(), mode) != 0) return Error::system("chmod " + path);
  } else if (errno != EEXIST) {
    return Error::system("mkdir " + path);
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error::system("stat " + path);
  if (!S_ISDIR(st.st_mode)) return Error::config(path + " exists and is not a directory");
  if (owner.changes_owner() && (st.st_uid != owner.uid || st.st_gid != owner.gid)) {
    return give_to_owner(path, owner);
  }
  return Status::success();
}

}  // namespace

Status ensure_runtime_directories(const MainConfig& config, const MailOwner& owner) {
  QueueLayout layout{config.get("queue_directory")};
  if (layout.root.empty() || layout.root.front() != '/') {
    return Error::config("queue_directory \"" + layout.root + "\" is not an absolute path");
  }
  // The queue root keeps its owner (ensure_queue_directories); the sub-folders go to
  // mail_owner.
  if (Status parents = ensure_directory(layout.root, kParentMode, MailOwner{}); !parents) {
    return parents;
  }
  if (!owner.postdrop_warning.empty()) log::warning("{}", owner.postdrop_warning);
  if (Status queue = ensure_queue_directories(layout, owner.uid, owner.gid, owner.postdrop_gid); !queue) return queue;
  if (Status mail = ensure_directory(config.get("virtual_mailbox_base"), 0750, owner); !mail) {
    return mail;
  }
  return ensure_directory(config.get("data_directory"), 0750, owner);
}

}  // namespace postern::master
