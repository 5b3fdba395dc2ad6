// Tests cli/accounts_edit: command-line names checked with the loader's rules and bounds (N
// accepted, N+1 refused), every edit's errors (unknown domain, user, alias or target; a user
// that exists; a domain still in use; too many targets) and that each edit leaves the data as
// the loader would read it back (lower-case names, targets in our domains lower-cased).
#include "cli/accounts_edit.hpp"

#include <gtest/gtest.h>

namespace postern::cli {
namespace {

AccountsData sample() {
  Result<AccountsData> data = parse_accounts_yaml(
      "domains:\n  example.org:\n    users:\n      admin: {password: \"$6$s$h\"}\n"
      "    aliases:\n      info: [admin, Bob@Remote.Example]\n  other.org: {}\n",
      "accounts.yaml");
  EXPECT_TRUE(data.ok()) << data.error().describe();
  return data.ok() ? std::move(data).value() : AccountsData{};
}

AccountAddress address(std::string_view text) {
  Result<AccountAddress> parsed = parse_account_address(text);
  EXPECT_TRUE(parsed.ok()) << text;
  return parsed.ok() ? *parsed : AccountAddress{};
}

TEST(AccountsEditTest, AddressesAreCheckedAndLowerCased) {
  EXPECT_EQ(address("Carol.X+y@Example.ORG").full(), "carol.x+y@example.org");
  for (std::string_view bad :
       {"", "carol", "@example.org", "carol@", "a..b@example.org", "a b@example.org",
        "a/b@example.org", "a@-x.org", "a@x..org", "a@exa_mple.org", "a\n@example.org"}) {
    Result<AccountAddress> parsed = parse_account_address(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    if (!parsed.ok()) {
      EXPECT_EQ(parsed.error().kind, ErrorKind::kParse) << bad;
    }
  }
  // The local part: 64 bytes accepted, 65 refused; the whole address bounded too.
  EXPECT_TRUE(parse_account_address(std::string(64, 'a') + "@example.org").ok());
  EXPECT_FALSE(parse_account_address(std::string(65, 'a') + "@example.org").ok());
  std::string long_domain;
  for (int i = 0; i < 4; ++i) long_domain += std::string(63, 'd') + ".";
  long_domain += "org";  // 259 bytes
  EXPECT_FALSE(parse_account_address("a@" + long_domain).ok());
  EXPECT_FALSE(parse_account_address(std::string(10000, 'a') + "@example.org").ok());
}

TEST(AccountsEditTest, DomainNames) {
  EXPECT_EQ(*parse_domain_argument("Example.ORG"), "example.org");
  EXPECT_TRUE(parse_domain_argument(std::string(63, 'a') + ".org").ok());
  EXPECT_FALSE(parse_domain_argument(std::string(64, 'a') + ".org").ok());
  EXPECT_FALSE(parse_domain_argument("").ok());
  EXPECT_FALSE(parse_domain_argument("a b.org").ok());
  EXPECT_FALSE(parse_domain_argument(std::string(300, 'a')).ok());
}

TEST(AccountsEditTest, Users) {
  AccountsData data = sample();
  ASSERT_TRUE(add_user(data, address("carol@example.org"), "$y$x").ok());
  EXPECT_EQ(data.passwords["carol@example.org"], "$y$x");
  Status again = add_user(data, address("Carol@example.org"), "$y$z");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kPermanent);
  Status unknown = add_user(data, address("a@nowhere.org"), "$y$x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().kind, ErrorKind::kNotFound);

  ASSERT_TRUE(set_user_password(data, address("admin@example.org"), "$y$new").ok());
  EXPECT_EQ(data.passwords["admin@example.org"], "$y$new");
  EXPECT_EQ(set_user_password(data, address("ghost@example.org"), "$y$").error().kind,
            ErrorKind::kNotFound);

  data.send_as["admin@example.org"] = {"sales@example.org"};
  ASSERT_TRUE(delete_user(data, address("admin@example.org")).ok());
  EXPECT_FALSE(data.passwords.count("admin@example.org"));
  EXPECT_FALSE(data.send_as.count("admin@example.org"));
  EXPECT_EQ(aliases_naming(data, "admin@example.org"),
            std::vector<std::string>{"info@example.org"});
  EXPECT_EQ(delete_user(data, address("admin@example.org")).error().kind, ErrorKind::kNotFound);
}

TEST(AccountsEditTest, Aliases) {
  AccountsData data = sample();
  Result<size_t> added =
      add_alias(data, address("Team@example.org"), {"Admin", "X@Other.ORG", "admin"});
  ASSERT_TRUE(added.ok()) << added.error().describe();
  EXPECT_EQ(*added, 2u);  // "admin" twice is one target
  // other.org is ours: its local part is lower-cased, as the loader does.
  EXPECT_EQ(data.aliases["team@example.org"],
            (std::vector<std::string>{"admin@example.org", "x@other.org"}));
  added = add_alias(data, address("info@example.org"), {"carol"});
  ASSERT_TRUE(added.ok());
  EXPECT_EQ(data.aliases["info@example.org"].back(), "carol@example.org");
  EXPECT_EQ(add_alias(data, address("x@nowhere.org"), {"a"}).error().kind, ErrorKind::kNotFound);
  EXPECT_EQ(add_alias(data, address("y@example.org"), {"a b"}).error().kind, ErrorKind::kParse);
  EXPECT_EQ(add_alias(data, address("loop@example.org"), {"loop"}).error().kind,
            ErrorKind::kPermanent);

  const std::string carol = "carol";
  ASSERT_TRUE(delete_alias(data, address("info@example.org"), &carol).ok());
  const std::string ghost = "ghost";
  EXPECT_EQ(delete_alias(data, address("info@example.org"), &ghost).error().kind,
            ErrorKind::kNotFound);
  const std::string remote = "Bob@Remote.Example";  // a remote local part keeps its case
  ASSERT_TRUE(delete_alias(data, address("info@example.org"), &remote).ok());
  const std::string admin = "admin";
  ASSERT_TRUE(delete_alias(data, address("info@example.org"), &admin).ok());
  EXPECT_FALSE(data.aliases.count("info@example.org"));  // its last target went
  ASSERT_TRUE(delete_alias(data, address("team@example.org"), nullptr).ok());
  EXPECT_EQ(delete_alias(data, address("team@example.org"), nullptr).error().kind,
            ErrorKind::kNotFound);
}

TEST(AccountsEditTest, AliasTargetLimit) {
  AccountsData data = sample();
  std::vector<std::string> targets;
  for (size_t i = 0; i < kMaxAliasTargets; ++i) targets.push_back("t" + std::to_string(i));
  ASSERT_TRUE(add_alias(data, address("big@example.org"), targets).ok());
  EXPECT_EQ(data.aliases["big@example.org"].size(), kMaxAliasTargets);
  Result<size_t> one_more = add_alias(data, address("big@example.org"), {"extra"});
  ASSERT_FALSE(one_more.ok());
  EXPECT_EQ(one_more.error().kind, ErrorKind::kPermanent);
}

TEST(AccountsEditTest, Domains) {
  AccountsData data = sample();
  data.aliases["info@example.org"].push_back("Zed@new.example");  // as the loader keeps it
  ASSERT_TRUE(add_domain(data, "new.example").ok());
  // Now ours: the loader would lower-case that target's local part, and so does the edit.
  EXPECT_EQ(data.aliases["info@example.org"].back(), "zed@new.example");
  EXPECT_EQ(add_domain(data, "new.example").error().kind, ErrorKind::kPermanent);

  Status busy = delete_domain(data, "example.org", false);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.error().kind, ErrorKind::kPermanent);
  EXPECT_NE(busy.error().message.find("1 user, 1 alias"), std::string::npos)
      << busy.error().message;
  data.catch_alls["other.org"] = {"admin@example.org"};
  EXPECT_FALSE(delete_domain(data, "other.org", false).ok());  // a catch-all is a use too
  ASSERT_TRUE(delete_domain(data, "example.org", true).ok());
  EXPECT_FALSE(data.domains.count("example.org"));
  EXPECT_TRUE(data.passwords.empty());
  EXPECT_TRUE(data.aliases.empty());
  ASSERT_TRUE(delete_domain(data, "new.example", false).ok());
  EXPECT_EQ(delete_domain(data, "new.example", false).error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace postern::cli
