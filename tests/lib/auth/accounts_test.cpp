// Tests for lib/auth/accounts.cpp: parsing accounts.yaml (normalisation, every kind of mistake
// reported with file and line, the alias target limit at N and N+1), storing it in LMDB
// (replacing the previous set) and resolving recipients in the documented order: alias, user,
// stripped alias, stripped user, postmaster, catch-all; recursion, loops and the depth limit.
#include "lib/auth/accounts.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace postern {
namespace {

namespace fs = std::filesystem;

const char kSample[] = R"(postmaster: Admin@Example.ORG
domains:
  Example.ORG:
    users:
      Admin:
        password: "$y$j9T$abc$def"
        send_as: [sales, Sales@Other.Example]
      bob:
        password: "$6$salt$hash"
      carol:
        password: "$6$salt$hash2"
      info:
        password: "$6$salt$hash3"
      nologin:
    aliases:
      info: bob                    # an alias beats a user of the same name
      sales: [bob, carol@example.org, Dave@Remote.Example]
      team: sales                  # an alias of an alias
      everyone: [team, admin, bob] # duplicates collapse
      self: [admin]
      bob+lists: carol             # an exact alias beats plus-stripping
  other.example:
    catch_all: carol@example.org
    aliases:
      postmaster: bob@example.org  # a domain alias named postmaster wins
  third.example:
    catch_all: [someone@remote.example]
    users:
      x:
        password: "$1$a$b"
)";

// One fresh directory per test, named after this file.
class TempDir : public test_support::TempDir {
 public:
  TempDir() : test_support::TempDir("accounts_test") {}
};

AccountsData parse_ok(const std::string& yaml) {
  Result<AccountsData> data = parse_accounts_yaml(yaml, "accounts.yaml");
  EXPECT_TRUE(data.ok()) << data.error().describe();
  return data.ok() ? std::move(data).value() : AccountsData{};
}

std::string parse_error(const std::string& yaml) {
  Result<AccountsData> data = parse_accounts_yaml(yaml, "accounts.yaml");
  EXPECT_FALSE(data.ok()) << yaml;
  if (data.ok()) return {};
  EXPECT_EQ(data.error().kind, ErrorKind::kConfig);
  return data.error().message;
}

TEST(AccountsParseTest, SampleIsNormalised) {
  AccountsData data = parse_ok(kSample);
  EXPECT_EQ(data.postmaster, "admin@example.org");
  EXPECT_EQ(data.domains, (std::set<std::string>{"example.org", "other.example", "third.example"}));
  EXPECT_EQ(data.passwords.at("admin@example.org"), "$y$j9T$abc$def");
  EXPECT_EQ(data.passwords.at("nologin@example.org"), "");
  EXPECT_EQ(data.send_as.at("admin@example.org"),
            (std::vector<std::string>{"sales@example.org", "sales@other.example"}));
  EXPECT_EQ(data.aliases.at("sales@example.org"),
            (std::vector<std::string>{"bob@example.org", "carol@example.org",
                                      "Dave@remote.example"}));  // remote local part kept
  EXPECT_EQ(data.aliases.at("team@example.org"), std::vector<std::string>{"sales@example.org"});
  EXPECT_EQ(data.catch_alls.at("other.example"), std::vector<std::string>{"carol@example.org"});
  EXPECT_EQ(data.aliases.at("postmaster@other.example"),
            std::vector<std::string>{"bob@example.org"});
}

TEST(AccountsParseTest, EmptyFileHasNoAccounts) {
  AccountsData data = parse_ok("");
  EXPECT_TRUE(data.domains.empty());
  data = parse_ok("domains:\n  example.net:\n");
  EXPECT_EQ(data.domains, std::set<std::string>{"example.net"});
}

TEST(AccountsParseTest, ErrorsNameFileAndLine) {
  // yaml-cpp's own syntax error, with its line.
  std::string msg = parse_error("domains:\n  example.org:\n    users: [a\n");
  EXPECT_EQ(msg.rfind("accounts.yaml:", 0), 0u) << msg;
  msg = parse_error("domains:\n  example.org:\n    userz: {}\n");
  EXPECT_NE(msg.find("accounts.yaml:3:"), std::string::npos) << msg;
  EXPECT_NE(msg.find("userz"), std::string::npos) << msg;
  msg = parse_error("domains:\n  bad_domain.org: {}\n");
  EXPECT_NE(msg.find("accounts.yaml:2:"), std::string::npos) << msg;
  msg = parse_error("domains:\n  example.org:\n    users:\n      \"a b\": {}\n");
  EXPECT_NE(msg.find("accounts.yaml:4:"), std::string::npos) << msg;
  msg = parse_error("domains:\n  example.org:\n    users:\n      a:\n        password: secret\n");
  EXPECT_NE(msg.find("accounts.yaml:5:"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("secret"), std::string::npos) << "a plain password must not be logged";
}

TEST(AccountsParseTest, MistakesAreRefused) {
  parse_error("- a\n- b\n");                                                  // not a map
  parse_error("postmaster: admin\n");                                         // not a full address
  parse_error("postmaster: [a@b.c]\n");                                       // not a string
  parse_error("hostname: x\n");                                               // unknown key
  parse_error("domains: [example.org]\n");                                    // not a map
  parse_error("domains:\n  example.org: {}\n  EXAMPLE.org: {}\n");            // duplicate domain
  parse_error("domains:\n  -example.org: {}\n");                              // bad label
  parse_error("domains:\n  example..org: {}\n");                              // empty label
  parse_error("domains:\n  " + std::string(64, 'a') + ".org: {}\n");          // label too long
  parse_error("domains:\n  e.org:\n    users:\n      A: {}\n      a: {}\n");  // duplicate user
  parse_error("domains:\n  e.org:\n    users:\n      .a: {}\n");
  parse_error("domains:\n  e.org:\n    users:\n      a/.b: {}\n");  // a folder name
  parse_ok("domains:\n  e.org:\n    users:\n      a.b_c-d: {}\n");
  parse_error("domains:\n  e.org:\n    users:\n      a:\n        pass: x\n");
  parse_error("domains:\n  e.org:\n    users:\n      a:\n        password: \"$\"\n");
  parse_error("domains:\n  e.org:\n    users:\n      a:\n        password: \"$1$a b\"\n");
  parse_error("domains:\n  e.org:\n    aliases:\n      a: []\n");       // empty list
  parse_error("domains:\n  e.org:\n    aliases:\n      a: {b: c}\n");   // wrong type
  parse_error("domains:\n  e.org:\n    aliases:\n      a: \"x y\"\n");  // bad target
  parse_error("domains:\n  e.org:\n    aliases:\n      a: b@bad..example\n");
  parse_error("domains:\n  e.org:\n    aliases:\n      a: b\n      A: c\n");  // duplicate
  parse_error("domains:\n  e.org:\n    catch_all: \"@e.org\"\n");
  parse_error("domains:\n  e.org:\n    users:\n      a:\n        send_as: [\"x y\"]\n");
}

TEST(AccountsParseTest, AliasTargetLimit) {
  auto yaml_with_targets = [](size_t count) {
    std::string yaml = "domains:\n  e.org:\n    aliases:\n      big:\n";
    for (size_t i = 0; i < count; ++i) yaml += "        - u" + std::to_string(i) + "\n";
    return yaml;
  };
  AccountsData data = parse_ok(yaml_with_targets(kMaxAliasTargets));
  EXPECT_EQ(data.aliases.at("big@e.org").size(), kMaxAliasTargets);
  parse_error(yaml_with_targets(kMaxAliasTargets + 1));
}

TEST(AccountsParseTest, LoadFromFile) {
  TempDir tmp;
  std::string path = tmp.path() + "/accounts.yaml";
  std::ofstream(path) << kSample;
  Result<AccountsData> data = load_accounts_yaml(path);
  ASSERT_TRUE(data.ok()) << data.error().describe();
  EXPECT_EQ(data->domains.size(), 3u);
  Result<AccountsData> missing = load_accounts_yaml(tmp.path() + "/none.yaml");
  ASSERT_FALSE(missing.ok());
  std::ofstream(tmp.path() + "/bad.yaml") << "domains:\n  x.org:\n    users: 3\n";
  Result<AccountsData> bad = load_accounts_yaml(tmp.path() + "/bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find(tmp.path() + "/bad.yaml:3:"), std::string::npos)
      << bad.error().message;
}

class AccountsDbTest : public ::testing::Test {
 protected:
  void SetUp() override { store(kSample); }

  void store(const std::string& yaml) {
    db_.reset();
    Result<AccountsDb> db = AccountsDb::open(tmp_.path() + "/accounts", false);
    ASSERT_TRUE(db.ok()) << db.error().describe();
    db_.emplace(std::move(db).value());
    Result<AccountsData> data = parse_accounts_yaml(yaml, "accounts.yaml");
    ASSERT_TRUE(data.ok()) << data.error().describe();
    ASSERT_TRUE(db_->store(*data).ok());
  }

  Resolution resolve(std::string_view address, std::string_view delimiters = "+") {
    Result<Resolution> r = db_->resolve(address, delimiters);
    EXPECT_TRUE(r.ok()) << address << ": " << r.error().describe();
    return r.ok() ? std::move(r).value() : Resolution{};
  }

  using List = std::vector<std::string>;
  TempDir tmp_;
  std::optional<AccountsDb> db_;
};

TEST_F(AccountsDbTest, Domains) {
  EXPECT_TRUE(*db_->is_our_domain("example.org"));
  EXPECT_TRUE(*db_->is_our_domain("EXAMPLE.Org"));
  EXPECT_FALSE(*db_->is_our_domain("example.com"));
  EXPECT_FALSE(*db_->is_our_domain(""));
  Resolution r = resolve("someone@example.com");
  EXPECT_FALSE(r.ours);
  EXPECT_FALSE(r.known);
  EXPECT_TRUE(r.mailboxes.empty());
}

TEST_F(AccountsDbTest, UserAndCaseInsensitivity) {
  Resolution r = resolve("BOB@Example.Org");
  EXPECT_TRUE(r.ours);
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.mailboxes, List{"bob@example.org"});
  EXPECT_TRUE(r.remote.empty());
  EXPECT_EQ(resolve("nologin@example.org").mailboxes, List{"nologin@example.org"});
}

TEST_F(AccountsDbTest, UnknownLocalPartInOurDomain) {
  Resolution r = resolve("nobody@example.org");
  EXPECT_TRUE(r.ours);
  EXPECT_FALSE(r.known);
  EXPECT_TRUE(r.mailboxes.empty());
}

TEST_F(AccountsDbTest, AliasBeatsUser) {
  EXPECT_EQ(resolve("info@example.org").mailboxes, List{"bob@example.org"});
}

TEST_F(AccountsDbTest, AliasesExpandRecursivelyWithRemoteTargets) {
  Resolution r = resolve("team@example.org");
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.mailboxes, (List{"bob@example.org", "carol@example.org"}));
  EXPECT_EQ(r.remote, List{"Dave@remote.example"});
  r = resolve("everyone@example.org");
  EXPECT_EQ(r.mailboxes, (List{"bob@example.org", "carol@example.org", "admin@example.org"}));
  EXPECT_EQ(r.remote, List{"Dave@remote.example"});
}

TEST_F(AccountsDbTest, PlusAddressing) {
  EXPECT_EQ(resolve("bob+news@example.org").mailboxes, List{"bob@example.org"});
  EXPECT_EQ(resolve("Bob+News+More@example.org").mailboxes, List{"bob@example.org"});
  // A stripped alias comes before a stripped user, an exact alias before either.
  EXPECT_EQ(resolve("info+x@example.org").mailboxes, List{"bob@example.org"});
  EXPECT_EQ(resolve("bob+lists@example.org").mailboxes, List{"carol@example.org"});
  EXPECT_EQ(resolve("sales+q3@example.org").remote, List{"Dave@remote.example"});
  // Other delimiters, or none.
  EXPECT_EQ(resolve("bob-news@example.org", "-+").mailboxes, List{"bob@example.org"});
  EXPECT_FALSE(resolve("bob+news@example.org", "").known);
  EXPECT_FALSE(resolve("+news@example.org").known);
}

TEST_F(AccountsDbTest, Postmaster) {
  EXPECT_EQ(resolve("postmaster@example.org").mailboxes, List{"admin@example.org"});
  EXPECT_EQ(resolve("PostMaster@EXAMPLE.ORG").mailboxes, List{"admin@example.org"});
  EXPECT_EQ(resolve("postmaster").mailboxes, List{"admin@example.org"});
  EXPECT_EQ(resolve("Postmaster").mailboxes, List{"admin@example.org"});
  EXPECT_TRUE(resolve("postmaster").ours);
  EXPECT_FALSE(resolve("someone").ours);
  // A domain alias named postmaster wins over the global postmaster.
  EXPECT_EQ(resolve("postmaster@other.example").mailboxes, List{"bob@example.org"});
  // Postmaster comes before the catch-all.
  Resolution r = resolve("postmaster@third.example");
  EXPECT_EQ(r.mailboxes, List{"admin@example.org"});
  EXPECT_TRUE(r.remote.empty());
}

TEST_F(AccountsDbTest, CatchAllComesLast) {
  Resolution r = resolve("anything@other.example");
  EXPECT_TRUE(r.known);
  EXPECT_EQ(r.mailboxes, List{"carol@example.org"});
  r = resolve("x@third.example");
  EXPECT_EQ(r.mailboxes, List{"x@third.example"});
  r = resolve("x+tag@third.example");
  EXPECT_EQ(r.mailboxes, List{"x@third.example"});
  r = resolve("y@third.example");
  EXPECT_TRUE(r.mailboxes.empty());
  EXPECT_EQ(r.remote, List{"someone@remote.example"});
  EXPECT_TRUE(r.known);
}

TEST_F(AccountsDbTest, AliasNamingItselfMeansTheUser) {
  store(R"(domains:
  e.org:
    users:
      admin: {password: "$1$a$b"}
    aliases:
      admin: [admin, backup@remote.example]
)");
  Resolution r = resolve("admin@e.org");
  EXPECT_EQ(r.mailboxes, List{"admin@e.org"});
  EXPECT_EQ(r.remote, List{"backup@remote.example"});
}

TEST_F(AccountsDbTest, AliasLoopIsAnError) {
  store(R"(domains:
  e.org:
    aliases:
      a: b
      b: [c, a]
      c: remote@remote.example
)");
  Result<Resolution> r = db_->resolve("a@e.org", "+");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kConfig);
  EXPECT_NE(r.error().message.find("loop"), std::string::npos);
  // A catch-all that points at an unknown local part of its own domain loops too.
  store("domains:\n  e.org:\n    catch_all: nobody\n");
  EXPECT_FALSE(db_->resolve("x@e.org", "+").ok());
}

TEST_F(AccountsDbTest, AliasDepthLimit) {
  auto chain = [](int hops) {
    std::string yaml = "domains:\n  e.org:\n    users:\n      end: {}\n    aliases:\n";
    for (int i = 0; i < hops; ++i) {
      std::string next = i + 1 == hops ? "end" : "a" + std::to_string(i + 1);
      yaml += "      a" + std::to_string(i) + ": " + next + "\n";
    }
    return yaml;
  };
  store(chain(kMaxAliasDepth));
  EXPECT_EQ(resolve("a0@e.org").mailboxes, List{"end@e.org"});
  store(chain(kMaxAliasDepth + 1));
  Result<Resolution> r = db_->resolve("a0@e.org", "+");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kConfig);
}

TEST_F(AccountsDbTest, PasswordsAndSendAs) {
  Result<std::optional<std::string>> hash = db_->password_hash("Admin@Example.org");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(*hash, std::optional<std::string>("$y$j9T$abc$def"));
  hash = db_->password_hash("nologin@example.org");
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(hash->has_value());
  hash = db_->password_hash("ghost@example.org");
  ASSERT_TRUE(hash.ok());
  EXPECT_FALSE(hash->has_value());
  Result<std::vector<std::string>> send_as = db_->send_as("admin@example.org");
  ASSERT_TRUE(send_as.ok());
  EXPECT_EQ(*send_as, (List{"sales@example.org", "sales@other.example"}));
  send_as = db_->send_as("bob@example.org");
  ASSERT_TRUE(send_as.ok());
  EXPECT_TRUE(send_as->empty());
}

TEST_F(AccountsDbTest, StoreReplacesEverythingAndReadersSeeIt) {
  // The reader is another process (as smtpd is), opened before the change and never reopened.
  // LMDB forbids opening one environment twice in a process, hence the fork.
  int to_child[2], to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  const std::string dir = tmp_.path() + "/accounts";
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: exit status says which check failed (0 = all good). No gtest macros here.
    Result<AccountsDb> reader = AccountsDb::open(dir, true);
    if (!reader.ok()) ::_exit(10);
    Result<Resolution> before = reader->resolve("bob@example.org", "+");
    if (!before.ok() || !before->known) ::_exit(11);
    char byte = 'r';
    if (::write(to_parent[1], &byte, 1) != 1) ::_exit(12);
    if (::read(to_child[0], &byte, 1) != 1) ::_exit(13);
    Result<Resolution> gone = reader->resolve("bob@example.org", "+");
    if (!gone.ok() || gone->ours) ::_exit(14);
    Result<Resolution> added = reader->resolve("zed@new.example", "+");
    if (!added.ok() || added->mailboxes != std::vector<std::string>{"zed@new.example"}) {
      ::_exit(15);
    }
    Result<Resolution> postmaster = reader->resolve("postmaster", "+");
    if (!postmaster.ok() || postmaster->known) ::_exit(16);  // no postmaster any more
    ::_exit(0);
  }
  char byte = 0;
  ASSERT_EQ(::read(to_parent[0], &byte, 1), 1);
  store("domains:\n  new.example:\n    users:\n      zed: {}\n");
  EXPECT_FALSE(*db_->is_our_domain("example.org"));
  ASSERT_EQ(::write(to_child[1], &byte, 1), 1);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]}) ::close(fd);
}

TEST_F(AccountsDbTest, FingerprintOfWhatWasStored) {
  // The CLI waits for this after a reload: equal exactly when the stored set is the same.
  Result<AccountsData> sample = parse_accounts_yaml(kSample, "accounts.yaml");
  ASSERT_TRUE(sample.ok());
  Result<std::optional<std::string>> stored = db_->fingerprint();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(**stored, accounts_fingerprint(*sample));
  EXPECT_EQ(stored->value().size(), 64u);
  AccountsData changed = *sample;
  changed.passwords["bob@example.org"] = "$6$salt$other";
  EXPECT_NE(accounts_fingerprint(changed), accounts_fingerprint(*sample));
  AccountsData moved = *sample;  // the same bytes in other fields must not collide
  moved.aliases["info@example.org"] = {"bob@example.orgx"};
  AccountsData moved2 = *sample;
  moved2.aliases["info@example.org"] = {"bob@example.org", "x"};
  EXPECT_NE(accounts_fingerprint(moved), accounts_fingerprint(moved2));
  store("domains:\n  new.example:\n    users:\n      zed: {}\n");
  stored = db_->fingerprint();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_NE(**stored, accounts_fingerprint(*sample));
}

TEST(AccountsValidatorsTest, SameRulesAsTheLoader) {
  EXPECT_TRUE(is_valid_local_part("a.b+c"));
  EXPECT_TRUE(is_valid_local_part(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_local_part(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_local_part("a..b"));
  EXPECT_FALSE(is_valid_local_part(""));
  EXPECT_FALSE(is_valid_local_part("a b"));
  EXPECT_TRUE(is_valid_domain_name("xn--bcher-kva.example"));
  EXPECT_FALSE(is_valid_domain_name("Upper.example"));  // lower-cased first by the callers
  EXPECT_FALSE(is_valid_domain_name("-a.example"));
  EXPECT_FALSE(is_valid_domain_name(std::string(64, 'a') + ".example"));
  EXPECT_TRUE(is_valid_domain_name(std::string(63, 'a') + ".example"));
}

TEST_F(AccountsDbTest, HostileAddresses) {
  EXPECT_FALSE(resolve("").ours);
  EXPECT_FALSE(resolve("@").ours);
  Resolution r = resolve("@example.org");
  EXPECT_TRUE(r.ours);
  EXPECT_FALSE(r.known);
  // Longer than any LMDB key: not found, not an error.
  r = resolve(std::string(1000, 'a') + "@example.org");
  EXPECT_TRUE(r.ours);
  EXPECT_FALSE(r.known);
  EXPECT_FALSE(resolve("a@" + std::string(1000, 'b')).ours);
  EXPECT_FALSE(resolve(std::string("bob\0x@example.org", 17)).known);
}

TEST(AccountsDbOpenTest, CreatesItsDirectoryAndReadsAnEmptyStore) {
  TempDir tmp;
  std::string dir = tmp.path() + "/db";
  Result<AccountsDb> missing = AccountsDb::open(dir, true);
  EXPECT_FALSE(missing.ok());
  {
    Result<AccountsDb> db = AccountsDb::open(dir, false);
    ASSERT_TRUE(db.ok()) << db.error().describe();
    EXPECT_TRUE(fs::is_directory(dir));
  }
  // Opened but never stored: nothing is ours, and that is not an error.
  Result<AccountsDb> ro = AccountsDb::open(dir, true);
  ASSERT_TRUE(ro.ok()) << ro.error().describe();
  Result<Resolution> r = ro->resolve("a@example.org", "+");
  ASSERT_TRUE(r.ok()) << r.error().describe();
  EXPECT_FALSE(r->ours);
  Result<bool> ours = ro->is_our_domain("example.org");
  ASSERT_TRUE(ours.ok());
  EXPECT_FALSE(*ours);
}

}  // namespace
}  // namespace postern
