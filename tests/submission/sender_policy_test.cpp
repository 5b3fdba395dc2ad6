// Tests for submission/sender_policy.cpp and AccountsDb::may_send_as (lib/auth/accounts.cpp), with a
// real accounts LMDB and a real compiled smtpd_sender_login_maps table in a temporary
// directory: the user's own address and its plus forms, send_as (and its plus forms), aliases
// that name the user directly (and those that do not, or only through another alias), the
// postmaster, catch-alls never, case-insensitivity, and the login map's three lookups
// (address, address without extension, @domain) with login lists and the local domain.
#include "submission/sender_policy.hpp"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.hpp"

namespace postern::submission {
namespace {

const char kAccounts[] = R"(postmaster: Alice@Example.Test
domains:
  example.test:
    catch_all: alice
    users:
      alice:
        password: "$6$salt$hash"
        send_as: [sales, ceo@Other.Example]
      bob:
        password: "$6$salt$hash"
      carol:
        password: "$6$salt$hash"
    aliases:
      info: alice
      team: [alice, bob]
      helpdesk: team                 # alice only through another alias
      outside: [alice@elsewhere.example]
      bob+news: alice                # an exact alias beats plus-stripping
  other.test:
    catch_all: alice@example.test
)";

class SenderPolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(dir_.path().empty());
    Result<AccountsData> data = parse_accounts_yaml(kAccounts, "accounts.yaml");
    ASSERT_TRUE(data) << data.error().describe();
    Result<AccountsDb> db = AccountsDb::open(dir_.path() + "/accounts", false);
    ASSERT_TRUE(db) << db.error().describe();
    ASSERT_TRUE(db->store(*data));
    accounts_.emplace(std::move(db).value());
  }

  void build_map(const LookupEntries& entries) {
    std::string map_dir = dir_.path() + "/maps";
    ASSERT_TRUE(LookupTable::build(map_dir, entries));
    Result<LookupTable> table = LookupTable::open(map_dir);
    ASSERT_TRUE(table) << table.error().describe();
    map_.emplace(std::move(table).value());
  }

  bool owns(std::string_view login, std::string_view address) {
    SenderPolicy policy(*accounts_, map_ ? &*map_ : nullptr, "+", "example.test");
    Result<bool> result = policy.owns(login, address);
    EXPECT_TRUE(result) << result.error().describe();
    return result && *result;
  }

  test_support::TempDir dir_{"sender_policy_test"};
  std::optional<AccountsDb> accounts_;
  std::optional<LookupTable> map_;
};

TEST_F(SenderPolicyTest, OwnAddressAndPlusForms) {
  EXPECT_TRUE(owns("alice@example.test", "alice@example.test"));
  EXPECT_TRUE(owns("alice@example.test", "Alice@EXAMPLE.test"));
  EXPECT_TRUE(owns("alice@example.test", "alice+lists@example.test"));
  EXPECT_FALSE(owns("alice@example.test", "bob@example.test"));
  EXPECT_FALSE(owns("alice@example.test", "bob+alice@example.test"));
  EXPECT_FALSE(owns("alice@example.test", "alice@other.test"));
  EXPECT_FALSE(owns("alice@example.test", "alicex@example.test"));
  EXPECT_FALSE(owns("alice@example.test", "alice"));
  EXPECT_FALSE(owns("alice@example.test", "@example.test"));
}

TEST_F(SenderPolicyTest, SendAs) {
  EXPECT_TRUE(owns("alice@example.test", "sales@example.test"));
  EXPECT_TRUE(owns("alice@example.test", "sales+q4@example.test"));
  EXPECT_TRUE(owns("alice@example.test", "CEO@other.example"));
  EXPECT_FALSE(owns("bob@example.test", "sales@example.test"));
  EXPECT_FALSE(owns("bob@example.test", "ceo@other.example"));
}

TEST_F(SenderPolicyTest, AliasesThatNameTheUserDirectly) {
  EXPECT_TRUE(owns("alice@example.test", "info@example.test"));
  EXPECT_TRUE(owns("alice@example.test", "info+x@example.test"));
  EXPECT_TRUE(owns("alice@example.test", "team@example.test"));
  EXPECT_TRUE(owns("bob@example.test", "team@example.test"));
  EXPECT_FALSE(owns("carol@example.test", "team@example.test"));
  EXPECT_FALSE(owns("bob@example.test", "info@example.test"));
  // Only through another alias: not directly.
  EXPECT_FALSE(owns("alice@example.test", "helpdesk@example.test"));
  // An alias to alice's address elsewhere does not name alice@example.test.
  EXPECT_FALSE(owns("alice@example.test", "outside@example.test"));
  // The exact alias decides before plus-stripping: bob+news goes to alice, not to bob.
  EXPECT_TRUE(owns("alice@example.test", "bob+news@example.test"));
  EXPECT_TRUE(owns("bob@example.test", "bob+news@example.test"));  // bob's own plus form
}

TEST_F(SenderPolicyTest, PostmasterButNeverCatchAll) {
  EXPECT_TRUE(owns("alice@example.test", "postmaster@example.test"));
  EXPECT_TRUE(owns("alice@example.test", "postmaster@other.test"));
  EXPECT_FALSE(owns("bob@example.test", "postmaster@example.test"));
  // Both domains' catch-alls deliver to alice; that does not make the addresses hers.
  EXPECT_FALSE(owns("alice@example.test", "nobody@example.test"));
  EXPECT_FALSE(owns("alice@example.test", "anything@other.test"));
}

TEST_F(SenderPolicyTest, SenderLoginMap) {
  build_map({{"shared@other.test", "bob@example.test, carol"},
             {"@partner.example", "carol@example.test"},
             {"news@other.test", "alice@example.test"}});
  EXPECT_TRUE(owns("bob@example.test", "shared@other.test"));
  EXPECT_TRUE(owns("carol@example.test", "Shared@Other.Test"));  // "carol" + local domain
  EXPECT_TRUE(owns("bob@example.test", "shared+x@other.test"));  // without the extension
  EXPECT_FALSE(owns("alice@example.test", "shared@other.test"));
  EXPECT_TRUE(owns("carol@example.test", "anyone@partner.example"));
  EXPECT_FALSE(owns("bob@example.test", "anyone@partner.example"));
  // The first key found decides: news@other.test names alice only, even with a catch-all.
  EXPECT_TRUE(owns("alice@example.test", "news@other.test"));
  EXPECT_FALSE(owns("bob@example.test", "news@other.test"));
  // A key longer than LMDB takes is simply absent.
  EXPECT_FALSE(owns("bob@example.test", std::string(600, 'a') + "@other.test"));
}

TEST(ParseLoginList, SeparatorsCaseAndLocalDomain) {
  EXPECT_EQ(parse_login_list("A@X.org, b ,\tc@y.org", "example.test"),
            (std::vector<std::string>{"a@x.org", "b@example.test", "c@y.org"}));
  EXPECT_EQ(parse_login_list("b", ""), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(parse_login_list(" , ", "x").empty());
}

}  // namespace
}  // namespace postern::submission
