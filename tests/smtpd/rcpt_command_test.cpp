// Tests for smtpd/rcpt_command.cpp: the RCPT policy over a real accounts LMDB and a real local
// recipient table (the passwd database and a compiled alias table in a temporary directory):
// a domain of the accounts keeps the accounts' answer, a mydestination domain asks the local
// recipient table (Postfix's 550 text, for trusted clients too; 451 when a lookup fails), any
// other domain is refused unless the client is trusted or the domain is a relay domain.
#include "smtpd/rcpt_command.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "lib/auth/accounts.hpp"
#include "lib/store/lookup_table.hpp"
#include "tests/support/temp_dir.hpp"

namespace postern::smtpd {
namespace {

const char kAccounts[] = R"(domains:
  example.test:
    users:
      alice:
        password: "$6$salt$hash"
)";

class RcptCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Result<AccountsData> data = parse_accounts_yaml(kAccounts, "accounts.yaml");
    ASSERT_TRUE(data) << data.error().describe();
    Result<AccountsDb> db = AccountsDb::open(dir_.path() + "/accounts", false);
    ASSERT_TRUE(db) << db.error().describe();
    ASSERT_TRUE(db->store(*data));
    accounts_.emplace(std::move(db).value());
    ASSERT_TRUE(LookupTable::build(lookup_table_db_dir(dir_.path(), "alias_maps"),
                                   LookupEntries{{"webmaster", "alice@example.test"}}));
    local_.emplace(open_local());
  }

  LocalRecipients open_local(SystemUserLookup lookup = find_system_user) {
    std::vector<ConfigWarning> warnings;
    Result<MainConfig> config = MainConfig::parse(
        "myhostname = host.example\nmydestination = $myhostname, localhost\n"
        "data_directory = " +
            dir_.path() + "\n",
        "main.cf", &warnings);
    EXPECT_TRUE(config);
    Result<LocalRecipientSettings> settings = load_local_recipient_settings(*config);
    EXPECT_TRUE(settings) << settings.error().describe();
    return LocalRecipients::open(std::move(settings).value(), std::move(lookup));
  }

  std::string rcpt(const std::string& line, bool trusted = false,
                   const LocalRecipients* local = nullptr) {
    SmtpParseResult parsed = parse_smtp_command(line);
    EXPECT_TRUE(parsed.command) << line;
    if (!parsed.command) return "";
    RcptContext context{settings_, *accounts_, local ? *local : *local_, trusted, 0};
    RcptDecision decision = check_rcpt_command(*parsed.command, context);
    EXPECT_EQ(decision.accepted.has_value(), decision.reply.rfind("250 ", 0) == 0) << line;
    return decision.reply;
  }

  test_support::TempDir dir_{"rcpt_command_test"};
  SmtpdSettings settings_;
  std::optional<AccountsDb> accounts_;
  std::optional<LocalRecipients> local_;
};

TEST_F(RcptCommandTest, SystemUserOfMydestination) {
  EXPECT_EQ(rcpt("RCPT TO:<root@host.example>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcpt("RCPT TO:<root@localhost>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcpt("RCPT TO:<Root+cron@HOST.example>"), "250 2.1.5 Ok");
}

TEST_F(RcptCommandTest, AliasAndPostmasterOfMydestination) {
  EXPECT_EQ(rcpt("RCPT TO:<webmaster@host.example>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcpt("RCPT TO:<webmaster+x@host.example>"), "250 2.1.5 Ok");
  EXPECT_EQ(rcpt("RCPT TO:<postmaster@host.example>"), "250 2.1.5 Ok");
}

TEST_F(RcptCommandTest, UnknownLocalUserGetsPostfixText) {
  EXPECT_EQ(rcpt("RCPT TO:<nosuchuser@host.example>"),
            "550 5.1.1 <nosuchuser@host.example>: Recipient address rejected: User unknown in "
            "local recipient table");
  // Trusted and authenticated clients are checked too.
  EXPECT_EQ(rcpt("RCPT TO:<nosuchuser@host.example>", true),
            "550 5.1.1 <nosuchuser@host.example>: Recipient address rejected: User unknown in "
            "local recipient table");
}

TEST_F(RcptCommandTest, AccountsDomainKeepsItsOwnAnswer) {
  EXPECT_EQ(rcpt("RCPT TO:<alice@example.test>"), "250 2.1.5 Ok");
  // root is a system user, but example.test is not a domain of this host's system users.
  EXPECT_EQ(rcpt("RCPT TO:<root@example.test>"),
            "550 5.1.1 <root@example.test>: Recipient address rejected: User unknown");
}

TEST_F(RcptCommandTest, OtherDomainsStayRefused) {
  EXPECT_EQ(rcpt("RCPT TO:<root@elsewhere.example>"),
            "554 5.7.1 <root@elsewhere.example>: Relay access denied");
  EXPECT_EQ(rcpt("RCPT TO:<root@sub.host.example>"),
            "554 5.7.1 <root@sub.host.example>: Relay access denied");
  // Sender-specified routing through a local domain is still refused.
  EXPECT_EQ(rcpt("RCPT TO:<root%elsewhere.example@host.example>"),
            "554 5.7.1 <root%elsewhere.example@host.example>: Relay access denied");
  EXPECT_EQ(rcpt("RCPT TO:<root@elsewhere.example>", true), "250 2.1.5 Ok");
}

TEST_F(RcptCommandTest, FailedLookupIsTemporary) {
  LocalRecipients failing = open_local(
      [](const std::string&) -> Result<bool> { return Error::temporary("NSS service down"); });
  EXPECT_EQ(rcpt("RCPT TO:<nosuchuser@host.example>", false, &failing),
            "451 4.3.0 <nosuchuser@host.example>: Temporary lookup failure");
  EXPECT_EQ(rcpt("RCPT TO:<webmaster@host.example>", false, &failing), "250 2.1.5 Ok");
}

}  // namespace
}  // namespace postern::smtpd
