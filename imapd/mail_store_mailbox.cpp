// Mailbox: one folder's Maildir and its LMDB index, shared by every session of an imapd process
// (see mail_store.hpp for the UID rules and change detection). Runs on imapd's event loop.
// File names in the Maildir are hostile (checked by maildir_names); the index is ours but is
// decoded with every length checked. Limits: kMaxMessagesPerFolder (APPEND/COPY),
// kMaxCachedBytes, kMaxMessageFileBytes (a message read whole), kScanBatch files per index
// transaction while scanning.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <unordered_set>

#include "imapd/mail_store_internal.hpp"
#include "imapd/maildir_names.hpp"
#include "lib/log.hpp"
#include "lib/maildir.hpp"

namespace postern::imapd {
namespace {

constexpr size_t kScanBatch = 5000;
constexpr uint64_t kMaxMessageFileBytes = uint64_t{512} << 20;
constexpr size_t kMaxUidsFileBytes = 256;
constexpr size_t kReadChunkBytes = 64 * 1024;
constexpr mode_t kFileMode = 0600;
constexpr mode_t kDirMode = 0700;
constexpr int64_t kMtimeSettleNanos = 1'000'000'000;  // fallback: trust an mtime this old

constexpr std::string_view kMetaUidvalidity = "uidvalidity";
constexpr std::string_view kMetaUidnext = "uidnext";
constexpr std::string_view kMetaHighestModseq = "highestmodseq";
constexpr std::string_view kMetaFirstRecent = "firstrecent";
constexpr std::string_view kMetaReserved = "reserved";

std::atomic<uint64_t> g_name_counter{0};

std::string_view file_name_of(std::string_view file) {  // "cur/x" -> "x"
  size_t slash = file.rfind('/');
  return slash == std::string_view::npos ? file : file.substr(slash + 1);
}

std::string record_base(const MessageRecord& record) {
  return std::string(split_maildir_name(file_name_of(record.file)).base);
}

bool in_new(const MessageRecord& record) {
  return record.file.rfind("new/", 0) == 0;
}

int32_t zone_minutes_at(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm {};
  if (localtime_r(&t, &tm) == nullptr) return 0;
  return static_cast<int32_t>(tm.tm_gmtoff / 60);
}

const std::string& host_name() {
  static const std::string host = [] {
    char buffer[256] = {};
    if (gethostname(buffer, sizeof(buffer) - 1) != 0) return std::string("localhost");
    return std::string(buffer);
  }();
  return host;
}

std::string new_unique_name() {
  struct timeval now {};
  gettimeofday(&now, nullptr);
  return maildir_unique_name(now.tv_sec, now.tv_usec, getpid(), g_name_counter++, host_name());
}

int64_t timespec_nanos(const struct timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

bool same_time(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

struct CountedFile {
  uint64_t crlf_size = 0;
  int64_t mtime = 0;
};

// The CRLF size and mtime of a message file, reading it once.
Result<CountedFile> count_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Error::system("stat " + path);
  if (!S_ISREG(st.st_mode)) return Error{ErrorKind::kPermanent, path + ": not a file", 0};
  CountedFile out;
  out.mtime = st.st_mtim.tv_sec;
  static std::string buffer(kReadChunkBytes, '\0');  // one event loop thread: reused
  char previous = 0;
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read " + path);
    if (n == 0) break;
    std::string_view chunk(buffer.data(), static_cast<size_t>(n));
    out.crlf_size += chunk.size();
    for (size_t pos = chunk.find('\n'); pos != std::string_view::npos;
         pos = chunk.find('\n', pos + 1)) {
      char before = pos > 0 ? chunk[pos - 1] : previous;
      if (before != '\r') ++out.crlf_size;
    }
    previous = chunk.back();
  }
  return out;
}

Result<std::string> read_whole(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Error::system("stat " + path);
  if (!S_ISREG(st.st_mode)) return Error{ErrorKind::kPermanent, path + ": not a file", 0};
  if (static_cast<uint64_t>(st.st_size) > kMaxMessageFileBytes) {
    return store_error(ErrorKind::kLimit, "LIMIT", "message file too large");
  }
  std::string out;
  out.reserve(static_cast<size_t>(st.st_size) + 1);
  static std::string buffer(kReadChunkBytes, '\0');  // one event loop thread: reused
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read " + path);
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > kMaxMessageFileBytes) {
      return store_error(ErrorKind::kLimit, "LIMIT", "message file too large");
    }
    out.append(buffer.data(), static_cast<size_t>(n));
  }
  return out;
}

Status write_all(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("write " + path);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::success();
}

// Writes bytes to "<folder>/tmp/<unique>", mtime = mtime_seconds, fsynced. Returns the tmp path.
Result<std::string> write_tmp_file(const std::string& folder, std::string_view bytes,
                                   int64_t mtime_seconds) {
  std::string tmp = folder + "/tmp/" + new_unique_name();
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode));
  if (!fd) return Error::system("create " + tmp);
  Status written = write_all(fd.get(), bytes, tmp);
  struct timespec times[2] = {{mtime_seconds, 0}, {mtime_seconds, 0}};
  if (written && futimens(fd.get(), times) != 0) written = Error::system("futimens " + tmp);
  if (written && fsync(fd.get()) != 0) written = Error::system("fsync " + tmp);
  if (!written) {
    ::unlink(tmp.c_str());
    return written.error();
  }
  return tmp;
}

// A new folder's UIDVALIDITY: the time, but always above the last one given out in this
// user's Maildir ("<root>/postern-uidvalidity", under flock), so a folder deleted and created
// again within a second still gets a greater value (RFC 3501 2.3.1.1), and no two folders of
// a user share one.
Result<uint32_t> next_uidvalidity(const std::string& folder) {
  size_t slash = folder.rfind('/');
  bool is_subfolder =
      slash != std::string::npos && slash + 1 < folder.size() && folder[slash + 1] == '.';
  std::string root = is_subfolder ? folder.substr(0, slash) : folder;
  std::string path = root + "/postern-uidvalidity";
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, kFileMode));
  if (!fd) return Error::system("open " + path);
  if (::flock(fd.get(), LOCK_EX) != 0) return Error::system("flock " + path);
  char buffer[32] = {};
  ssize_t n = ::pread(fd.get(), buffer, sizeof(buffer) - 1, 0);
  if (n < 0) return Error::system("read " + path);
  unsigned long long last = std::strtoull(buffer, nullptr, 10);
  uint64_t now = static_cast<uint64_t>(std::max<int64_t>(time(nullptr), 1));
  uint64_t next = std::max<uint64_t>(now, last + 1);
  if (next > UINT32_MAX) next = UINT32_MAX;  // not before 2106
  std::string text = std::to_string(next) + "\n";
  if (::ftruncate(fd.get(), 0) != 0 ||
      ::pwrite(fd.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()) ||
      ::fsync(fd.get()) != 0) {
    return Error::system("write " + path);
  }
  return static_cast<uint32_t>(next);
}

struct UidsFile {
  uint32_t uidvalidity = 0;
  uint64_t reserved = 0;
};

Result<UidsFile> read_uids_file(const std::string& folder) {
  std::string path = folder + "/" + kUidsFileName;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  char buffer[kMaxUidsFileBytes + 1];
  ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
  if (n < 0) return Error::system("read " + path);
  if (static_cast<size_t>(n) > kMaxUidsFileBytes) return Error::parse(path + ": too long");
  unsigned long long uidvalidity = 0, reserved = 0;
  std::string text(buffer, static_cast<size_t>(n));
  if (sscanf(text.c_str(), "uidvalidity %llu\nreserved %llu\n", &uidvalidity, &reserved) != 2 ||
      uidvalidity == 0 || uidvalidity > UINT32_MAX || reserved == 0 || reserved > UINT32_MAX) {
    return Error::parse(path + ": malformed");
  }
  return UidsFile{static_cast<uint32_t>(uidvalidity), reserved};
}

Status write_uids_file(const std::string& folder, const UidsFile& uids) {
  std::string text = "uidvalidity " + std::to_string(uids.uidvalidity) + "\nreserved " +
                     std::to_string(uids.reserved) + "\n";
  std::string path = folder + "/" + kUidsFileName;
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode));
    if (!fd) return Error::system("create " + tmp);
    if (Status s = write_all(fd.get(), text, tmp); !s) return s;
    if (fsync(fd.get()) != 0) return Error::system("fsync " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Error e = Error::system("rename " + tmp);
    ::unlink(tmp.c_str());
    return e;
  }
  return fsync_dir(folder);
}

bool same_keyword(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

void normalize_keywords(std::vector<std::string>& keywords) {
  std::vector<std::string> out;
  for (std::string& keyword : keywords) {
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const std::string& k) { return same_keyword(k, keyword); });
    if (!seen) out.push_back(std::move(keyword));
  }
  std::sort(out.begin(), out.end());
  keywords = std::move(out);
}

Status check_keywords(const std::vector<std::string>& keywords) {
  if (keywords.size() > kMaxKeywordsPerMessage) {
    return store_error(ErrorKind::kLimit, "LIMIT", "too many keywords");
  }
  for (const std::string& keyword : keywords) {
    if (keyword.empty() || keyword.size() > kMaxKeywordBytes) {
      return store_error(ErrorKind::kLimit, "LIMIT", "keyword too long");
    }
  }
  return Status::success();
}

MessageFlags apply_change(const MessageFlags& old, const FlagChange& change) {
  MessageFlags out = old;
  switch (change.op) {
    case FlagOp::kReplace:
      out = change.flags;
      break;
    case FlagOp::kAdd:
      out.system |= change.flags.system;
      for (const std::string& k : change.flags.keywords) out.keywords.push_back(k);
      break;
    case FlagOp::kRemove:
      out.system &= static_cast<uint8_t>(~change.flags.system);
      std::erase_if(out.keywords, [&](const std::string& k) {
        return std::any_of(change.flags.keywords.begin(), change.flags.keywords.end(),
                           [&](const std::string& r) { return same_keyword(k, r); });
      });
      break;
  }
  normalize_keywords(out.keywords);
  return out;
}

// One write transaction on a folder's index, with the counters it advances. finish() writes
// them back (raising the UID reservation file first when needed) and commits.
class IndexWriter {
 public:
  IndexWriter(LmdbTxn txn, const IndexDbs& dbs, const std::string& folder, uint64_t modseq,
              uint32_t uidnext, uint64_t reserved, uint32_t uidvalidity)
      : txn_(std::move(txn)),
        dbs_(&dbs),
        folder_(&folder),
        modseq_(modseq),
        uidnext_(uidnext),
        first_uidnext_(uidnext),
        reserved_(reserved),
        uidvalidity_(uidvalidity) {}

  static Result<IndexWriter> begin(const LmdbEnv& env, const IndexDbs& dbs,
                                   const std::string& folder) {
    auto txn = LmdbTxn::begin(env, false);
    if (!txn) return txn.error();
    auto modseq = meta_get(*txn, dbs, kMetaHighestModseq, 1);
    auto uidnext = meta_get(*txn, dbs, kMetaUidnext, 1);
    auto reserved = meta_get(*txn, dbs, kMetaReserved, 1);
    auto uidvalidity = meta_get(*txn, dbs, kMetaUidvalidity, 0);
    if (!modseq) return modseq.error();
    if (!uidnext) return uidnext.error();
    if (!reserved) return reserved.error();
    if (!uidvalidity) return uidvalidity.error();
    return IndexWriter(std::move(*txn), dbs, folder, *modseq, static_cast<uint32_t>(*uidnext),
                       *reserved, static_cast<uint32_t>(*uidvalidity));
  }

  LmdbTxn& txn() { return txn_; }
  uint32_t uidnext() const { return uidnext_; }
  uint32_t take_uid() { return uidnext_++; }
  size_t writes() const { return writes_; }

  Status put_new(MessageRecord& record, const std::string& base) {
    record.modseq = ++modseq_;
    ++writes_;
    if (Status s = txn_.put(dbs_->uids, uid_key(record.uid), encode_record(record)); !s) return s;
    if (Status s = txn_.put(dbs_->names, base, uid_key(record.uid)); !s) return s;
    return txn_.put(dbs_->changes, modseq_key(record.modseq), encode_change(record.uid, false));
  }

  // record replaces old (same uid); bump: a new MODSEQ (flags changed).
  Status update(const MessageRecord& old, MessageRecord& record, bool bump) {
    ++writes_;
    std::string old_base = record_base(old);
    std::string base = record_base(record);
    if (old_base != base) {
      if (Status s = txn_.del(dbs_->names, old_base); !s) return s;
      if (Status s = txn_.put(dbs_->names, base, uid_key(record.uid)); !s) return s;
    }
    if (bump) {
      if (Status s = txn_.del(dbs_->changes, modseq_key(old.modseq)); !s) return s;
      record.modseq = ++modseq_;
      if (Status s =
              txn_.put(dbs_->changes, modseq_key(record.modseq), encode_change(record.uid, false));
          !s) {
        return s;
      }
    } else if (old_base != base) {
      // Not a flag change, but other processes must reload the record (its file moved):
      // log it under a new modseq without telling clients more than a FETCH of same flags.
      if (Status s = txn_.del(dbs_->changes, modseq_key(old.modseq)); !s) return s;
      record.modseq = ++modseq_;
      if (Status s =
              txn_.put(dbs_->changes, modseq_key(record.modseq), encode_change(record.uid, false));
          !s) {
        return s;
      }
    }
    return txn_.put(dbs_->uids, uid_key(record.uid), encode_record(record));
  }

  Status expunge(const MessageRecord& old) {
    ++writes_;
    uint64_t modseq = ++modseq_;
    if (Status s = txn_.del(dbs_->uids, uid_key(old.uid)); !s) return s;
    if (Status s = txn_.del(dbs_->names, record_base(old)); !s) return s;
    for (CacheKind kind : {CacheKind::kEnvelope, CacheKind::kBodyStructure, CacheKind::kBody}) {
      if (Status s = txn_.del(dbs_->cache, cache_key(old.uid, kind)); !s) return s;
    }
    if (Status s = txn_.del(dbs_->changes, modseq_key(old.modseq)); !s) return s;
    if (Status s = txn_.put(dbs_->changes, modseq_key(modseq), encode_change(old.uid, true)); !s) {
      return s;
    }
    return txn_.put(dbs_->expunged, uid_key(old.uid), encode_u64(modseq));
  }

  Result<bool> is_expunged(uint32_t uid) const {
    auto got = txn_.get(dbs_->expunged, uid_key(uid));
    if (!got) return got.error();
    return got->has_value();
  }

  // Writes the counters, raises the reservation (postern-uids) first when UIDs reached it.
  Result<uint64_t> finish() {
    if (writes_ == 0 && uidnext_ == first_uidnext_) return reserved_;  // nothing to commit
    if (uidnext_ >= reserved_) {
      uint64_t reserved = uint64_t{uidnext_} + kUidReserveStep;
      if (Status s = write_uids_file(*folder_, UidsFile{uidvalidity_, reserved}); !s) {
        return s.error();
      }
      reserved_ = reserved;
      if (Status s = meta_put(txn_, *dbs_, kMetaReserved, reserved_); !s) return s.error();
    }
    if (Status s = meta_put(txn_, *dbs_, kMetaUidnext, uidnext_); !s) return s.error();
    if (Status s = meta_put(txn_, *dbs_, kMetaHighestModseq, modseq_); !s) return s.error();
    if (Status s = txn_.commit(); !s) return s.error();
    return reserved_;
  }

 private:
  LmdbTxn txn_;
  const IndexDbs* dbs_;
  const std::string* folder_;
  uint64_t modseq_;
  uint32_t uidnext_;
  uint32_t first_uidnext_;
  uint64_t reserved_;
  uint32_t uidvalidity_;
  size_t writes_ = 0;
};

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

// Rescans new/ and/or cur/ against the index: new files get UIDs (arrival order, P= trusted by
// the rule in mail_store.hpp) and move into cur/ with P= and W= in their names; renamed files
// update flags; vanished files are expunged.
Status Mailbox::scan(bool scan_new, bool scan_cur) {
  impl_->new_dirty = impl_->new_dirty && !scan_new;
  impl_->cur_dirty = impl_->cur_dirty && !scan_cur;
  struct Entry {
    bool in_new;
    std::string name;
  };
  std::vector<Entry> listed;
  struct timespec now {};
  clock_gettime(CLOCK_REALTIME, &now);
  for (bool dir_new : {true, false}) {
    if (dir_new ? !scan_new : !scan_cur) continue;
    std::string dir = path_ + (dir_new ? "/new" : "/cur");
    struct stat st {};
    if (::stat(dir.c_str(), &st) == 0) {
      (dir_new ? impl_->new_mtime : impl_->cur_mtime) = st.st_mtim;
      (dir_new ? impl_->new_scanned_at : impl_->cur_scanned_at) = now;
    }
    DIR* handle = ::opendir(dir.c_str());
    if (handle == nullptr) {
      if (errno == ENOENT && ::mkdir(dir.c_str(), kDirMode) == 0) continue;
      return Error::system("opendir " + dir);
    }
    std::unique_ptr<DIR, int (*)(DIR*)> closer(handle, ::closedir);
    size_t count = 0;
    while (struct dirent* entry = ::readdir(handle)) {
      std::string_view name(entry->d_name);
      if (!plausible_message_name(name) || entry->d_type == DT_DIR) continue;
      if (++count > kMaxMessagesPerFolder) {
        log::warning("imapd: folder {} holds over {} files, the rest is not indexed", dir,
                     kMaxMessagesPerFolder);
        break;
      }
      listed.push_back(Entry{dir_new, std::string(name)});
    }
  }

  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) return writer.error();
  if (auto caught = catch_up(writer->txn()); !caught) return caught.error();

  std::unordered_set<uint32_t> seen;
  std::vector<Entry> candidates;
  for (Entry& entry : listed) {
    MaildirName name = split_maildir_name(entry.name);
    auto known = impl_->uid_of_base.find(std::string(name.base));
    if (known == impl_->uid_of_base.end() || seen.count(known->second)) {
      candidates.push_back(std::move(entry));
      continue;
    }
    seen.insert(known->second);
    const MessageRecord* record = find(known->second);
    if (record == nullptr) continue;
    std::string file = (entry.in_new ? "new/" : "cur/") + entry.name;
    if (record->file == file) continue;
    MessageRecord updated = *record;
    updated.file = file;
    updated.flags.system = flags_from_info(name.info);
    bool bump = updated.flags.system != record->flags.system;
    if (Status s = writer->update(*record, updated, bump); !s) return s;
  }
  for (const MessageRecord& record : records_) {
    if ((in_new(record) ? scan_new : scan_cur) && !seen.count(record.uid)) {
      if (Status s = writer->expunge(record); !s) return s;
    }
  }

  std::sort(candidates.begin(), candidates.end(), [](const Entry& a, const Entry& b) {
    ArrivalKey ka = arrival_key(a.name), kb = arrival_key(b.name);
    if (ka.seconds != kb.seconds) return ka.seconds < kb.seconds;
    if (ka.micros != kb.micros) return ka.micros < kb.micros;
    return a.name < b.name;
  });
  std::unordered_set<uint32_t> taken;
  std::unordered_set<std::string> new_bases;
  bool renamed = false;
  for (const Entry& entry : candidates) {
    if (writer->writes() >= kScanBatch) {
      auto done = writer->finish();
      if (!done) return done.error();
      writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
      if (!writer) return writer.error();
    }
    MaildirName name = split_maildir_name(entry.name);
    std::string source = path_ + (entry.in_new ? "/new/" : "/cur/") + entry.name;
    std::optional<uint64_t> given = base_field(name.base, 'P');
    uint32_t uid = 0;
    if (given && *given >= 1 && *given < writer->uidnext() &&
        find(static_cast<uint32_t>(*given)) == nullptr &&
        !taken.count(static_cast<uint32_t>(*given))) {
      auto expunged = writer->is_expunged(static_cast<uint32_t>(*given));
      if (!expunged) return expunged.error();
      if (!*expunged) uid = static_cast<uint32_t>(*given);
    }
    MessageRecord record;
    std::optional<uint64_t> crlf = base_field(name.base, 'W');
    if (crlf) {
      struct stat st {};
      if (::stat(source.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;  // gone meanwhile
      record.size = *crlf;
      record.internal_date = st.st_mtim.tv_sec;
    } else {
      auto counted = count_file(source);
      if (!counted) {
        if (counted.error().sys_errno != ENOENT) {
          log::warning("imapd: cannot index {}: {}", source, counted.error().describe());
        }
        continue;
      }
      record.size = counted->crlf_size;
      record.internal_date = counted->mtime;
    }
    if (uid == 0) uid = writer->take_uid();
    std::string base = with_base_field(name.base, 'P', uid);
    if (!crlf) base = with_base_field(base, 'W', record.size);
    std::string target = base + ":2," + std::string(name.info);
    if (target.size() > kMaxMaildirNameBytes || new_bases.count(base) ||
        impl_->uid_of_base.count(base)) {
      // Cannot carry P= (too long): the UID lives in the index only.
      base = std::string(name.base);
      if (new_bases.count(base) || impl_->uid_of_base.count(base)) {
        log::warning("imapd: {} duplicates another message's name, not indexed", source);
        continue;
      }
      record.file = (entry.in_new ? "new/" : "cur/") + entry.name;
    } else {
      std::string destination = path_ + "/cur/" + target;
      registry_.expect_event(entry.in_new ? impl_->wd_new : impl_->wd_cur, entry.name);
      registry_.expect_event(impl_->wd_cur, target);
      if (::rename(source.c_str(), destination.c_str()) != 0) {
        if (errno == ENOENT) continue;  // taken away meanwhile
        return Error::system("rename " + source);
      }
      renamed = true;
      record.file = "cur/" + target;
    }
    record.uid = uid;
    record.flags.system = flags_from_info(name.info);
    record.internal_date_zone = zone_minutes_at(record.internal_date);
    taken.insert(uid);
    new_bases.insert(base);
    if (Status s = writer->put_new(record, base); !s) return s;
  }
  auto done = writer->finish();
  if (!done) return done.error();
  if (renamed) {
    if (Status s = fsync_dir(path_ + "/cur"); !s) return s;
  }
  registry_.settle_own_changes();
  auto caught = catch_up_now();
  if (!caught) return caught.error();
  return Status::success();
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

Result<uint32_t> Mailbox::append(std::string_view bytes, const MessageFlags& flags,
                                 int64_t internal_date, int32_t zone_minutes) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (Status s = check_keywords(flags.keywords); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  if (records_.size() >= kMaxMessagesPerFolder) {
    return store_error(ErrorKind::kLimit, "LIMIT", "mailbox is full");
  }
  std::string stored;
  CrlfToLf converter;
  converter.feed(bytes, stored);
  converter.finish(stored);
  auto tmp = write_tmp_file(path_, stored, internal_date);
  if (!tmp) return server_error(tmp.error());
  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) {
    ::unlink(tmp->c_str());
    return server_error(writer.error());
  }
  if (auto caught = catch_up(writer->txn()); !caught) {
    ::unlink(tmp->c_str());
    return server_error(caught.error());
  }
  MessageRecord record;
  record.uid = writer->take_uid();
  record.flags = flags;
  normalize_keywords(record.flags.keywords);
  record.size = crlf_size(stored);
  record.internal_date = internal_date;
  record.internal_date_zone = zone_minutes;
  std::string unique = std::string(file_name_of(*tmp));
  std::string base = unique + ",S=" + std::to_string(stored.size()) +
                     ",W=" + std::to_string(record.size) + ",P=" + std::to_string(record.uid);
  std::string name = base + ":2," + info_for_flags(flags.system, "");
  record.file = "cur/" + name;
  registry_.expect_event(impl_->wd_cur, name);
  if (::rename(tmp->c_str(), (path_ + "/" + record.file).c_str()) != 0) {
    Error e = Error::system("rename " + *tmp);
    ::unlink(tmp->c_str());
    return server_error(e);
  }
  Status s = fsync_dir(path_ + "/cur");
  if (s) s = writer->put_new(record, base);
  if (s) {
    auto done = writer->finish();
    if (!done) s = done.error();
  }
  if (!s) {
    // The file is in cur/ with a P= the index never committed: the next scan gives it a UID.
    impl_->cur_dirty = true;
    return server_error(s.error());
  }
  registry_.settle_own_changes();
  if (auto caught = catch_up_now(); !caught) return server_error(caught.error());
  return record.uid;
}

Result<StoreFlagsResult> Mailbox::store_flags(const std::vector<uint32_t>& uids,
                                              const FlagChange& change) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (Status s = check_keywords(change.flags.keywords); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) return server_error(writer.error());
  if (auto caught = catch_up(writer->txn()); !caught) return server_error(caught.error());
  StoreFlagsResult result;
  struct Planned {
    const MessageRecord* old;
    MessageFlags flags;
  };
  std::vector<Planned> planned;
  for (uint32_t uid : uids) {
    const MessageRecord* record = find(uid);
    if (record == nullptr) continue;
    if (change.unchanged_since && record->modseq > *change.unchanged_since) {
      result.modified.push_back(uid);
      continue;
    }
    MessageFlags flags = apply_change(record->flags, change);
    if (flags == record->flags) continue;
    if (Status s = check_keywords(flags.keywords); !s) return s.error();
    planned.push_back(Planned{record, std::move(flags)});
  }
  std::vector<uint32_t> changed;
  for (Planned& plan : planned) {
    MessageRecord updated = *plan.old;
    updated.flags = plan.flags;
    if (plan.flags.system != plan.old->flags.system) {
      std::string_view old_name = file_name_of(plan.old->file);
      MaildirName parts = split_maildir_name(old_name);
      std::string name =
          std::string(parts.base) + ":2," + info_for_flags(plan.flags.system, parts.info);
      updated.file = "cur/" + name;
      registry_.expect_event(in_new(*plan.old) ? impl_->wd_new : impl_->wd_cur,
                             std::string(old_name));
      registry_.expect_event(impl_->wd_cur, name);
      if (::rename((path_ + "/" + plan.old->file).c_str(), (path_ + "/" + updated.file).c_str()) !=
          0) {
        if (errno == ENOENT) {  // another tool renamed or removed it: the rescan will tell
          impl_->cur_dirty = impl_->new_dirty = true;
          continue;
        }
        return server_error(Error::system("rename " + plan.old->file));
      }
    }
    if (Status s = writer->update(*plan.old, updated, true); !s) return server_error(s.error());
    changed.push_back(updated.uid);
  }
  if (auto done = writer->finish(); !done) {
    impl_->cur_dirty = true;  // files may be renamed already: the rescan puts the index right
    return server_error(done.error());
  }
  registry_.settle_own_changes();
  if (auto caught = catch_up_now(); !caught) return server_error(caught.error());
  for (uint32_t uid : changed) {
    if (const MessageRecord* record = find(uid)) result.changed.push_back(*record);
  }
  return result;
}

Result<std::vector<UidPair>> Mailbox::copy(const std::vector<uint32_t>& uids,
                                           Mailbox& destination) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (Status s = destination.ensure_writable(); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  if (&destination != this) {
    if (auto synced = destination.sync(); !synced) return synced.error();
  }
  std::vector<MessageRecord> sources;
  for (uint32_t uid : uids) {
    if (const MessageRecord* record = find(uid)) sources.push_back(*record);
  }
  std::sort(sources.begin(), sources.end(),
            [](const MessageRecord& a, const MessageRecord& b) { return a.uid < b.uid; });
  if (destination.records_.size() + sources.size() > kMaxMessagesPerFolder) {
    return store_error(ErrorKind::kLimit, "LIMIT", "destination mailbox is full");
  }
  auto writer =
      IndexWriter::begin(*destination.impl_->env, destination.impl_->dbs, destination.path_);
  if (!writer) return server_error(writer.error());
  if (auto caught = destination.catch_up(writer->txn()); !caught) {
    return server_error(caught.error());
  }
  std::vector<UidPair> pairs;
  std::vector<std::string> created;  // removed again if the index write fails
  auto fail = [&](const Error& error) -> Result<std::vector<UidPair>> {
    for (const std::string& file : created) ::unlink(file.c_str());
    return server_error(error);
  };
  for (const MessageRecord& source : sources) {
    MaildirName parts = split_maildir_name(file_name_of(source.file));
    MessageRecord record = source;
    record.uid = writer->take_uid();
    std::string base = new_unique_name();
    if (auto stored = base_field(parts.base, 'S')) base += ",S=" + std::to_string(*stored);
    base += ",W=" + std::to_string(source.size) + ",P=" + std::to_string(record.uid);
    std::string name = base + ":2," + info_for_flags(source.flags.system, parts.info);
    record.file = "cur/" + name;
    std::string from = path_ + "/" + source.file;
    std::string to = destination.path_ + "/" + record.file;
    registry_.expect_event(destination.impl_->wd_cur, name);
    if (::link(from.c_str(), to.c_str()) != 0) {
      if (errno == ENOENT) continue;  // expunged by another tool meanwhile
      auto bytes = read_whole(from);
      if (!bytes) {
        if (bytes.error().sys_errno == ENOENT) continue;
        return fail(bytes.error());
      }
      auto tmp = write_tmp_file(destination.path_, *bytes, source.internal_date);
      if (!tmp) return fail(tmp.error());
      if (::rename(tmp->c_str(), to.c_str()) != 0) {
        Error e = Error::system("rename " + *tmp);
        ::unlink(tmp->c_str());
        return fail(e);
      }
    }
    created.push_back(to);
    if (Status s = writer->put_new(record, base); !s) return fail(s.error());
    pairs.push_back(UidPair{source.uid, record.uid});
  }
  Status s = fsync_dir(destination.path_ + "/cur");
  if (s) {
    auto done = writer->finish();
    if (!done) s = done.error();
  }
  if (!s) return fail(s.error());
  registry_.settle_own_changes();
  if (auto caught = destination.catch_up_now(); !caught) return server_error(caught.error());
  return pairs;
}

Result<std::vector<UidPair>> Mailbox::move(const std::vector<uint32_t>& uids,
                                           Mailbox& destination) {
  // Into the same folder too (RFC 6851 allows it): new UIDs, the old ones expunged.
  auto pairs = copy(uids, destination);
  if (!pairs) return pairs.error();
  std::vector<uint32_t> sources;
  for (const UidPair& pair : *pairs) sources.push_back(pair.source);
  if (auto expunged = expunge(sources); !expunged) return expunged.error();
  return pairs;
}

Result<std::vector<uint32_t>> Mailbox::expunge(const std::vector<uint32_t>& uids) {
  if (Status s = ensure_writable(); !s) return s.error();
  if (auto synced = sync(); !synced) return synced.error();
  auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
  if (!writer) return server_error(writer.error());
  if (auto caught = catch_up(writer->txn()); !caught) return server_error(caught.error());
  std::vector<uint32_t> removed;
  std::vector<uint32_t> sorted = uids;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  for (uint32_t uid : sorted) {
    const MessageRecord* record = find(uid);
    if (record == nullptr) continue;
    registry_.expect_event(in_new(*record) ? impl_->wd_new : impl_->wd_cur,
                           std::string(file_name_of(record->file)));
    if (::unlink((path_ + "/" + record->file).c_str()) != 0 && errno != ENOENT) {
      return server_error(Error::system("unlink " + record->file));
    }
    if (Status s = writer->expunge(*record); !s) return server_error(s.error());
    removed.push_back(uid);
  }
  if (removed.empty()) return removed;
  if (auto done = writer->finish(); !done) {
    impl_->cur_dirty = impl_->new_dirty = true;
    return server_error(done.error());
  }
  registry_.settle_own_changes();
  if (auto caught = catch_up_now(); !caught) return server_error(caught.error());
  return removed;
}

Result<std::string> Mailbox::read_file(uint32_t uid) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const MessageRecord* record = find(uid);
    if (record == nullptr) break;
    auto bytes = read_whole(path_ + "/" + record->file);
    if (bytes) return bytes;
    if (bytes.error().sys_errno != ENOENT) return server_error(bytes.error());
    // Renamed or removed by another tool: catch up once and look again.
    impl_->new_dirty = impl_->cur_dirty = true;
    if (auto synced = sync(); !synced) return synced.error();
  }
  return store_error(ErrorKind::kNotFound, "EXPUNGEISSUED", "message was expunged");
}

Result<std::string> Mailbox::message_bytes(uint32_t uid) {
  auto bytes = read_file(uid);
  if (!bytes) return bytes.error();
  std::string shown = lf_to_crlf(*bytes);
  const MessageRecord* record = find(uid);
  if (record != nullptr && record->size != shown.size()) {
    // A W= that lied (another tool's file): keep the index true to the file.
    log::warning("imapd: {}/{} size was {}, is {}", path_, record->file, record->size,
                 shown.size());
    auto writer = IndexWriter::begin(*impl_->env, impl_->dbs, path_);
    if (writer) {
      MessageRecord fixed = *record;
      fixed.size = shown.size();
      if (writer->update(*record, fixed, true) && writer->finish()) (void)catch_up_now();
    }
  }
  return shown;
}

std::optional<std::string> Mailbox::cached(uint32_t uid, CacheKind kind) {
  std::string key = cache_key(uid, kind);
  auto pending = impl_->cache_pending.find(key);
  if (pending != impl_->cache_pending.end()) {
    if (find(uid) == nullptr) return std::nullopt;  // expunged before the write
    return pending->second;
  }
  auto txn = LmdbTxn::begin(*impl_->env, true);
  if (!txn) return std::nullopt;
  auto got = txn->get(impl_->dbs.cache, key);
  if (!got || !*got) return std::nullopt;
  return std::string(**got);
}

Status Mailbox::store_cached(uint32_t uid, CacheKind kind, std::string_view text) {
  if (text.size() > kMaxCachedBytes || deleted_) return Status::success();
  auto [it, added] = impl_->cache_pending.try_emplace(cache_key(uid, kind), text);
  if (!added) return Status::success();
  impl_->cache_pending_bytes += it->first.size() + it->second.size();
  if (registry_.base_ == nullptr || impl_->cache_pending.size() >= kMaxPendingCacheEntries ||
      impl_->cache_pending_bytes >= kMaxPendingCacheBytes) {
    return flush_cache();
  }
  if (!impl_->cache_flush_event) {
    impl_->cache_flush_event.reset(event_new(registry_.base_, -1, 0, &Mailbox::on_cache_flush, this));
  }
  if (impl_->cache_flush_event &&
      !event_pending(impl_->cache_flush_event.get(), EV_TIMEOUT, nullptr)) {
    struct timeval now {};
    event_add(impl_->cache_flush_event.get(), &now);
  }
  return Status::success();
}

void Mailbox::on_cache_flush(int, short, void* arg) {
  auto* self = static_cast<Mailbox*>(arg);
  if (Status s = self->flush_cache(); !s) {
    log::warning("imapd: cache write failed in {}: {}", self->path_, s.error().describe());
  }
}

Status Mailbox::flush_cache() {
  std::map<std::string, std::string> pending;
  pending.swap(impl_->cache_pending);
  impl_->cache_pending_bytes = 0;
  if (pending.empty() || deleted_ || !impl_->env) return Status::success();
  auto txn = LmdbTxn::begin(*impl_->env, false);
  if (!txn) return server_error(txn.error());
  for (const auto& [key, text] : pending) {
    // Only for messages still present: an expunge may have come between.
    auto present = txn->get(impl_->dbs.uids, std::string_view(key).substr(0, 4));
    if (!present) return server_error(present.error());
    if (!*present) continue;
    if (Status s = txn->put(impl_->dbs.cache, key, text); !s) return server_error(s.error());
  }
  if (Status s = txn->commit(); !s) return server_error(s.error());
  return Status::success();
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
