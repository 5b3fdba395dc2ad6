// What mail_store.cpp, mail_store_*.cpp and mailbox_registry.cpp share inside imapd's
// mail store and nobody else uses: the private parts of Mailbox and MailboxRegistry, and the
// "[CODE] text" error helpers. Same trust and limits as mail_store.hpp.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "imapd/mail_store.hpp"
#include "imapd/mailbox_index.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/store/lmdb.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::imapd {

struct ChangeListeners {
  uint64_t next_id = 1;
  std::map<uint64_t, std::function<void()>> callbacks;
};

enum class WatchKind { kNew, kCur, kFolder };

struct Mailbox::Private {
  std::optional<LmdbEnv> env;  // set once open_index() succeeded
  IndexDbs dbs;
  std::unordered_map<std::string, uint32_t> uid_of_base;  // file base name -> uid
  uint64_t reserved = 0;                                  // UID reservation written to postern-uids
  bool new_dirty = true;                                  // new/ must be rescanned
  bool cur_dirty = true;
  bool reopen = false;  // postern-index was replaced under us
  int wd_new = -1;      // inotify watches (-1: none, fall back to mtimes)
  int wd_cur = -1;
  int wd_folder = -1;
  struct timespec new_mtime {};  // fallback: mtimes seen before the last scan
  struct timespec cur_mtime {};
  struct timespec new_scanned_at {};
  struct timespec cur_scanned_at {};
  bool notify_scheduled = false;
  bool notify_forced = false;
  std::shared_ptr<ChangeListeners> listeners = std::make_shared<ChangeListeners>();
  // Cache texts not yet written (cache_key -> text): written in one transaction when the event
  // loop gets back from the command that computed them, or at once past the bounds below.
  std::map<std::string, std::string> cache_pending;
  size_t cache_pending_bytes = 0;
  SingleEventHandle cache_flush_event;
  std::function<void()> after_listing;  // tests only (set_after_listing_for_tests)
};

struct MailboxRegistry::Private {
  UniqueFd inotify;
  SingleEventHandle read_event;
  SingleEventHandle notify_event;
  SingleEventHandle poll_event;  // armed once some folder has no inotify watch
  struct Watch {
    Mailbox* mailbox = nullptr;
    WatchKind kind = WatchKind::kNew;
  };
  std::unordered_map<int, Watch> watches;
  std::vector<std::weak_ptr<Mailbox>> pending;          // change notifications to run
  std::multiset<std::pair<int, std::string>> expected;  // (wd, name) events we caused
};

// "[CODE] text" errors (mail_store.hpp: ready for "NO <message>").
Error store_error(ErrorKind kind, std::string_view code, std::string_view text);
// A system or LMDB failure as [SERVERBUG], keeping kind and errno.
Error server_error(const Error& error);

// Directory fsync (after entries changed).
Status fsync_dir(const std::string& path);

}  // namespace postern::imapd
