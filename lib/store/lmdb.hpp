// Small owners for LMDB handles: environment, transaction, cursor. A write transaction aborts
// unless commit() succeeded; nothing outside this file calls mdb_txn_abort() or mdb_env_close().
// Used by the accounts store, lookup tables and (later) the IMAP index.
#pragma once

#include <lmdb.h>

#include <optional>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern {

struct LmdbOptions {
  size_t map_size_bytes = size_t{1} << 30;  // 1 GiB of address space, sparse on disk
  unsigned max_databases = 16;
  bool read_only = false;
  bool no_subdir = false;  // path names the data file itself
};

class LmdbEnv {
 public:
  static Result<LmdbEnv> open(const std::string& path, const LmdbOptions& options);
  LmdbEnv(LmdbEnv&& other) noexcept;
  LmdbEnv& operator=(LmdbEnv&& other) noexcept;
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;
  ~LmdbEnv();
  MDB_env* get() const { return env_; }

 private:
  explicit LmdbEnv(MDB_env* env) : env_(env) {}
  MDB_env* env_ = nullptr;
};

class LmdbTxn {
 public:
  static Result<LmdbTxn> begin(const LmdbEnv& env, bool read_only);
  LmdbTxn(LmdbTxn&& other) noexcept;
  LmdbTxn& operator=(LmdbTxn&& other) noexcept;
  LmdbTxn(const LmdbTxn&) = delete;
  LmdbTxn& operator=(const LmdbTxn&) = delete;
  ~LmdbTxn();  // aborts if still open
  MDB_txn* get() const { return txn_; }

  // Opens (create=true: creates) a named database within this transaction.
  Result<MDB_dbi> open_db(const char* name, bool create);
  // nullopt when the key is absent. The view is valid until the transaction ends.
  Result<std::optional<std::string_view>> get(MDB_dbi dbi, std::string_view key) const;
  Status put(MDB_dbi dbi, std::string_view key, std::string_view value);
  Status del(MDB_dbi dbi, std::string_view key);
  Status clear(MDB_dbi dbi);  // empties the database
  Status commit();

 private:
  explicit LmdbTxn(MDB_txn* txn) : txn_(txn) {}
  MDB_txn* txn_ = nullptr;
};

class LmdbCursor {
 public:
  static Result<LmdbCursor> open(const LmdbTxn& txn, MDB_dbi dbi);
  LmdbCursor(LmdbCursor&& other) noexcept;
  LmdbCursor& operator=(LmdbCursor&& other) noexcept;
  LmdbCursor(const LmdbCursor&) = delete;
  LmdbCursor& operator=(const LmdbCursor&) = delete;
  ~LmdbCursor();
  // Positions with op (MDB_FIRST, MDB_NEXT, MDB_SET_RANGE with key...). false at the end.
  Result<bool> seek(MDB_cursor_op op, std::string_view key = {});
  std::string_view key() const { return key_; }
  std::string_view value() const { return value_; }

 private:
  explicit LmdbCursor(MDB_cursor* cursor) : cursor_(cursor) {}
  MDB_cursor* cursor_ = nullptr;
  std::string_view key_;
  std::string_view value_;
};

Error lmdb_error(std::string_view what, int rc);

}  // namespace postern
