// What postern-local reads from main.cf, once at start (postern-local(8) describes each
// parameter): where mailboxes are, which targets aliases and .forward files may name, and the
// limits of one delivery.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "lib/arc/arc_forward_sealing.hpp"
#include "lib/config/main_cf.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern::local {

struct LocalSettings {
  QueueLayout queue;
  std::string hostname;                    // myhostname
  std::string origin;                      // mail_origin(): for bare alias targets
  std::vector<std::string> mydestination;  // lower-cased
  std::string mail_spool_directory;        // /var/mail
  std::string home_mailbox;                // "" = the spool mbox; "Maildir/" = ~/Maildir/
  std::string recipient_delimiter;
  uint64_t mailbox_size_limit = 0;
  int lock_timeout_ms = 30000;
  int command_time_limit_seconds = 1000;
  std::set<std::string> allow_mail_to_commands;  // of "alias", "forward", "include"
  std::set<std::string> allow_mail_to_files;
  std::string default_privs;  // whose rights |command and /file of /etc/aliases run with
  gid_t mail_gid = static_cast<gid_t>(-1);  // group "mail": the spool mailboxes' group
  std::string alias_db_dir;                 // the compiled alias_maps
  // mail_owner: forwarded copies are new queue files, written as the queue's owner (when we do
  // not run as root: as ourselves).
  uid_t queue_uid = static_cast<uid_t>(-1);
  gid_t queue_gid = static_cast<gid_t>(-1);

  // ARC-seals forwarded copies (arc_sealing; set by main, which owns it); null: none sealed.
  const ArcForwardSealing* arc_sealing = nullptr;

  bool is_local_domain(std::string_view domain) const;
};

LocalSettings load_local_settings(const MainConfig& config);

}  // namespace postern::local
