// The queue directory layout (queue_directory): incoming/ active/ deferred/ defer/ hold/ corrupt/
// maildrop/ private/ public/ pid/, queue IDs, and the directory fsync that makes a rename
// durable. Used by master (creates it), smtpd (incoming), qmgr (moves files) and the CLI.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

struct QueueLayout {
  std::string root;
  std::string incoming() const { return root + "/incoming"; }
  std::string active() const { return root + "/active"; }
  std::string deferred() const { return root + "/deferred"; }
  std::string hold() const { return root + "/hold"; }
  std::string corrupt() const { return root + "/corrupt"; }
  // defer/ID: why the message's recipients were last deferred (text, one line per recipient,
  // written by qmgr after each attempt, read by `postern queue list`; not a source of truth).
  std::string defer() const { return root + "/defer"; }
  std::string maildrop() const { return root + "/maildrop"; }
  std::string private_dir() const { return root + "/private"; }
  std::string public_dir() const { return root + "/public"; }
  std::string pid_dir() const { return root + "/pid"; }
  std::string pid_file() const { return root + "/pid/master.pid"; }
};

// Creates every folder (mode 0700, pid/ 0755) owned by uid:gid; -1 keeps the owner or group.
// maildrop/ (mode 1730) and public/ (0710) get the group postdrop_gid instead (setgid_group, the
// group of sendmail's postdrop helper) when it is not -1. The root itself is created 0755 and
// keeps its owner.
Status ensure_queue_directories(const QueueLayout& layout, uid_t uid, gid_t gid,
                                gid_t postdrop_gid = static_cast<gid_t>(-1));

// A new queue ID: 16 characters [0-9A-Z], unique within this host (time, pid and a counter),
// sorting by arrival time.
std::string new_queue_id();
// True when text has the shape of a queue ID (safe to use as a file name).
bool is_queue_id(std::string_view text);

Status fsync_directory(const std::string& path);
// rename(2) then fsync of the destination directory (and of the source one when it differs).
Status durable_rename(const std::string& from, const std::string& to);

}  // namespace postern
