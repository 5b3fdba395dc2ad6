// Tests for lib/store/lmdb.cpp: a write transaction aborts unless committed (also when moved from),
// get/put/del/clear, cursors, named databases, several read transactions in one thread
// (MDB_NOTLS), the no_subdir and read_only options, and the mapping of LMDB errors.
#include "lib/store/lmdb.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

namespace postern {
namespace {

namespace fs = std::filesystem;

class LmdbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "lmdb_test.XXXXXX").string();
    dir_ = ::mkdtemp(pattern.data());
    LmdbOptions options;
    options.map_size_bytes = size_t{64} << 20;
    Result<LmdbEnv> env = LmdbEnv::open(dir_, options);
    ASSERT_TRUE(env.ok()) << env.error().describe();
    env_.emplace(std::move(env).value());
  }
  void TearDown() override {
    env_.reset();
    fs::remove_all(dir_);
  }

  MDB_dbi open_db(LmdbTxn& txn, const char* name) {
    Result<MDB_dbi> dbi = txn.open_db(name, true);
    EXPECT_TRUE(dbi.ok());
    return dbi.ok() ? *dbi : 0;
  }

  std::optional<std::string> read(const char* db, std::string_view key) {
    Result<LmdbTxn> txn = LmdbTxn::begin(*env_, true);
    EXPECT_TRUE(txn.ok());
    Result<MDB_dbi> dbi = txn->open_db(db, false);
    if (!dbi) return std::nullopt;
    Result<std::optional<std::string_view>> value = txn->get(*dbi, key);
    EXPECT_TRUE(value.ok());
    if (!value.ok() || !value->has_value()) return std::nullopt;
    return std::string(**value);
  }

  std::string dir_;
  std::optional<LmdbEnv> env_;
};

TEST_F(LmdbTest, CommittedWritesAreVisible) {
  {
    Result<LmdbTxn> txn = LmdbTxn::begin(*env_, false);
    ASSERT_TRUE(txn.ok());
    MDB_dbi dbi = open_db(*txn, "t");
    ASSERT_TRUE(txn->put(dbi, "key", "value").ok());
    ASSERT_TRUE(txn->put(dbi, "empty", "").ok());
    ASSERT_TRUE(txn->put(dbi, std::string_view("bin\0ary", 7), std::string_view("\0\1", 2)).ok());
    ASSERT_TRUE(txn->commit().ok());
    EXPECT_FALSE(txn->commit().ok());  // a transaction commits once
  }
  EXPECT_EQ(read("t", "key"), std::optional<std::string>("value"));
  EXPECT_EQ(read("t", "empty"), std::optional<std::string>(""));
  EXPECT_EQ(read("t", std::string_view("bin\0ary", 7)),
            std::optional<std::string>(std::string("\0\1", 2)));
  EXPECT_EQ(read("t", "absent"), std::nullopt);
}

TEST_F(LmdbTest, UncommittedTransactionAbortsOnDestruction) {
  {
    Result<LmdbTxn> txn = LmdbTxn::begin(*env_, false);
    ASSERT_TRUE(txn.ok());
    MDB_dbi dbi = open_db(*txn, "t");
    ASSERT_TRUE(txn->put(dbi, "kept", "1").ok());
    ASSERT_TRUE(txn->commit().ok());
  }
  {
    Result<LmdbTxn> txn = LmdbTxn::begin(*env_, false);
    ASSERT_TRUE(txn.ok());
    MDB_dbi dbi = open_db(*txn, "t");
    ASSERT_TRUE(txn->put(dbi, "lost", "1").ok());
    ASSERT_TRUE(txn->del(dbi, "kept").ok());
  }  // no commit
  EXPECT_EQ(read("t", "kept"), std::optional<std::string>("1"));
  EXPECT_EQ(read("t", "lost"), std::nullopt);
  // A write transaction can begin again: the aborted one released the writer lock.
  Result<LmdbTxn> again = LmdbTxn::begin(*env_, false);
  EXPECT_TRUE(again.ok());
}

TEST_F(LmdbTest, MovedTransactionCommitsOnce) {
  Result<LmdbTxn> txn = LmdbTxn::begin(*env_, false);
  ASSERT_TRUE(txn.ok());
  LmdbTxn owner = std::move(txn).value();
  MDB_dbi dbi = open_db(owner, "t");
  ASSERT_TRUE(owner.put(dbi, "k", "v").ok());
  LmdbTxn second = std::move(owner);
  EXPECT_EQ(owner.get(), nullptr);
  ASSERT_TRUE(second.commit().ok());
  EXPECT_EQ(read("t", "k"), std::optional<std::string>("v"));
}

TEST_F(LmdbTest, DeleteAndClear) {
  Result<LmdbTxn> txn = LmdbTxn::begin(*env_, false);
  ASSERT_TRUE(txn.ok());
  MDB_dbi dbi = open_db(*txn, "t");
  ASSERT_TRUE(txn->put(dbi, "a", "1").ok());
  ASSERT_TRUE(txn->put(dbi, "b", "2").ok());
  ASSERT_TRUE(txn->del(dbi, "a").ok());
  ASSERT_TRUE(txn->del(dbi, "never-there").ok());
  ASSERT_TRUE(txn->commit().ok());
  EXPECT_EQ(read("t", "a"), std::nullopt);
  EXPECT_EQ(read("t", "b"), std::optional<std::string>("2"));

  Result<LmdbTxn> clear = LmdbTxn::begin(*env_, false);
  ASSERT_TRUE(clear.ok());
  dbi = open_db(*clear, "t");
  ASSERT_TRUE(clear->clear(dbi).ok());
  ASSERT_TRUE(clear->commit().ok());
  EXPECT_EQ(read("t", "b"), std::nullopt);
}

TEST_F(LmdbTest, CursorWalksInKeyOrder) {
  Result<LmdbTxn> txn = LmdbTxn::begin(*env_, false);
  ASSERT_TRUE(txn.ok());
  MDB_dbi dbi = open_db(*txn, "t");
  for (const char* key : {"delta", "alpha", "charlie", "bravo"}) {
    ASSERT_TRUE(txn->put(dbi, key, std::string(key) + "!").ok());
  }
  ASSERT_TRUE(txn->commit().ok());

  Result<LmdbTxn> ro = LmdbTxn::begin(*env_, true);
  ASSERT_TRUE(ro.ok());
  Result<MDB_dbi> rdbi = ro->open_db("t", false);
  ASSERT_TRUE(rdbi.ok());
  Result<LmdbCursor> cursor = LmdbCursor::open(*ro, *rdbi);
  ASSERT_TRUE(cursor.ok());
  std::vector<std::string> keys;
  for (Result<bool> more = cursor->seek(MDB_FIRST); more.ok() && *more;
       more = cursor->seek(MDB_NEXT)) {
    keys.emplace_back(cursor->key());
    EXPECT_EQ(cursor->value(), std::string(cursor->key()) + "!");
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"alpha", "bravo", "charlie", "delta"}));
  Result<bool> found = cursor->seek(MDB_SET_RANGE, "c");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(*found);
  EXPECT_EQ(cursor->key(), "charlie");
  found = cursor->seek(MDB_SET_RANGE, "e");
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(*found);
}

TEST_F(LmdbTest, SeveralReadTransactionsInOneThread) {
  MDB_dbi dbi = 0;
  {
    Result<LmdbTxn> txn = LmdbTxn::begin(*env_, false);
    ASSERT_TRUE(txn.ok());
    dbi = open_db(*txn, "t");  // committed below: the handle is the environment's from now on
    ASSERT_TRUE(txn->put(dbi, "k", "old").ok());
    ASSERT_TRUE(txn->commit().ok());
  }
  // Without MDB_NOTLS the second read transaction in this thread would fail.
  Result<LmdbTxn> first = LmdbTxn::begin(*env_, true);
  ASSERT_TRUE(first.ok()) << first.error().describe();
  Result<LmdbTxn> second = LmdbTxn::begin(*env_, true);
  ASSERT_TRUE(second.ok()) << second.error().describe();
  {
    Result<LmdbTxn> writer = LmdbTxn::begin(*env_, false);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer->put(dbi, "k", "new").ok());
    ASSERT_TRUE(writer->commit().ok());
  }
  // MVCC: the old reader keeps its snapshot, a new one sees the commit.
  Result<std::optional<std::string_view>> old_value = first->get(dbi, "k");
  ASSERT_TRUE(old_value.ok());
  EXPECT_EQ(**old_value, "old");
  EXPECT_EQ(read("t", "k"), std::optional<std::string>("new"));
}

TEST_F(LmdbTest, MissingDatabaseIsNotFound) {
  Result<LmdbTxn> txn = LmdbTxn::begin(*env_, true);
  ASSERT_TRUE(txn.ok());
  Result<MDB_dbi> dbi = txn->open_db("nothing", false);
  ASSERT_FALSE(dbi.ok());
  EXPECT_EQ(dbi.error().kind, ErrorKind::kNotFound);
}

TEST(LmdbEnvTest, OptionsAndErrors) {
  std::string pattern = (fs::temp_directory_path() / "lmdb_env_test.XXXXXX").string();
  std::string dir = ::mkdtemp(pattern.data());
  LmdbOptions options;
  options.map_size_bytes = size_t{8} << 20;
  Result<LmdbEnv> missing = LmdbEnv::open(dir + "/absent", options);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kSystem);
  EXPECT_EQ(missing.error().sys_errno, ENOENT);

  options.no_subdir = true;
  {
    Result<LmdbEnv> file_env = LmdbEnv::open(dir + "/table.lmdb", options);
    ASSERT_TRUE(file_env.ok()) << file_env.error().describe();
    struct stat st {};
    ASSERT_EQ(::stat((dir + "/table.lmdb").c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0644u);
    Result<LmdbTxn> txn = LmdbTxn::begin(*file_env, false);
    ASSERT_TRUE(txn.ok());
    Result<MDB_dbi> dbi = txn->open_db(nullptr, false);  // the main database
    ASSERT_TRUE(dbi.ok());
    ASSERT_TRUE(txn->put(*dbi, "k", "v").ok());
    // Past the key size limit: a typed limit error, not a crash.
    Status too_long = txn->put(*dbi, std::string(600, 'k'), "v");
    ASSERT_FALSE(too_long.ok());
    EXPECT_EQ(too_long.error().kind, ErrorKind::kLimit);
    ASSERT_TRUE(txn->commit().ok());
  }
  options.read_only = true;
  {
    Result<LmdbEnv> ro_env = LmdbEnv::open(dir + "/table.lmdb", options);
    ASSERT_TRUE(ro_env.ok()) << ro_env.error().describe();
    Result<LmdbTxn> write = LmdbTxn::begin(*ro_env, false);
    EXPECT_FALSE(write.ok());
    Result<LmdbTxn> read = LmdbTxn::begin(*ro_env, true);
    ASSERT_TRUE(read.ok());
    Result<MDB_dbi> dbi = read->open_db(nullptr, false);
    ASSERT_TRUE(dbi.ok());
    Result<std::optional<std::string_view>> value = read->get(*dbi, "k");
    ASSERT_TRUE(value.ok());
    EXPECT_EQ(**value, "v");
  }
  EXPECT_EQ(lmdb_error("x", MDB_NOTFOUND).kind, ErrorKind::kNotFound);
  EXPECT_EQ(lmdb_error("x", MDB_MAP_FULL).kind, ErrorKind::kLimit);
  EXPECT_EQ(lmdb_error("x", EACCES).sys_errno, EACCES);
  EXPECT_NE(lmdb_error("x", MDB_CORRUPTED).message.find("x: "), std::string::npos);
  fs::remove_all(dir);
}

TEST(LmdbEnvTest, MapFullIsALimit) {
  std::string pattern = (fs::temp_directory_path() / "lmdb_full_test.XXXXXX").string();
  std::string dir = ::mkdtemp(pattern.data());
  LmdbOptions options;
  options.map_size_bytes = size_t{1} << 20;  // 1 MiB
  Result<LmdbEnv> env = LmdbEnv::open(dir, options);
  ASSERT_TRUE(env.ok());
  Result<LmdbTxn> txn = LmdbTxn::begin(*env, false);
  ASSERT_TRUE(txn.ok());
  Result<MDB_dbi> dbi = txn->open_db(nullptr, false);
  ASSERT_TRUE(dbi.ok());
  Status st;
  for (int i = 0; i < 1000 && st.ok(); ++i) {
    st = txn->put(*dbi, "key" + std::to_string(i), std::string(4096, 'v'));
  }
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().kind, ErrorKind::kLimit);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace postern
