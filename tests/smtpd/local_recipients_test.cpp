// Tests for smtpd/local_recipients.cpp: the settings read from a real main.cf text (the
// default, an empty value, an entry that must stop smtpd), and the lookups against the real passwd
// database (root exists on every Debian system) and a real compiled alias table in a temporary
// LMDB: postmaster, the extension stripped, case, unknown names, hostile local parts (never looked
// up), and failed lookups (never a yes).
#include "smtpd/local_recipients.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/smtp/address.hpp"
#include "lib/store/lookup_table.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::smtpd {
namespace {

Result<LocalRecipientSettings> settings_from(const std::string& main_cf) {
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::parse(main_cf, "main.cf", &warnings);
  if (!config) return config.error();
  return load_local_recipient_settings(*config);
}

class LocalRecipientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    LookupEntries aliases{{"webmaster", "root"},
                          {"team", "demo@example.test"},
                          {"owner-team", "root"},
                          {"list+x", "root"}};
    ASSERT_TRUE(LookupTable::build(lookup_table_db_dir(dir_.path(), "alias_maps"), aliases));
  }

  std::string main_cf(const std::string& extra = "") const {
    return "myhostname = host.example\n"
           "data_directory = " +
           dir_.path() + "\n" + extra;
  }

  LocalRecipients open(const std::string& extra = "",
                       SystemUserLookup lookup = find_system_user) const {
    Result<LocalRecipientSettings> settings = settings_from(main_cf(extra));
    EXPECT_TRUE(settings) << settings.error().describe();
    if (!settings) return LocalRecipients::open(LocalRecipientSettings{}, lookup);
    return LocalRecipients::open(std::move(settings).value(), std::move(lookup));
  }

  static bool yes(const LocalRecipients& table, std::string_view local_part) {
    Result<bool> exists = table.exists(local_part);
    EXPECT_TRUE(exists) << local_part << ": " << exists.error().describe();
    return exists && *exists;
  }

  test_support::TempDir dir_{"local_recipients_test"};
};

TEST_F(LocalRecipientsTest, DefaultNamesPasswdAndTheAliasTables) {
  Result<LocalRecipientSettings> settings = settings_from(main_cf());
  ASSERT_TRUE(settings) << settings.error().describe();
  EXPECT_TRUE(settings->system_users);
  EXPECT_TRUE(settings->aliases);
  EXPECT_FALSE(settings->any_local_part);
  EXPECT_EQ(settings->alias_db_dir, dir_.path() + "/maps/alias_maps");
  EXPECT_EQ(settings->recipient_delimiter, "+");
  // mydestination's default, $-expanded and lower-cased.
  EXPECT_EQ(settings->mydestination,
            (std::vector<std::string>{"host.example", "localhost.example", "localhost"}));
}

TEST_F(LocalRecipientsTest, UnsupportedTableIsAConfigError) {
  // The entries themselves: tests/lib/store/local_recipient_maps_test.cpp.
  Result<LocalRecipientSettings> settings =
      settings_from(main_cf("local_recipient_maps = mysql:/etc/postern/users.cf\n"));
  ASSERT_FALSE(settings);
  EXPECT_EQ(settings.error().kind, ErrorKind::kConfig);
  EXPECT_NE(settings.error().message.find("\"mysql:/etc/postern/users.cf\""), std::string::npos);
}

TEST_F(LocalRecipientsTest, SystemUserAccepted) {
  LocalRecipients table = open();
  EXPECT_TRUE(table.open_problem().empty()) << table.open_problem();
  EXPECT_TRUE(yes(table, "root"));
  EXPECT_TRUE(yes(table, "ROOT"));
  EXPECT_TRUE(yes(table, "Root+anything"));
  EXPECT_FALSE(yes(table, "nosuchuser-postern-test"));
  EXPECT_FALSE(yes(table, "nosuchuser-postern-test+root"));
}

TEST_F(LocalRecipientsTest, AliasKeyAccepted) {
  LocalRecipients table = open("local_recipient_maps = $alias_maps\n");
  EXPECT_TRUE(table.open_problem().empty()) << table.open_problem();
  EXPECT_TRUE(yes(table, "webmaster"));
  EXPECT_TRUE(yes(table, "Team"));
  EXPECT_TRUE(yes(table, "team+tag"));
  EXPECT_TRUE(yes(table, "list+x"));  // the whole local part is a key of its own
  EXPECT_FALSE(yes(table, "list+y"));
  EXPECT_FALSE(yes(table, "list"));
  // Only aliases named: root (a system user, no alias) is unknown.
  EXPECT_FALSE(yes(table, "root"));
}

TEST_F(LocalRecipientsTest, PostmasterAlwaysAccepted) {
  LocalRecipients table = open("local_recipient_maps = $alias_maps\n");
  EXPECT_TRUE(yes(table, "postmaster"));
  EXPECT_TRUE(yes(table, "PostMaster"));
  EXPECT_TRUE(yes(table, "postmaster+bounces"));
  EXPECT_FALSE(yes(table, "postmasters"));
}

TEST_F(LocalRecipientsTest, OtherDelimiters) {
  LocalRecipients table = open("recipient_delimiter = -+\n");
  EXPECT_TRUE(yes(table, "root-daily"));
  EXPECT_TRUE(yes(table, "webmaster+x"));
  EXPECT_FALSE(yes(table, "webmaster.x"));
}

TEST_F(LocalRecipientsTest, EmptyMapsAcceptEveryLocalPart) {
  LocalRecipients table = open("local_recipient_maps =\n");
  EXPECT_TRUE(table.settings().any_local_part);
  EXPECT_TRUE(yes(table, "nosuchuser-postern-test"));
  EXPECT_TRUE(yes(table, "anything+at.all"));
}

TEST_F(LocalRecipientsTest, MydestinationMatchesLowerCased) {
  LocalRecipients table = open("mydestination = $myhostname, Mail.Example\n");
  EXPECT_TRUE(table.is_local_domain("host.example"));
  EXPECT_TRUE(table.is_local_domain("HOST.example"));
  EXPECT_TRUE(table.is_local_domain("mail.example"));
  EXPECT_FALSE(table.is_local_domain("localhost"));
  EXPECT_FALSE(table.is_local_domain("example"));
  EXPECT_FALSE(table.is_local_domain(""));
}

TEST_F(LocalRecipientsTest, HostileLocalPartsAreNeverLookedUp) {
  int lookups = 0;
  LocalRecipients table = open("", [&lookups](const std::string&) -> Result<bool> {
    ++lookups;
    return true;
  });
  EXPECT_FALSE(yes(table, ""));
  EXPECT_FALSE(yes(table, std::string("ro\0ot", 5)));
  EXPECT_FALSE(yes(table, "ro\not"));
  EXPECT_FALSE(yes(table, "ro\x7fot"));
  EXPECT_FALSE(yes(table, std::string(kMaxLocalPartBytes + 1, 'a')));
  EXPECT_EQ(lookups, 0);
  // Names passwd cannot hold are not asked about either (an alias may still match).
  EXPECT_FALSE(yes(table, "a:b"));
  EXPECT_FALSE(yes(table, "a/b"));
  EXPECT_FALSE(yes(table, "a b"));
  EXPECT_EQ(lookups, 0);
  // At the limit: looked up.
  EXPECT_TRUE(yes(table, std::string(kMaxLocalPartBytes, 'a')));
  EXPECT_EQ(lookups, 1);
}

TEST_F(LocalRecipientsTest, FailedLookupIsAnErrorUnlessAnotherSourceSaysYes) {
  LocalRecipients table = open(
      "", [](const std::string&) -> Result<bool> { return Error::temporary("NSS service down"); });
  Result<bool> unknown = table.exists("nosuchuser-postern-test");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("NSS service down"), std::string::npos);
  EXPECT_TRUE(yes(table, "webmaster"));   // the alias table answers
  EXPECT_TRUE(yes(table, "postmaster"));  // needs no lookup
}

TEST_F(LocalRecipientsTest, MissingAliasTableIsAnErrorNotAnAccept) {
  test_support::TempDir empty{"local_recipients_empty"};
  Result<LocalRecipientSettings> settings =
      settings_from("myhostname = host.example\ndata_directory = " + empty.path() + "\n");
  ASSERT_TRUE(settings);
  LocalRecipients table = LocalRecipients::open(std::move(settings).value());
  EXPECT_NE(table.open_problem().find("alias_maps"), std::string::npos) << table.open_problem();
  EXPECT_FALSE(table.exists("nosuchuser-postern-test"));  // an error: 451
  EXPECT_TRUE(yes(table, "root"));                        // passwd still answers
}

TEST(FindSystemUser, RootAndNobodyElse) {
  Result<bool> root = find_system_user("root");
  ASSERT_TRUE(root) << root.error().describe();
  EXPECT_TRUE(*root);
  Result<bool> nobody = find_system_user("nosuchuser-postern-test");
  ASSERT_TRUE(nobody) << nobody.error().describe();
  EXPECT_FALSE(*nobody);
}

}  // namespace
}  // namespace postern::smtpd
