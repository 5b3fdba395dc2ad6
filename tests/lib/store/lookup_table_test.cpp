// Tests for lib/store/lookup_table.cpp: table names (types, absolute paths), the postmap text format
// (comments, continuation lines, lower-cased keys, duplicates, errors with file:line, the key
// length at N and N+1), LMDB build and find, a rebuild seen at once by an open reader, a reader
// in another process during rebuilds (every snapshot is wholly old or wholly new), and
// compile_lookup_tables (several tables, empty parameter, errors keep the old table, the
// permission warning and no secret in any log line).
#include "lib/store/lookup_table.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "tests/support/temp_dir.hpp"

namespace postern {
namespace {

using test_support::TempDir;

void write_file(const std::string& path, std::string_view text, mode_t mode = 0600) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  ASSERT_EQ(::chmod(path.c_str(), mode), 0);
}

// --- lookup_table_path

TEST(LookupTablePath, TypesThatMeanTheTextFile) {
  for (std::string_view spec : {"lmdb:/etc/postern/transport", "hash:/etc/postern/transport",
                                "texthash:/etc/postern/transport", "/etc/postern/transport"}) {
    auto path = lookup_table_path(spec);
    ASSERT_TRUE(path.ok()) << spec;
    EXPECT_EQ(*path, "/etc/postern/transport");
  }
}

TEST(LookupTablePath, Refusals) {
  auto mysql = lookup_table_path("mysql:/etc/postern/mysql.cf");
  ASSERT_FALSE(mysql.ok());
  EXPECT_EQ(mysql.error().kind, ErrorKind::kConfig);
  EXPECT_NE(mysql.error().message.find("mysql"), std::string::npos);
  for (std::string_view bad :
       {"", "transport", "hash:transport", "lmdb:", "pcre:/x", "LMDB:/x", "hash:./x"}) {
    auto path = lookup_table_path(bad);
    ASSERT_FALSE(path.ok()) << bad;
    EXPECT_EQ(path.error().kind, ErrorKind::kConfig) << bad;
  }
}

TEST(LookupTableDbDir, UnderMaps) {
  EXPECT_EQ(lookup_table_db_dir("/var/lib/postern", "transport_maps"),
            "/var/lib/postern/maps/transport_maps");
}

// --- parse_lookup_table

using Entries = LookupEntries;

TEST(ParseLookupTable, Format) {
  auto entries = parse_lookup_table(
      "# transport\n"
      "Example.COM      relay:[mail.example.com]:587  \n"
      "\n"
      "   # an indented comment\n"
      "user@example.org\talias1@example.org,\n"
      "    alias2@example.org\n"
      "\t  alias3@example.org\r\n"
      "[smtp.resend.com]:587 resend:re_secret\r\n"
      "last value with  inner   spaces",
      "/etc/t");
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(
      *entries,
      (Entries{{"example.com", "relay:[mail.example.com]:587"},
               {"user@example.org", "alias1@example.org, alias2@example.org alias3@example.org"},
               {"[smtp.resend.com]:587", "resend:re_secret"},
               {"last", "value with  inner   spaces"}}));
}

TEST(ParseLookupTable, ValueOnAContinuationLine) {
  auto entries = parse_lookup_table("key\n  value\n", "t");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (Entries{{"key", "value"}}));
}

TEST(ParseLookupTable, EmptyTextIsAnEmptyTable) {
  auto entries = parse_lookup_table("# nothing\n\n   \n", "t");
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

TEST(ParseLookupTable, DuplicateKeyFirstWins) {
  testing::internal::CaptureStderr();
  auto entries = parse_lookup_table("a first\nB x\nA second-secret\n", "/etc/t");
  std::string logged = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(*entries, (Entries{{"a", "first"}, {"b", "x"}}));
  EXPECT_NE(logged.find("/etc/t:3"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("second-secret"), std::string::npos) << logged;
}

TEST(ParseLookupTable, ErrorsNameFileAndLine) {
  struct Case {
    std::string text;
    std::string where;
  };
  for (const Case& c :
       {Case{"  continuation first\n", "/etc/t:1:"},
        Case{"# c\n\n\tcontinuation first\n", "/etc/t:3:"}, Case{"a b\nlonely\n", "/etc/t:2:"},
        Case{"a b\nc d\n\nlonely   \r\n", "/etc/t:4:"},
        Case{std::string("a b\nc d\0e\n", 10), "/etc/t:2:"}}) {
    auto entries = parse_lookup_table(c.text, "/etc/t");
    ASSERT_FALSE(entries.ok()) << c.text;
    EXPECT_EQ(entries.error().kind, ErrorKind::kParse);
    EXPECT_EQ(entries.error().message.rfind(c.where, 0), 0u) << entries.error().message;
  }
}

TEST(ParseLookupTable, KeyLengthAtNAndNPlusOne) {
  std::string key(kMaxLookupKeyBytes, 'k');
  auto at_limit = parse_lookup_table(key + " v\n", "t");
  ASSERT_TRUE(at_limit.ok());
  EXPECT_EQ(at_limit->front().first, key);
  auto over = parse_lookup_table("a b\n" + key + "k v\n", "t");
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.error().message.rfind("t:2:", 0), 0u);
}

// --- LookupTable in LMDB

std::optional<std::string> must_find(const LookupTable& table, std::string_view key) {
  auto found = table.find(key);
  EXPECT_TRUE(found.ok()) << (found.ok() ? "" : found.error().message);
  return found.ok() ? *found : std::optional<std::string>("<error>");
}

TEST(LookupTable, BuildAndFind) {
  TempDir dir;
  std::string db = dir.path() + "/maps/transport_maps";
  ASSERT_TRUE(LookupTable::build(db, {{"example.com", "relay:[mx.example.com]:25"},
                                      {"b.org", "smtp:"},
                                      {"example.com", "ignored"}})
                  .ok());
  struct stat st {};
  ASSERT_EQ(::stat(db.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  auto table = LookupTable::open(db);
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_EQ(must_find(*table, "example.com"), "relay:[mx.example.com]:25");
  EXPECT_EQ(must_find(*table, "EXAMPLE.Com"), "relay:[mx.example.com]:25");
  EXPECT_EQ(must_find(*table, "B.ORG"), "smtp:");
  EXPECT_EQ(must_find(*table, "other.org"), std::nullopt);
  EXPECT_EQ(must_find(*table, ""), std::nullopt);
  EXPECT_EQ(must_find(*table, std::string(kMaxLookupKeyBytes + 1, 'a')), std::nullopt);
}

TEST(LookupTable, OpenBeforeBuildFails) {
  TempDir dir;
  EXPECT_FALSE(LookupTable::open(dir.path() + "/maps/none").ok());
}

TEST(LookupTable, EmptyTableOpens) {
  TempDir dir;
  std::string db = dir.path() + "/maps/empty";
  ASSERT_TRUE(LookupTable::build(db, {}).ok());
  auto table = LookupTable::open(db);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(must_find(*table, "anything"), std::nullopt);
}

TEST(LookupTable, OpenReaderSeesRebuildAtOnce) {
  TempDir dir;
  std::string db = dir.path() + "/maps/t";
  ASSERT_TRUE(LookupTable::build(db, {{"old", "1"}, {"both", "old"}}).ok());
  auto table = LookupTable::open(db);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(must_find(*table, "both"), "old");
  ASSERT_TRUE(LookupTable::build(db, {{"new", "2"}, {"both", "new"}}).ok());
  EXPECT_EQ(must_find(*table, "both"), "new");
  EXPECT_EQ(must_find(*table, "new"), "2");
  EXPECT_EQ(must_find(*table, "old"), std::nullopt);
}

TEST(LookupTable, RefusesEmptyOrLongKeyInBuild) {
  TempDir dir;
  std::string db = dir.path() + "/maps/t";
  ASSERT_TRUE(LookupTable::build(db, {{"keep", "1"}}).ok());
  EXPECT_FALSE(LookupTable::build(db, {{"a", "1"}, {"", "2"}}).ok());
  EXPECT_FALSE(
      LookupTable::build(db, {{"a", "1"}, {std::string(kMaxLookupKeyBytes + 1, 'k'), "2"}}).ok());
  EXPECT_TRUE(LookupTable::build(db, {{std::string(kMaxLookupKeyBytes, 'k'), "3"}}).ok());
  auto table = LookupTable::open(db);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(must_find(*table, std::string(kMaxLookupKeyBytes, 'K')), "3");
  EXPECT_EQ(must_find(*table, "keep"), std::nullopt);
}

// Generation g: keys k0..k(n-1) all map to "g<g>"; plus one key only that generation has.
Entries generation(int g, int n) {
  Entries entries;
  for (int i = 0; i < n; ++i)
    entries.emplace_back("k" + std::to_string(i), "g" + std::to_string(g));
  entries.emplace_back("only" + std::to_string(g % 2), "g" + std::to_string(g));
  return entries;
}

// A reader in another process, in one read transaction at a time, must see every key of one
// generation and none of another while master rebuilds over and over.
TEST(LookupTable, ReaderInAnotherProcessSeesOldOrNewNeverAMix) {
  TempDir dir;
  std::string db = dir.path() + "/maps/t";
  constexpr int kKeys = 300;
  constexpr int kRebuilds = 60;
  ASSERT_TRUE(LookupTable::build(db, generation(0, kKeys)).ok());
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    // Raw LMDB snapshots: read every key in one transaction, as a daemon's find() would see
    // them if it looked them all up at once.
    LmdbOptions options;
    options.read_only = true;
    options.max_databases = 2;
    auto env = LmdbEnv::open(db, options);
    if (!env) ::_exit(10);
    auto start = std::chrono::steady_clock::now();
    int snapshots = 0;
    bool saw_change = false;
    std::string first_seen;  // generation 0: the parent waits for this first snapshot
    while (std::chrono::steady_clock::now() - start < std::chrono::seconds(20)) {
      auto txn = LmdbTxn::begin(*env, true);
      if (!txn) ::_exit(11);
      auto dbi = txn->open_db("entries", false);
      if (!dbi) ::_exit(12);
      auto probe = txn->get(*dbi, "k0");
      if (!probe || !probe->has_value()) ::_exit(13);
      std::string gen(**probe);
      if (first_seen.empty()) first_seen = gen;
      if (gen != first_seen) saw_change = true;
      for (int i = 0; i < kKeys; ++i) {
        auto got = txn->get(*dbi, "k" + std::to_string(i));
        if (!got || !got->has_value() || **got != gen) ::_exit(14);  // a mix
      }
      int g = std::stoi(gen.substr(1));
      auto own = txn->get(*dbi, "only" + std::to_string(g % 2));
      auto other = txn->get(*dbi, "only" + std::to_string((g + 1) % 2));
      if (!own || !own->has_value() || **own != gen) ::_exit(15);
      if (!other || other->has_value()) ::_exit(16);  // the other generation's key leaked in
      ++snapshots;
      if (snapshots == 1) {  // generation 0 seen: let the parent start rebuilding
        (void)!::write(ready[1], "r", 1);
        ::close(ready[1]);
      }
      if (g == kRebuilds) ::_exit(saw_change && snapshots > 1 ? 0 : 17);
    }
    ::_exit(18);  // never saw the last generation
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  for (int g = 1; g <= kRebuilds; ++g) {
    ASSERT_TRUE(LookupTable::build(db, generation(g, kKeys)).ok());
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// --- compile_lookup_tables

MainConfig config_for(const std::string& data_directory, std::string_view more) {
  std::vector<ConfigWarning> warnings;
  auto config = MainConfig::parse("data_directory = " + data_directory + "\n" + std::string(more),
                                  "main.cf", &warnings);
  EXPECT_TRUE(config.ok()) << (config.ok() ? "" : config.error().message);
  return config.ok() ? std::move(config).value() : MainConfig();
}

constexpr uid_t kKeepOwner = static_cast<uid_t>(-1);
constexpr gid_t kKeepGroup = static_cast<gid_t>(-1);

TEST(CompileLookupTables, SeveralTablesEarlierWins) {
  TempDir dir;
  write_file(dir.path() + "/first", "a.org relay:[one]\nShared first\n");
  write_file(dir.path() + "/second", "b.org relay:[two]\nshared second\n");
  MainConfig config = config_for(dir.path(), "transport_maps = hash:" + dir.path() +
                                                 "/first, lmdb:" + dir.path() + "/second\n");
  Status compiled = compile_lookup_tables(config, "transport_maps", kKeepOwner, kKeepGroup);
  ASSERT_TRUE(compiled.ok()) << compiled.error().describe();
  auto table = LookupTable::open(lookup_table_db_dir(dir.path(), "transport_maps"));
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(must_find(*table, "A.org"), "relay:[one]");
  EXPECT_EQ(must_find(*table, "b.org"), "relay:[two]");
  EXPECT_EQ(must_find(*table, "shared"), "first");
}

TEST(CompileLookupTables, EmptyParameterBuildsAnEmptyTable) {
  TempDir dir;
  MainConfig config = config_for(dir.path(), "");
  ASSERT_TRUE(
      compile_lookup_tables(config, "smtpd_sender_login_maps", kKeepOwner, kKeepGroup).ok());
  auto table = LookupTable::open(lookup_table_db_dir(dir.path(), "smtpd_sender_login_maps"));
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(must_find(*table, "x"), std::nullopt);
}

TEST(CompileLookupTables, ErrorsKeepTheOldTable) {
  TempDir dir;
  write_file(dir.path() + "/t", "a.org relay:[one]\n");
  MainConfig good = config_for(dir.path(), "transport_maps = " + dir.path() + "/t\n");
  ASSERT_TRUE(compile_lookup_tables(good, "transport_maps", kKeepOwner, kKeepGroup).ok());
  auto table = LookupTable::open(lookup_table_db_dir(dir.path(), "transport_maps"));
  ASSERT_TRUE(table.ok());

  write_file(dir.path() + "/t", "b.org relay:[two]\nbroken\n");
  Status broken = compile_lookup_tables(good, "transport_maps", kKeepOwner, kKeepGroup);
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find(dir.path() + "/t:2:"), std::string::npos)
      << broken.error().message;
  EXPECT_EQ(must_find(*table, "a.org"), "relay:[one]");

  MainConfig missing = config_for(dir.path(), "transport_maps = " + dir.path() + "/absent\n");
  EXPECT_FALSE(compile_lookup_tables(missing, "transport_maps", kKeepOwner, kKeepGroup).ok());
  MainConfig mysql = config_for(dir.path(), "transport_maps = mysql:/etc/m.cf\n");
  Status refused = compile_lookup_tables(mysql, "transport_maps", kKeepOwner, kKeepGroup);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kConfig);
  EXPECT_NE(refused.error().message.find("transport_maps"), std::string::npos);
  EXPECT_EQ(must_find(*table, "a.org"), "relay:[one]");
  EXPECT_EQ(must_find(*table, "b.org"), std::nullopt);
}

TEST(CompileLookupTables, PasswordTableWarnsWhenReadableAndNeverLogsSecrets) {
  TempDir dir;
  std::string path = dir.path() + "/sasl_passwd";
  write_file(path,
             "[smtp.resend.com]:587 resend:re_TopSecret1\n[smtp.resend.com]:587 "
             "resend:re_TopSecret2\n",
             0644);
  MainConfig config = config_for(dir.path(), "smtp_sasl_password_maps = lmdb:" + path + "\n");
  testing::internal::CaptureStderr();
  Status compiled =
      compile_lookup_tables(config, "smtp_sasl_password_maps", kKeepOwner, kKeepGroup);
  std::string logged = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(compiled.ok());
  EXPECT_NE(logged.find("readable by group or others"), std::string::npos) << logged;
  EXPECT_NE(logged.find("duplicate key"), std::string::npos) << logged;
  EXPECT_EQ(logged.find("TopSecret"), std::string::npos) << logged;
  auto table = LookupTable::open(lookup_table_db_dir(dir.path(), "smtp_sasl_password_maps"));
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(must_find(*table, "[SMTP.resend.com]:587"), "resend:re_TopSecret1");

  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  testing::internal::CaptureStderr();
  ASSERT_TRUE(
      compile_lookup_tables(config, "smtp_sasl_password_maps", kKeepOwner, kKeepGroup).ok());
  logged = testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged.find("readable by group or others"), std::string::npos) << logged;

  // The same mode on another table is no concern.
  write_file(dir.path() + "/transport", "a.org relay:[x]\n", 0644);
  MainConfig transport = config_for(dir.path(), "transport_maps = " + dir.path() + "/transport\n");
  testing::internal::CaptureStderr();
  ASSERT_TRUE(compile_lookup_tables(transport, "transport_maps", kKeepOwner, kKeepGroup).ok());
  logged = testing::internal::GetCapturedStderr();
  EXPECT_EQ(logged.find("readable by group or others"), std::string::npos) << logged;
}

TEST(CompileLookupTables, ChownsToTheOwnerWhenRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to chown";
  TempDir dir;
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  MainConfig config = config_for(dir.path(), "");
  ASSERT_TRUE(compile_lookup_tables(config, "transport_maps", 65534, 65534).ok());
  std::string db = lookup_table_db_dir(dir.path(), "transport_maps");
  for (const std::string& path : {db, db + "/data.mdb", db + "/lock.mdb"}) {
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_uid, 65534u) << path;
    EXPECT_EQ(st.st_gid, 65534u) << path;
  }
}

}  // namespace
}  // namespace postern
