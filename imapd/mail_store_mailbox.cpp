// Mailbox: one folder's Maildir and its LMDB index, shared by every session of an imapd process
// (see mail_store.hpp for the UID rules and change detection): opening and loading the index,
// catching up with other processes and the Maildir (sync), the change log (CONDSTORE/QRESYNC),
// \Recent and change subscriptions. The scan is in mail_store_scan.cpp, writes in
// mail_store_writes.cpp, message content and the cache in mail_store_content.cpp. Runs on
// imapd's event loop. The index is ours but is decoded with every length checked.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <unordered_set>

#include "imapd/mail_store_internal.hpp"
#include "imapd/maildir_files.hpp"
#include "lib/base/log.hpp"

namespace postern::imapd {
namespace {

constexpr int64_t kMtimeSettleNanos = 1'000'000'000;  // fallback: trust an mtime this old

}  // namespace

// --- ChangeSubscription

ChangeSubscription::ChangeSubscription(ChangeSubscription&& other) noexcept
    : listeners_(std::move(other.listeners_)), id_(std::exchange(other.id_, 0)) {}

ChangeSubscription& ChangeSubscription::operator=(ChangeSubscription&& other) noexcept {
  if (this != &other) {
    reset();
    listeners_ = std::move(other.listeners_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

ChangeSubscription::~ChangeSubscription() {
  reset();
}

void ChangeSubscription::reset() {
  if (auto listeners = listeners_.lock()) listeners->callbacks.erase(id_);
  listeners_.reset();
  id_ = 0;
}

// --- Mailbox

Mailbox::Mailbox(MailboxRegistry& registry, std::string path)
    : registry_(registry), path_(std::move(path)), impl_(std::make_unique<Private>()) {}

Mailbox::~Mailbox() {
  if (Status s = flush_cache(); !s) {
    log::warning("imapd: cache write failed in {}: {}", path_, s.error().describe());
  }
  registry_.remove_watches(*this);
  auto it = registry_.mailboxes_.find(path_);
  if (it != registry_.mailboxes_.end() && it->second.expired()) registry_.mailboxes_.erase(it);
}

Status Mailbox::ensure_writable() const {
  if (deleted_) return store_error(ErrorKind::kNotFound, "NONEXISTENT", "mailbox was deleted");
  return Status::success();
}

Status Mailbox::open_index() {
  std::string file = path_ + "/" + kIndexFileName;
  impl_->env.reset();
  auto env = imapd::open_index(file, &impl_->dbs);
  if (!env) return env.error();
  impl_->env.emplace(std::move(*env));
  auto txn = LmdbTxn::begin(*impl_->env, false);
  if (!txn) return txn.error();
  const IndexDbs& dbs = impl_->dbs;
  auto uidvalidity = meta_get(*txn, dbs, kMetaUidvalidity, 0);
  if (!uidvalidity) return uidvalidity.error();
  auto on_disk = read_uids_file(path_);
  if (*uidvalidity == 0) {
    // A new index, or one rebuilt after it was deleted: UIDs continue from postern-uids.
    UidsFile uids;
    uint64_t first_recent = 1;
    if (on_disk) {
      uids = *on_disk;
      first_recent = uids.reserved;
      log::info("imapd index rebuilt: folder={} uidvalidity={} uidnext={}", path_, uids.uidvalidity,
                uids.reserved);
    } else {
      auto fresh = next_uidvalidity(path_);
      if (!fresh) return fresh.error();
      uids.uidvalidity = *fresh;
      uids.reserved = 1;
    }
    uint64_t uidnext = uids.reserved;
    uids.reserved = uidnext + kUidReserveStep;
    if (Status s = write_uids_file(path_, uids); !s) return s;
    for (auto [key, value] :
         {std::pair{kMetaUidvalidity, uint64_t{uids.uidvalidity}}, std::pair{kMetaUidnext, uidnext},
          std::pair{kMetaHighestModseq, uint64_t{1}}, std::pair{kMetaFirstRecent, first_recent},
          std::pair{kMetaReserved, uids.reserved}}) {
      if (Status s = meta_put(*txn, dbs, key, value); !s) return s;
    }
  } else {
    auto reserved = meta_get(*txn, dbs, kMetaReserved, 1);
    if (!reserved) return reserved.error();
    if (!on_disk || on_disk->uidvalidity != *uidvalidity || on_disk->reserved != *reserved) {
      // postern-uids lost or stale: the index knows better.
      if (Status s =
              write_uids_file(path_, UidsFile{static_cast<uint32_t>(*uidvalidity), *reserved});
          !s) {
        return s;
      }
    }
  }
  if (Status s = txn->commit(); !s) return s;
  impl_->reopen = false;
  impl_->new_dirty = impl_->cur_dirty = true;
  return load_all();
}

Status Mailbox::load_all() {
  auto txn = LmdbTxn::begin(*impl_->env, true);
  if (!txn) return txn.error();
  const IndexDbs& dbs = impl_->dbs;
  auto uidvalidity = meta_get(*txn, dbs, kMetaUidvalidity, 0);
  auto uidnext = meta_get(*txn, dbs, kMetaUidnext, 1);
  auto modseq = meta_get(*txn, dbs, kMetaHighestModseq, 1);
  auto reserved = meta_get(*txn, dbs, kMetaReserved, 1);
  if (!uidvalidity) return uidvalidity.error();
  if (!uidnext) return uidnext.error();
  if (!modseq) return modseq.error();
  if (!reserved) return reserved.error();
  std::vector<MessageRecord> records;
  std::unordered_map<std::string, uint32_t> bases;
  auto cursor = LmdbCursor::open(*txn, dbs.uids);
  if (!cursor) return cursor.error();
  for (auto more = cursor->seek(MDB_FIRST);; more = cursor->seek(MDB_NEXT)) {
    if (!more) return more.error();
    if (!*more) break;
    auto uid = decode_uid(cursor->key());
    if (!uid) return uid.error();
    auto record = decode_record(*uid, cursor->value());
    if (!record) return record.error();
    bases[record_base(*record)] = *uid;
    records.push_back(std::move(*record));
  }
  uidvalidity_ = static_cast<uint32_t>(*uidvalidity);
  uidnext_ = static_cast<uint32_t>(*uidnext);
  highest_modseq_ = *modseq;
  impl_->reserved = *reserved;
  records_ = std::move(records);
  impl_->uid_of_base = std::move(bases);
  return Status::success();
}

const MessageRecord* Mailbox::find(uint32_t uid) const {
  auto it = std::lower_bound(records_.begin(), records_.end(), uid,
                             [](const MessageRecord& r, uint32_t u) { return r.uid < u; });
  if (it == records_.end() || it->uid != uid) return nullptr;
  return &*it;
}

// Loads what the change log holds past highest_modseq_ (other processes' writes, or ours just
// committed). Returns true when records changed.
Result<bool> Mailbox::catch_up(const LmdbTxn& txn) {
  const IndexDbs& dbs = impl_->dbs;
  auto modseq = meta_get(txn, dbs, kMetaHighestModseq, 1);
  auto uidnext = meta_get(txn, dbs, kMetaUidnext, 1);
  auto reserved = meta_get(txn, dbs, kMetaReserved, 1);
  if (!modseq) return modseq.error();
  if (!uidnext) return uidnext.error();
  if (!reserved) return reserved.error();
  uidnext_ = static_cast<uint32_t>(*uidnext);
  impl_->reserved = *reserved;
  if (*modseq == highest_modseq_) return false;
  if (*modseq < highest_modseq_) {
    // Only a replaced index file goes backwards: reload it whole.
    if (Status s = load_all(); !s) return s.error();
    registry_.schedule(*this, true);
    return true;
  }
  std::vector<MessageRecord> upserts;
  std::unordered_set<uint32_t> removals;
  auto cursor = LmdbCursor::open(txn, dbs.changes);
  if (!cursor) return cursor.error();
  for (auto more = cursor->seek(MDB_SET_RANGE, modseq_key(highest_modseq_ + 1));;
       more = cursor->seek(MDB_NEXT)) {
    if (!more) return more.error();
    if (!*more) break;
    auto change = decode_change(cursor->value());
    if (!change) return change.error();
    auto [uid, expunged] = *change;
    if (expunged) {
      removals.insert(uid);
      continue;
    }
    auto value = txn.get(dbs.uids, uid_key(uid));
    if (!value) return value.error();
    if (!*value) continue;  // logged but gone: cannot happen in a consistent index
    auto record = decode_record(uid, **value);
    if (!record) return record.error();
    upserts.push_back(std::move(*record));
  }
  std::vector<MessageRecord> additions;
  for (MessageRecord& record : upserts) {
    auto it = std::lower_bound(records_.begin(), records_.end(), record.uid,
                               [](const MessageRecord& r, uint32_t u) { return r.uid < u; });
    if (it != records_.end() && it->uid == record.uid) {
      impl_->uid_of_base.erase(record_base(*it));
      impl_->uid_of_base[record_base(record)] = record.uid;
      *it = std::move(record);
    } else {
      impl_->uid_of_base[record_base(record)] = record.uid;
      additions.push_back(std::move(record));
    }
  }
  if (!removals.empty()) {
    std::erase_if(records_, [&](const MessageRecord& r) {
      if (!removals.count(r.uid)) return false;
      auto base = impl_->uid_of_base.find(record_base(r));
      if (base != impl_->uid_of_base.end() && base->second == r.uid) {
        impl_->uid_of_base.erase(base);
      }
      return true;
    });
  }
  if (!additions.empty()) {
    std::sort(additions.begin(), additions.end(),
              [](const MessageRecord& a, const MessageRecord& b) { return a.uid < b.uid; });
    size_t middle = records_.size();
    bool in_order = records_.empty() || records_.back().uid < additions.front().uid;
    std::move(additions.begin(), additions.end(), std::back_inserter(records_));
    if (!in_order) {
      std::inplace_merge(
          records_.begin(), records_.begin() + static_cast<std::ptrdiff_t>(middle), records_.end(),
          [](const MessageRecord& a, const MessageRecord& b) { return a.uid < b.uid; });
    }
  }
  highest_modseq_ = *modseq;
  registry_.schedule(*this, true);
  return true;
}

Result<bool> Mailbox::catch_up_now() {
  auto txn = LmdbTxn::begin(*impl_->env, true);
  if (!txn) return txn.error();
  return catch_up(*txn);
}

// Whether postern-index on disk is no longer the file our environment has open.
bool Mailbox::index_replaced() {
  impl_->reopen = false;
  mdb_filehandle_t fd = -1;
  struct stat open_st {
  }, disk_st{};
  if (mdb_env_get_fd(impl_->env->get(), &fd) != 0 || fstat(fd, &open_st) != 0) return false;
  if (::stat((path_ + "/" + kIndexFileName).c_str(), &disk_st) != 0) return errno == ENOENT;
  return open_st.st_ino != disk_st.st_ino || open_st.st_dev != disk_st.st_dev;
}

Result<bool> Mailbox::sync() {
  if (deleted_) return false;
  registry_.drain_events();
  if (impl_->reopen && index_replaced()) {
    uint64_t before = highest_modseq_;
    if (Status s = open_index(); !s) return server_error(s.error());
    if (highest_modseq_ != before) registry_.schedule(*this, true);
  }
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  // Without an inotify watch: an mtime that moved, or that is too recent to trust.
  auto check_mtime = [&](int wd, const char* dir, const struct timespec& seen,
                         const struct timespec& scanned_at, bool* dirty) {
    if (wd >= 0 || *dirty) return;
    struct stat st {};
    if (::stat((path_ + dir).c_str(), &st) != 0) return;
    if (!same_time(st.st_mtim, seen) ||
        timespec_nanos(scanned_at) - timespec_nanos(st.st_mtim) < kMtimeSettleNanos) {
      *dirty = true;
    }
  };
  check_mtime(impl_->wd_new, "/new", impl_->new_mtime, impl_->new_scanned_at, &impl_->new_dirty);
  check_mtime(impl_->wd_cur, "/cur", impl_->cur_mtime, impl_->cur_scanned_at, &impl_->cur_dirty);
  uint64_t before = highest_modseq_;
  if (impl_->new_dirty || impl_->cur_dirty) {
    if (Status s = scan(impl_->new_dirty, impl_->cur_dirty); !s) return server_error(s.error());
  } else {
    auto caught = catch_up_now();
    if (!caught) return server_error(caught.error());
  }
  return highest_modseq_ != before;
}

Result<std::vector<IndexChange>> Mailbox::changes_since(uint64_t modseq) {
  auto txn = LmdbTxn::begin(*impl_->env, true);
  if (!txn) return server_error(txn.error());
  auto cursor = LmdbCursor::open(*txn, impl_->dbs.changes);
  if (!cursor) return server_error(cursor.error());
  std::vector<IndexChange> out;
  for (auto more = cursor->seek(MDB_SET_RANGE, modseq_key(modseq + 1));;
       more = cursor->seek(MDB_NEXT)) {
    if (!more) return server_error(more.error());
    if (!*more) break;
    auto key = decode_modseq(cursor->key());
    auto change = decode_change(cursor->value());
    if (!key) return server_error(key.error());
    if (!change) return server_error(change.error());
    if (*key > highest_modseq_) break;  // not loaded into records() yet: next sync
    out.push_back(IndexChange{*key, change->first, change->second});
  }
  return out;
}

Result<std::vector<uint32_t>> Mailbox::expunged_since(uint64_t modseq) {
  auto changes = changes_since(modseq);
  if (!changes) return changes.error();
  std::vector<uint32_t> out;
  for (const IndexChange& change : *changes) {
    if (change.expunged) out.push_back(change.uid);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<uint32_t> Mailbox::claim_recent(uint32_t up_to_uid) {
  auto txn = LmdbTxn::begin(*impl_->env, false);
  if (!txn) return server_error(txn.error());
  auto first = meta_get(*txn, impl_->dbs, kMetaFirstRecent, 1);
  if (!first) return server_error(first.error());
  if (up_to_uid <= *first) return up_to_uid;
  if (Status s = meta_put(*txn, impl_->dbs, kMetaFirstRecent, up_to_uid); !s) {
    return server_error(s.error());
  }
  if (Status s = txn->commit(); !s) return server_error(s.error());
  return static_cast<uint32_t>(*first);
}

uint32_t Mailbox::first_recent_uid() {
  auto txn = LmdbTxn::begin(*impl_->env, true);
  if (!txn) return uidnext_;
  auto first = meta_get(*txn, impl_->dbs, kMetaFirstRecent, 1);
  return first ? static_cast<uint32_t>(*first) : uidnext_;
}

ChangeSubscription Mailbox::subscribe(std::function<void()> callback) {
  uint64_t id = impl_->listeners->next_id++;
  impl_->listeners->callbacks.emplace(id, std::move(callback));
  return ChangeSubscription(impl_->listeners, id);
}

void Mailbox::notify_listeners() {
  // Copy: a callback may unsubscribe itself or others, or drop its Mailbox.
  std::vector<std::pair<uint64_t, std::function<void()>>> callbacks(
      impl_->listeners->callbacks.begin(), impl_->listeners->callbacks.end());
  std::weak_ptr<ChangeListeners> listeners = impl_->listeners;
  for (auto& [id, callback] : callbacks) {
    auto alive = listeners.lock();
    if (!alive || !alive->callbacks.count(id)) continue;
    callback();
  }
}

}  // namespace postern::imapd
