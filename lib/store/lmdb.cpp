// Owners for LMDB handles (environment, transaction, cursor), used by the accounts store, the
// lookup tables and the IMAP index in every process that reads them. The database files are
// ours (written by master or the CLI); LMDB's own error codes come back as Errors. Limits: the
// map size and database count from LmdbOptions, 512 reader slots per environment.
// Environments are opened with MDB_NOTLS: an event loop keeps several read transactions open
// in one thread, and a read transaction is not tied to the thread that began it.
#include "lib/store/lmdb.hpp"

#include <utility>

namespace postern {
namespace {

constexpr unsigned kMaxReaders = 512;
constexpr mdb_mode_t kDataFileMode = 0644;  // readers run as other users; the directory guards

MDB_val to_val(std::string_view bytes) {
  return MDB_val{bytes.size(), const_cast<char*>(bytes.data())};
}

std::string_view from_val(const MDB_val& val) {
  return std::string_view(static_cast<const char*>(val.mv_data), val.mv_size);
}

}  // namespace

Error lmdb_error(std::string_view what, int rc) {
  if (rc > 0) return Error::system(std::string(what), rc);  // an errno from the OS
  std::string message = std::string(what) + ": " + mdb_strerror(rc);
  switch (rc) {
    case MDB_NOTFOUND:
      return Error::not_found(std::move(message));
    case MDB_MAP_FULL:
    case MDB_DBS_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL:
    case MDB_CURSOR_FULL:
    case MDB_PAGE_FULL:
    case MDB_BAD_VALSIZE:
      return Error::limit(std::move(message));
    case MDB_MAP_RESIZED:
      return Error{ErrorKind::kTemporary, std::move(message), 0};
    default:
      return Error{ErrorKind::kSystem, std::move(message), 0};
  }
}

// --- LmdbEnv

Result<LmdbEnv> LmdbEnv::open(const std::string& path, const LmdbOptions& options) {
  MDB_env* raw = nullptr;
  if (int rc = mdb_env_create(&raw); rc != 0) return lmdb_error("mdb_env_create", rc);
  LmdbEnv env(raw);  // closes raw on every error path below
  if (int rc = mdb_env_set_mapsize(raw, options.map_size_bytes); rc != 0) {
    return lmdb_error("mdb_env_set_mapsize " + path, rc);
  }
  if (int rc = mdb_env_set_maxdbs(raw, options.max_databases); rc != 0) {
    return lmdb_error("mdb_env_set_maxdbs " + path, rc);
  }
  if (int rc = mdb_env_set_maxreaders(raw, kMaxReaders); rc != 0) {
    return lmdb_error("mdb_env_set_maxreaders " + path, rc);
  }
  unsigned flags = MDB_NOTLS;
  if (options.no_subdir) flags |= MDB_NOSUBDIR;
  if (options.read_only) flags |= MDB_RDONLY;
  if (int rc = mdb_env_open(raw, path.c_str(), flags, kDataFileMode); rc != 0) {
    return lmdb_error("mdb_env_open " + path, rc);
  }
  return env;
}

LmdbEnv::LmdbEnv(LmdbEnv&& other) noexcept : env_(std::exchange(other.env_, nullptr)) {}

LmdbEnv& LmdbEnv::operator=(LmdbEnv&& other) noexcept {
  if (this != &other) {
    if (env_) mdb_env_close(env_);
    env_ = std::exchange(other.env_, nullptr);
  }
  return *this;
}

LmdbEnv::~LmdbEnv() {
  if (env_) mdb_env_close(env_);
}

// --- LmdbTxn

Result<LmdbTxn> LmdbTxn::begin(const LmdbEnv& env, bool read_only) {
  MDB_txn* raw = nullptr;
  if (int rc = mdb_txn_begin(env.get(), nullptr, read_only ? MDB_RDONLY : 0, &raw); rc != 0) {
    return lmdb_error("mdb_txn_begin", rc);
  }
  return LmdbTxn(raw);
}

LmdbTxn::LmdbTxn(LmdbTxn&& other) noexcept : txn_(std::exchange(other.txn_, nullptr)) {}

LmdbTxn& LmdbTxn::operator=(LmdbTxn&& other) noexcept {
  if (this != &other) {
    if (txn_) mdb_txn_abort(txn_);
    txn_ = std::exchange(other.txn_, nullptr);
  }
  return *this;
}

LmdbTxn::~LmdbTxn() {
  if (txn_) mdb_txn_abort(txn_);
}

Result<MDB_dbi> LmdbTxn::open_db(const char* name, bool create) {
  MDB_dbi dbi = 0;
  if (int rc = mdb_dbi_open(txn_, name, create ? MDB_CREATE : 0, &dbi); rc != 0) {
    return lmdb_error(std::string("mdb_dbi_open ") + (name ? name : "(main)"), rc);
  }
  return dbi;
}

Result<std::optional<std::string_view>> LmdbTxn::get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>();
  if (rc != 0) return lmdb_error("mdb_get", rc);
  return std::optional<std::string_view>(from_val(v));
}

Status LmdbTxn::put(MDB_dbi dbi, std::string_view key, std::string_view value) {
  MDB_val k = to_val(key);
  MDB_val v = to_val(value);
  if (int rc = mdb_put(txn_, dbi, &k, &v, 0); rc != 0) return lmdb_error("mdb_put", rc);
  return Status::success();
}

// Deleting an absent key is not an error: the key is absent afterwards either way.
Status LmdbTxn::del(MDB_dbi dbi, std::string_view key) {
  MDB_val k = to_val(key);
  int rc = mdb_del(txn_, dbi, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdb_error("mdb_del", rc);
  return Status::success();
}

Status LmdbTxn::clear(MDB_dbi dbi) {
  if (int rc = mdb_drop(txn_, dbi, 0); rc != 0) return lmdb_error("mdb_drop", rc);
  return Status::success();
}

// The transaction is over after commit whatever the outcome (LMDB frees it on failure too).
Status LmdbTxn::commit() {
  if (!txn_) return Error{ErrorKind::kSystem, "mdb_txn_commit: no transaction", 0};
  int rc = mdb_txn_commit(std::exchange(txn_, nullptr));
  if (rc != 0) return lmdb_error("mdb_txn_commit", rc);
  return Status::success();
}

// --- LmdbCursor (must be destroyed before its transaction ends)

Result<LmdbCursor> LmdbCursor::open(const LmdbTxn& txn, MDB_dbi dbi) {
  MDB_cursor* raw = nullptr;
  if (int rc = mdb_cursor_open(txn.get(), dbi, &raw); rc != 0) {
    return lmdb_error("mdb_cursor_open", rc);
  }
  return LmdbCursor(raw);
}

LmdbCursor::LmdbCursor(LmdbCursor&& other) noexcept
    : cursor_(std::exchange(other.cursor_, nullptr)),
      key_(std::exchange(other.key_, {})),
      value_(std::exchange(other.value_, {})) {}

LmdbCursor& LmdbCursor::operator=(LmdbCursor&& other) noexcept {
  if (this != &other) {
    if (cursor_) mdb_cursor_close(cursor_);
    cursor_ = std::exchange(other.cursor_, nullptr);
    key_ = std::exchange(other.key_, {});
    value_ = std::exchange(other.value_, {});
  }
  return *this;
}

LmdbCursor::~LmdbCursor() {
  if (cursor_) mdb_cursor_close(cursor_);
}

Result<bool> LmdbCursor::seek(MDB_cursor_op op, std::string_view key) {
  MDB_val k = to_val(key);
  MDB_val v{};
  int rc = mdb_cursor_get(cursor_, &k, &v, op);
  if (rc == MDB_NOTFOUND) {
    key_ = {};
    value_ = {};
    return false;
  }
  if (rc != 0) return lmdb_error("mdb_cursor_get", rc);
  key_ = from_val(k);
  value_ = from_val(v);
  return true;
}

}  // namespace postern
