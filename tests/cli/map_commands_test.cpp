// Tests cli/map_commands: query is an exact, case-insensitive key lookup (no fallback to the
// domain: that is the daemons' job); TABLE as a parameter merges its tables (the earlier wins)
// and reads alias_maps in aliases(5) format; a broken file is a file:line error; build checks
// the file, rebuilds the LMDB table of the parameter naming it (what master builds, opened with
// LookupTable as the daemons do), and only checks a file no parameter names.
#include "cli/map_commands.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/temp_dir.hpp"

namespace postern::cli {
namespace {

class MapCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string dir = tmp_.path();
    std::filesystem::create_directory(dir + "/data");  // master makes it before any table
    std::ofstream(dir + "/transport") << "# routes\nExample.COM  relay:[mx.example.com]:587\n"
                                         "user@example.net  error:no\n";
    std::ofstream(dir + "/transport2") << "example.com  smtp:elsewhere\nother.org  local:\n";
    std::ofstream(dir + "/aliases") << "root: alice, bob\npostmaster: root\n";
    std::ofstream(dir + "/main.cf")
        << "data_directory = " << dir << "/data\n"
        << "queue_directory = " << dir << "/spool\n"
        << "transport_maps = texthash:" << dir << "/transport, hash:" << dir << "/transport2\n"
        << "alias_maps = hash:" << dir << "/aliases\n";
    Result<MainConfig> config = MainConfig::load(dir + "/main.cf", nullptr);
    ASSERT_TRUE(config.ok()) << config.error().describe();
    config_.emplace(std::move(config).value());
  }
  test_support::TempDir tmp_{"map_commands_test"};
  std::optional<MainConfig> config_;
};

TEST_F(MapCommandsTest, QueryOneFile) {
  Result<LookupEntries> entries = read_table(*config_, "lmdb:" + tmp_.path() + "/transport");
  ASSERT_TRUE(entries.ok()) << entries.error().describe();
  EXPECT_EQ(query_entries(*entries, "EXAMPLE.com"), "relay:[mx.example.com]:587");
  EXPECT_EQ(query_entries(*entries, "someone@example.com"), std::nullopt);  // exact keys only
  EXPECT_EQ(query_entries(*entries, ""), std::nullopt);
  EXPECT_EQ(query_entries(*entries, std::string(kMaxLookupKeyBytes + 1, 'a')), std::nullopt);
  EXPECT_EQ(read_table(*config_, "mysql:/etc/x").error().kind, ErrorKind::kConfig);
}

TEST_F(MapCommandsTest, QueryParameterMergesAndReadsAliases) {
  Result<LookupEntries> entries = read_table(*config_, "transport_maps");
  ASSERT_TRUE(entries.ok()) << entries.error().describe();
  EXPECT_EQ(query_entries(*entries, "example.com"), "relay:[mx.example.com]:587");  // first wins
  EXPECT_EQ(query_entries(*entries, "other.org"), "local:");
  Result<LookupEntries> aliases = read_table(*config_, "alias_maps");
  ASSERT_TRUE(aliases.ok()) << aliases.error().describe();
  std::optional<std::string> root = query_entries(*aliases, "ROOT");
  ASSERT_TRUE(root.has_value());
  EXPECT_NE(root->find("alice"), std::string::npos);
  EXPECT_NE(root->find("bob"), std::string::npos);
}

TEST_F(MapCommandsTest, BrokenFileNamesItsLine) {
  std::ofstream(tmp_.path() + "/transport") << "good value\n\nlonely\n";
  Result<LookupEntries> entries = read_table(*config_, "transport_maps");
  ASSERT_FALSE(entries.ok());
  EXPECT_EQ(entries.error().kind, ErrorKind::kParse);
  EXPECT_NE(entries.error().message.find(tmp_.path() + "/transport:3:"), std::string::npos)
      << entries.error().message;
  size_t checked = 0;
  Result<std::vector<BuiltTable>> built =
      build_table_file(*config_, tmp_.path() + "/transport", &checked);
  ASSERT_FALSE(built.ok());
  EXPECT_EQ(built.error().kind, ErrorKind::kParse);
}

TEST_F(MapCommandsTest, BuildWhatMasterBuilds) {
  Result<std::vector<std::string>> naming =
      parameters_naming(*config_, tmp_.path() + "/transport2");
  ASSERT_TRUE(naming.ok());
  EXPECT_EQ(*naming, std::vector<std::string>{"transport_maps"});
  size_t checked = 0;
  Result<std::vector<BuiltTable>> built =
      build_table_file(*config_, tmp_.path() + "/transport2", &checked);
  ASSERT_TRUE(built.ok()) << built.error().describe();
  EXPECT_EQ(checked, 2u);
  ASSERT_EQ(built->size(), 1u);
  EXPECT_EQ((*built)[0].entries, 3u);  // both files merged
  Result<LookupTable> table = LookupTable::open((*built)[0].db_dir);
  ASSERT_TRUE(table.ok()) << table.error().describe();
  EXPECT_EQ(*table->find("example.com"), std::optional<std::string>("relay:[mx.example.com]:587"));
  EXPECT_EQ(*table->find("other.org"), std::optional<std::string>("local:"));
}

TEST_F(MapCommandsTest, FileNoParameterNamesIsOnlyChecked) {
  std::ofstream(tmp_.path() + "/loose") << "a b\nc d\n";
  size_t checked = 0;
  Result<std::vector<BuiltTable>> built =
      build_table_file(*config_, tmp_.path() + "/loose", &checked);
  ASSERT_TRUE(built.ok());
  EXPECT_TRUE(built->empty());
  EXPECT_EQ(checked, 2u);
}

}  // namespace
}  // namespace postern::cli
