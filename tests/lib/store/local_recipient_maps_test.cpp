// Tests for lib/store/local_recipient_maps.cpp: local_recipient_maps read from real main.cf
// texts: the default (passwd and $alias_maps), an empty value, Postfix's proxy: spelling, a
// table of alias_maps named under another type prefix, and every entry that must be refused,
// each error naming the parameter and the entry.
#include "lib/store/local_recipient_maps.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/store/lookup_table.hpp"

namespace postern {
namespace {

Result<LocalRecipientMaps> parse(const std::string& main_cf) {
  std::vector<ConfigWarning> warnings;
  Result<MainConfig> config = MainConfig::parse(main_cf, "main.cf", &warnings);
  if (!config) return config.error();
  return parse_local_recipient_maps(*config);
}

TEST(LocalRecipientMaps, DefaultIsPasswdAndTheAliasTables) {
  Result<LocalRecipientMaps> maps = parse("");
  ASSERT_TRUE(maps) << maps.error().describe();
  EXPECT_TRUE(maps->system_users);
  EXPECT_TRUE(maps->aliases);
  EXPECT_FALSE(maps->any_local_part);
}

TEST(LocalRecipientMaps, EmptyValueChecksNothing) {
  Result<LocalRecipientMaps> maps = parse("local_recipient_maps =\n");
  ASSERT_TRUE(maps) << maps.error().describe();
  EXPECT_TRUE(maps->any_local_part);
  EXPECT_FALSE(maps->system_users);
  EXPECT_FALSE(maps->aliases);
  // $alias_maps with alias_maps empty expands to nothing: empty too, as in Postfix.
  maps = parse("alias_maps =\nlocal_recipient_maps = $alias_maps\n");
  ASSERT_TRUE(maps) << maps.error().describe();
  EXPECT_TRUE(maps->any_local_part);
}

TEST(LocalRecipientMaps, PasswdOnlyAndProxyPrefix) {
  Result<LocalRecipientMaps> maps = parse("local_recipient_maps = proxy:unix:passwd.byname\n");
  ASSERT_TRUE(maps) << maps.error().describe();
  EXPECT_TRUE(maps->system_users);
  EXPECT_FALSE(maps->aliases);
  EXPECT_FALSE(maps->any_local_part);
}

TEST(LocalRecipientMaps, AnAliasTableUnderAnotherTypePrefixIsTheSameFile) {
  Result<LocalRecipientMaps> maps = parse(
      "alias_maps = hash:/etc/aliases, texthash:/etc/postern/aliases\n"
      "local_recipient_maps = lmdb:/etc/postern/aliases\n");
  ASSERT_TRUE(maps) << maps.error().describe();
  EXPECT_FALSE(maps->system_users);
  EXPECT_TRUE(maps->aliases);
  maps = parse("local_recipient_maps = /etc/aliases\n");
  ASSERT_TRUE(maps) << maps.error().describe();
  EXPECT_TRUE(maps->aliases);
}

TEST(LocalRecipientMaps, UnsupportedTablesAreConfigErrorsNamingThem) {
  for (const std::string& entry :
       {std::string("mysql:/etc/postern/users.cf"), std::string("hash:/etc/other_aliases"),
        std::string("unix:passwd.byuid"), std::string("pcre:/etc/x.pcre"),
        std::string("relative/path"), std::string("proxy:hash:/etc/aliases")}) {
    Result<LocalRecipientMaps> maps =
        parse("local_recipient_maps = unix:passwd.byname, " + entry + "\n");
    ASSERT_FALSE(maps) << entry;
    EXPECT_EQ(maps.error().kind, ErrorKind::kConfig);
    EXPECT_EQ(maps.error().message.rfind("local_recipient_maps: ", 0), 0u) << maps.error().message;
    EXPECT_NE(maps.error().message.find("\"" + entry + "\""), std::string::npos)
        << maps.error().message;
  }
  // alias_maps emptied: its old file is no longer a table of alias_maps.
  EXPECT_FALSE(parse("alias_maps =\nlocal_recipient_maps = hash:/etc/aliases\n"));
}

TEST(LocalRecipientMaps, TooManyTables) {
  std::string value = "local_recipient_maps =";
  for (size_t i = 0; i <= kMaxLookupTables; ++i) value += " unix:passwd.byname";
  Result<LocalRecipientMaps> maps = parse(value + "\n");
  ASSERT_FALSE(maps);
  EXPECT_NE(maps.error().message.find("more than"), std::string::npos) << maps.error().message;
  std::string at_limit = "local_recipient_maps =";
  for (size_t i = 0; i < kMaxLookupTables; ++i) at_limit += " unix:passwd.byname";
  EXPECT_TRUE(parse(at_limit + "\n"));
}

}  // namespace
}  // namespace postern
