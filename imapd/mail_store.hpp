// imapd's mail store: one user's Maildir++ folders (MailStore) and, per folder, the LMDB index
// that gives its messages IMAP UIDs, flags, MODSEQs and cached FETCH text (Mailbox), shared by
// all sessions of the process through one MailboxRegistry. Runs in postern-imapd, on its event
// loop (single-threaded). Trusts the mail base from main.cf and the user name from login;
// treats folder names from clients and every file name found in a Maildir as hostile (checked
// before use: no name ever leaves the user's Maildir). Limits: kMaxFolderNameBytes,
// kMaxFolderDepth, kMaxFolders, kMaxMessagesPerFolder, kMaxCachedBytes.
//
// Layout (Maildir++, as delivery and Dovecot write it): the user's root
// $virtual_mailbox_base/<domain>/<local>/ is INBOX; folder "A.B" is the directory ".A.B"
// (hierarchy separator '.', names on disk are the modified UTF-7 names as clients send them);
// parents need not exist (a missing parent lists as \Noselect \HasChildren, as Dovecot shows
// it). Subscriptions: "<root>/subscriptions", one name per line. Messages: files in new/ and
// cur/, flags in the info part ":2,<DFPRST in ASCII order>".
//
// The index: "<folder>/postern-index" (LMDB, MDB_NOSUBDIR): UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ,
// uid -> record, file base name -> uid, a change log modseq -> uid (flag changes, arrivals,
// expunges: CONDSTORE/QRESYNC and other processes catching up), expunged uid -> modseq, the
// first-recent UID, cached ENVELOPE/BODYSTRUCTURE.
//
// How UIDs survive a deleted index (UIDVALIDITY changes only when it must):
// - When a file is first indexed it is renamed into cur/ with ",W=<CRLF size>" (if absent) and
//   ",P=<uid>" added to its base name ("P" for Postern: mbsync uses ",U=" for its own UIDs,
//   so we do not); files we write (APPEND, COPY) get them at once. Later flag renames by any
//   Maildir tool keep the base name, so the UID stays in the name.
// - "<folder>/postern-uids" (a small text file, written atomically) holds UIDVALIDITY and a
//   UID reservation: always above every UID ever given out in this folder (raised in steps of
//   kUidReserveStep, so it is rewritten once per that many messages).
// - A rebuilt index takes UIDVALIDITY from postern-uids, starts UIDNEXT at the reservation, and
//   trusts a file's P=<uid> when that UID is below UIDNEXT and no other file of the folder has
//   taken it; every other file (no P=, a duplicate P= such as a hard-linked copy, a P= at or
//   above the reservation, i.e. a file that came from another folder) gets a fresh UID and its
//   P= rewritten. The same rule runs on every scan, index present or not, so a file another tool
//   moves in from another folder never takes a UID this folder already used.
// - UIDVALIDITY changes only when postern-uids is gone or unreadable AND the index is gone:
//   then a new UIDVALIDITY and every file is renumbered in arrival order. A new UIDVALIDITY is
//   the time, but above the last one given out in the user's Maildir (kept in
//   "<root>/postern-uidvalidity"): a folder deleted and re-created within a second gets a
//   greater one, and no two folders of a user share one. Residual risk, documented: a file moved in
//   from another folder by another tool, with a P= below our reservation that no file here holds,
//   that lands while the index is deleted, takes that UID (it may be one that was expunged here
//   before).
// - A name that would grow past 255 bytes with ",P=" keeps its name; its UID then lives only in
//   the index (it is renumbered if the index is lost).
// Keywords live in the index (and so are lost with it); Dovecot's dovecot-keywords letters are
// not written yet.
//
// Change detection: the registry holds one inotify instance watching new/, cur/ and the folder
// directory itself (IN_MODIFY of postern-index: another imapd process) of every open folder.
// sync() first drains it (one non-blocking read); a folder whose new/ or cur/ saw an event we
// did not cause ourselves is rescanned (only the directory that changed); otherwise sync() is
// one LMDB read of HIGHESTMODSEQ plus catching up with changes other processes logged. Without
// a watch (inotify limits) it falls back to the directories' mtimes (rescanning while an mtime
// is less than a second old: mtime granularity is coarse).
//
// Errors: every Error returned by MailStore and Mailbox carries a message that starts with the
// IMAP response code, ready for "NO <message>": "[NONEXISTENT] ...", "[ALREADYEXISTS] ...",
// "[CANNOT] ...", "[LIMIT] ...", "[SERVERBUG] ...", "[NOPERM] ...", "[EXPUNGEISSUED] ...".
// ErrorKind says the kind (kNotFound, kPermanent, kLimit, kParse for a bad name, kSystem).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "imapd/mailbox_types.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/store/lmdb.hpp"
#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::imapd {

inline constexpr size_t kMaxFolderNameBytes = 250;  // "." + name is one directory entry
inline constexpr size_t kMaxFolderDepth = 32;       // hierarchy levels in one name
inline constexpr size_t kMaxFolders = 5000;         // folders per user (CREATE refuses more)
inline constexpr uint32_t kMaxMessagesPerFolder = 2'000'000;  // APPEND/COPY refuse more
inline constexpr size_t kMaxCachedBytes = 256 * 1024;         // one cached text per message
inline constexpr uint32_t kUidReserveStep = 1000;
inline constexpr const char* kIndexFileName = "postern-index";
inline constexpr const char* kUidsFileName = "postern-uids";

class Mailbox;
class MailboxRegistry;

// ---------------------------------------------------------------------------------------------
// Names

// The on-disk checks of a folder name (modified UTF-7, as the client sent it, INBOX already
// normalised): not empty, at most kMaxFolderNameBytes, no '/', no control byte, no empty level
// (leading, trailing or doubled '.'), at most kMaxFolderDepth levels, and valid modified
// UTF-7 (lib/imap/imap_mutf7). Error kParse "[CANNOT] ..." otherwise.
Status check_folder_name(std::string_view name);

// "INBOX" for any case of "inbox", "INBOX.x" for "inbox.x"; other names unchanged.
std::string normalize_folder_name(std::string_view name);

// The CRLF form IMAP shows of an LF-only file: every LF not preceded by CR becomes CRLF.
std::string lf_to_crlf(std::string_view bytes);
// Its size without building it.
uint64_t crlf_size(std::string_view bytes);

// ---------------------------------------------------------------------------------------------
// MailStore: one user's folders. Created at login, owned by the session.

enum class SpecialUse : uint8_t { kNone, kDrafts, kSent, kTrash, kJunk, kArchive };

struct FolderInfo {
  std::string name;           // modified UTF-7, "INBOX" first, then sorted by name
  bool exists = true;         // false: a missing parent of an existing folder (\Noselect)
  bool has_children = false;  // \HasChildren (else \HasNoChildren)
  bool subscribed = false;
  SpecialUse special_use = SpecialUse::kNone;  // by name: Drafts, Sent, Trash, Junk, Archive
};

// "\Drafts" ... "" for kNone.
std::string_view special_use_attribute(SpecialUse use);

class MailStore {
 public:
  // Opens (creates when missing, with tmp/ new/ cur/) the user's Maildir under base.
  // user is "local@domain" (lib/mailbox/maildir maildir_path). registry must outlive the store.
  static Result<std::unique_ptr<MailStore>> open(MailboxRegistry& registry, const std::string& base,
                                                 const std::string& user);

  const std::string& root() const { return root_; }

  // Every folder (INBOX included) and every missing parent, each once. Subscription state is
  // filled in; names subscribed but not existing are not listed here (see subscriptions()).
  Result<std::vector<FolderInfo>> list_folders();
  // Whether a selectable folder of that name exists.
  bool exists(std::string_view name) const;
  // The folder's directory ("<root>" for INBOX, "<root>/.<name>" otherwise); no check.
  std::string folder_path(std::string_view name) const;

  // CREATE: one folder (a trailing '.' is dropped; parents are not created, they list as
  // \Noselect, as in Dovecot's Maildir++). [ALREADYEXISTS] when it exists (INBOX always does),
  // [LIMIT] past kMaxFolders.
  Status create(std::string_view name);
  // DELETE (RFC 3501 6.3.4): INBOX cannot be deleted; the folder's messages and directory go
  // (children stay, the name then lists as \Noselect \HasChildren); a name that does not exist
  // as a folder: [NONEXISTENT] (also when it is only a \Noselect parent with children).
  // Sessions that have it selected see their Mailbox marked deleted().
  Status remove(std::string_view name);
  // RENAME (RFC 3501 6.3.5): children are renamed along; [ALREADYEXISTS] when the new name (or
  // a renamed child) exists, [NONEXISTENT] when the old one does not, [CANNOT] into itself.
  // RENAME INBOX moves all of INBOX's messages into the new folder (created) and leaves INBOX
  // empty; INBOX's children are not moved. Open Mailbox objects follow the rename.
  // Subscriptions are left as they are (as Dovecot does).
  Status rename(std::string_view from, std::string_view to);

  // SUBSCRIBE / UNSUBSCRIBE / LSUB: names as given (normalised), kept in file order.
  Status subscribe(std::string_view name);
  Status unsubscribe(std::string_view name);  // not subscribed: ok (as Dovecot)
  Result<std::vector<std::string>> subscriptions();

  // First login: Drafts, Sent, Trash, Junk, Archive created and subscribed when missing.
  // Idempotent, cheap when they exist.
  Status ensure_special_use_folders();

  // SELECT/EXAMINE/STATUS/APPEND/COPY target: the folder's shared Mailbox (synced once).
  // [NONEXISTENT] when there is no such selectable folder.
  Result<std::shared_ptr<Mailbox>> open_mailbox(std::string_view name);

  MailStore(const MailStore&) = delete;
  MailStore& operator=(const MailStore&) = delete;

 private:
  MailStore(MailboxRegistry& registry, std::string root)
      : registry_(registry), root_(std::move(root)) {}
  Result<std::vector<std::string>> folder_names();  // existing folders (not INBOX), sorted
  Status write_subscriptions(const std::vector<std::string>& names);
  MailboxRegistry& registry_;
  std::string root_;
};

// ---------------------------------------------------------------------------------------------
// Mailbox: one folder's index and messages, shared by every session of the process that has
// it open (from MailStore::open_mailbox / MailboxRegistry::open). Freed when the last
// shared_ptr goes.

struct StoreFlagsResult {
  std::vector<MessageRecord> changed;  // records after the change (FETCH FLAGS for these)
  std::vector<uint32_t> modified;      // UNCHANGEDSINCE failed for these UIDs
};

struct UidPair {
  uint32_t source = 0;
  uint32_t destination = 0;
};

struct IndexChange {
  uint64_t modseq = 0;
  uint32_t uid = 0;
  bool expunged = false;  // else: arrived or flags changed
};

struct ChangeListeners;  // defined in mail_store_internal.hpp

// Unsubscribes when destroyed. Safe to outlive the Mailbox.
class ChangeSubscription {
 public:
  ChangeSubscription() = default;
  ChangeSubscription(ChangeSubscription&& other) noexcept;
  ChangeSubscription& operator=(ChangeSubscription&& other) noexcept;
  ChangeSubscription(const ChangeSubscription&) = delete;
  ChangeSubscription& operator=(const ChangeSubscription&) = delete;
  ~ChangeSubscription();
  void reset();

 private:
  friend class Mailbox;
  ChangeSubscription(std::weak_ptr<ChangeListeners> listeners, uint64_t id)
      : listeners_(std::move(listeners)), id_(id) {}
  std::weak_ptr<ChangeListeners> listeners_;
  uint64_t id_ = 0;
};

class Mailbox : public std::enable_shared_from_this<Mailbox> {
 public:
  ~Mailbox();
  Mailbox(const Mailbox&) = delete;
  Mailbox& operator=(const Mailbox&) = delete;

  const std::string& path() const { return path_; }  // the folder's directory
  bool deleted() const { return deleted_; }          // DELETEd (or renamed away) meanwhile

  // Catches up with the Maildir and with other processes' index changes. Cheap when nothing
  // changed (see the file comment). Returns true when records changed.
  Result<bool> sync();

  uint32_t uidvalidity() const { return uidvalidity_; }
  uint32_t uidnext() const { return uidnext_; }
  uint64_t highest_modseq() const { return highest_modseq_; }
  // The messages as of the last sync (or own write), sorted by UID.
  const std::vector<MessageRecord>& records() const { return records_; }
  const MessageRecord* find(uint32_t uid) const;  // null when absent (expunged)

  // Changes logged after modseq (ascending modseq): what a session that has seen everything up
  // to modseq must report. An expunged UID shows once, as expunged.
  Result<std::vector<IndexChange>> changes_since(uint64_t modseq);
  // QRESYNC VANISHED (EARLIER): UIDs expunged after modseq, ascending UID.
  Result<std::vector<uint32_t>> expunged_since(uint64_t modseq);

  // APPEND: bytes (CRLF or LF line ends; stored LF-only, as delivery stores), flags, internal
  // date (seconds, and minutes east of UTC for display). Written tmp/ -> fsync -> cur/ ->
  // fsync cur/, mtime = internal date. Returns the new UID (APPENDUID).
  Result<uint32_t> append(std::string_view bytes, const MessageFlags& flags, int64_t internal_date,
                          int32_t zone_minutes);
  // STORE: applies change to each UID (absent UIDs are skipped), renaming files to the new
  // info part; each changed message gets a new MODSEQ. Unchanged flags: no new MODSEQ.
  Result<StoreFlagsResult> store_flags(const std::vector<uint32_t>& uids, const FlagChange& change);
  // COPY: each UID (ascending, absent ones skipped) into destination (hard link when possible,
  // else a copy), flags and keywords kept, internal date kept. Returns source -> destination
  // UID pairs (COPYUID). destination may be this Mailbox.
  Result<std::vector<UidPair>> copy(const std::vector<uint32_t>& uids, Mailbox& destination);
  // MOVE: copy, then expunge the copied sources (a crash between leaves a duplicate, never a
  // loss).
  Result<std::vector<UidPair>> move(const std::vector<uint32_t>& uids, Mailbox& destination);
  // EXPUNGE / UID EXPUNGE: removes exactly these UIDs (the caller picks the \Deleted ones).
  // Returns the UIDs actually removed, ascending.
  Result<std::vector<uint32_t>> expunge(const std::vector<uint32_t>& uids);

  // The message file as stored (LF line ends). [EXPUNGEISSUED] when it is gone.
  Result<std::string> read_file(uint32_t uid);
  // The message as IMAP shows it: CRLF line ends, exactly MessageRecord::size bytes.
  Result<std::string> message_bytes(uint32_t uid);

  // Cached text for a message (nullopt when none). store_cached ignores texts over
  // kMaxCachedBytes and UIDs no longer present. The texts of one command are written in one
  // transaction (one fsync) when the event loop gets back from it, or at once past
  // kMaxPendingCacheEntries / kMaxPendingCacheBytes (and at once without an event loop).
  std::optional<std::string> cached(uint32_t uid, CacheKind kind);
  Status store_cached(uint32_t uid, CacheKind kind, std::string_view text);
  Status flush_cache();
  static constexpr size_t kMaxPendingCacheEntries = 2048;
  static constexpr size_t kMaxPendingCacheBytes = size_t{8} << 20;

  // \Recent (RFC 3501 2.3.2: recent in exactly one session). A read-write session that learns
  // of messages up to (excluding) up_to_uid calls claim_recent(up_to_uid): the UIDs in
  // [returned value, up_to_uid) are recent for it, and for no other session (of any process).
  // EXAMINE sessions only look: first_recent_uid().
  Result<uint32_t> claim_recent(uint32_t up_to_uid);
  uint32_t first_recent_uid();

  // Calls callback on the event loop (never from inside another Mailbox call) after this
  // folder changed: another session's write, delivery, another process or Maildir tool. The
  // Mailbox is already synced when it runs.
  ChangeSubscription subscribe(std::function<void()> callback);
  // Tests only: runs in every rescan between listing new/ and cur/ and taking the index's
  // write lock, the window where another process's changes fall.
  void set_after_listing_for_tests(std::function<void()> hook);

 private:
  friend class MailboxRegistry;
  friend class MailStore;
  struct Private;
  Mailbox(MailboxRegistry& registry, std::string path);
  Status open_index();
  Status load_all();
  Result<bool> catch_up(const LmdbTxn& txn);
  Result<bool> catch_up_now();
  Status scan(bool scan_new, bool scan_cur);
  Status ensure_writable() const;
  bool index_replaced();
  void notify_listeners();
  static void on_cache_flush(int fd, short what, void* arg);

  MailboxRegistry& registry_;
  std::string path_;
  bool deleted_ = false;
  uint32_t uidvalidity_ = 0;
  uint32_t uidnext_ = 1;
  uint64_t highest_modseq_ = 0;
  std::vector<MessageRecord> records_;
  std::unique_ptr<Private> impl_;  // LMDB env and dbis, watches, name map, listeners
};

// ---------------------------------------------------------------------------------------------
// MailboxRegistry: process-wide (one per imapd process, created before the first login, lives
// as long as the event loop). Shares one Mailbox per folder path between sessions (LMDB must
// not open one environment twice in a process) and owns the inotify instance.

class MailboxRegistry {
 public:
  // Once a second it checks the open folders that have no inotify watch (inotify_init1 or a
  // watch failed, e.g. the user's fs.inotify.max_user_instances is used up) by their
  // directories' mtimes, so IDLE still hears of new mail within about a second.
  // use_inotify = false forces that mode (tests).
  static constexpr int kPollMilliseconds = 1000;
  explicit MailboxRegistry(event_base* base, bool use_inotify = true);
  ~MailboxRegistry();
  MailboxRegistry(const MailboxRegistry&) = delete;
  MailboxRegistry& operator=(const MailboxRegistry&) = delete;

  // The Mailbox of the folder directory path (must exist; tmp/ new/ cur/ are created when
  // missing), opened and synced on first use.
  Result<std::shared_ptr<Mailbox>> open(const std::string& folder_path);
  // Number of Mailbox objects alive (tests, logging).
  size_t open_count() const { return mailboxes_.size(); }
  // Reads pending inotify events (non-blocking) and marks folders dirty / schedules their
  // change callbacks. sync() calls it; the event loop calls it when the fd is readable.
  void drain_events();

 private:
  friend class Mailbox;
  friend class MailStore;
  struct Private;
  void add_watches(Mailbox& mailbox);
  void remove_watches(Mailbox& mailbox);
  void expect_event(int wd, const std::string& name);  // one we are about to cause
  void settle_own_changes();  // after our own writes: their events read and discarded
  void schedule(Mailbox& mailbox, bool forced);  // a change check / callbacks on the loop
  void run_pending();
  static void on_notify(int fd, short what, void* arg);
  static void on_poll(int fd, short what, void* arg);
  void start_polling();  // the once-a-second check of folders without a watch
  void rename_path(const std::string& from, const std::string& to);  // a folder was renamed
  void mark_deleted(const std::string& path);                        // a folder was deleted
  event_base* base_;
  std::map<std::string, std::weak_ptr<Mailbox>> mailboxes_;  // by folder path
  std::unique_ptr<Private> impl_;                            // inotify fd, watches, events
};

}  // namespace postern::imapd
