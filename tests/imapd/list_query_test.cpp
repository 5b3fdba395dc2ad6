// Unit tests for imapd/list_query.cpp: LIST/LSUB argument parsing (RFC 3501 and the RFC 5258
// extended forms, each bad form refused) and the reply lines for a fixed set of folders and
// subscriptions: "%" over missing parents, LIST "" "", LSUB's \Noselect parents,
// SUBSCRIBED/RECURSIVEMATCH with CHILDINFO, SPECIAL-USE selection and attributes.
#include "imapd/list_query.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace postern::imapd {
namespace {

std::vector<ImapToken> args_of(const std::string& line) {
  auto command = parse_imap_command("a LIST " + line + "\r\n");
  EXPECT_TRUE(command.ok()) << line;
  return command.ok() ? command->args : std::vector<ImapToken>{};
}

FolderInfo folder(std::string name, bool has_children = false, bool exists = true,
                  bool subscribed = false, SpecialUse use = SpecialUse::kNone) {
  FolderInfo info;
  info.name = std::move(name);
  info.exists = exists;
  info.has_children = has_children;
  info.subscribed = subscribed;
  info.special_use = use;
  return info;
}

// INBOX; Sent (special); Work (children Work.A, Work.B); missing parent "Old" of Old.2019.
std::vector<FolderInfo> sample_folders() {
  return {folder("INBOX", false, true, true),
          folder("Old", true, false),
          folder("Old.2019"),
          folder("Sent", false, true, true, SpecialUse::kSent),
          folder("Work", true),
          folder("Work.A", false, true, true),
          folder("Work.B")};
}

std::vector<std::string> sample_subscriptions() {
  return {"INBOX", "Sent", "Work.A", "Gone"};
}

std::vector<std::string> run(const std::string& args, bool lsub = false) {
  auto query = parse_list_query(args_of(args), lsub);
  EXPECT_TRUE(query.ok()) << args << ": " << (query.ok() ? "" : query.error().message);
  if (!query.ok()) return {};
  return list_replies(*query, sample_folders(), sample_subscriptions());
}

TEST(ListQueryTest, EmptyPatternGivesTheSeparator) {
  EXPECT_EQ(run("\"\" \"\""), std::vector<std::string>{"LIST (\\Noselect) \".\" \"\""});
}

TEST(ListQueryTest, StarListsEverythingWithChildrenAndSpecialUse) {
  const std::vector<std::string> expected = {
      "LIST (\\HasNoChildren) \".\" INBOX",    "LIST (\\Noselect \\HasChildren) \".\" Old",
      "LIST (\\HasNoChildren) \".\" Old.2019", "LIST (\\HasNoChildren \\Sent) \".\" Sent",
      "LIST (\\HasChildren) \".\" Work",       "LIST (\\HasNoChildren) \".\" Work.A",
      "LIST (\\HasNoChildren) \".\" Work.B",
  };
  EXPECT_EQ(run("\"\" *"), expected);
}

TEST(ListQueryTest, PercentListsTopLevelIncludingMissingParents) {
  const std::vector<std::string> expected = {
      "LIST (\\HasNoChildren) \".\" INBOX",
      "LIST (\\Noselect \\HasChildren) \".\" Old",
      "LIST (\\HasNoChildren \\Sent) \".\" Sent",
      "LIST (\\HasChildren) \".\" Work",
  };
  EXPECT_EQ(run("\"\" %"), expected);
}

TEST(ListQueryTest, ReferenceAndInboxCase) {
  EXPECT_EQ(run("Work. %"), (std::vector<std::string>{"LIST (\\HasNoChildren) \".\" Work.A",
                                                      "LIST (\\HasNoChildren) \".\" Work.B"}));
  EXPECT_EQ(run("\"\" inbox"), std::vector<std::string>{"LIST (\\HasNoChildren) \".\" INBOX"});
  EXPECT_TRUE(run("\"\" nothing*").empty());
}

TEST(ListQueryTest, LsubListsSubscriptionsAndNoselectParents) {
  EXPECT_EQ(run("\"\" *", true), (std::vector<std::string>{
                                     "LSUB () \".\" INBOX",
                                     "LSUB (\\Noselect) \".\" Gone",
                                     "LSUB () \".\" Sent",
                                     "LSUB () \".\" Work.A",
                                 }));
  // "%": Work.A is not at the top, its parent Work is listed \Noselect (RFC 3501 6.3.9).
  EXPECT_EQ(run("\"\" %", true), (std::vector<std::string>{
                                     "LSUB () \".\" INBOX",
                                     "LSUB (\\Noselect) \".\" Gone",
                                     "LSUB () \".\" Sent",
                                     "LSUB (\\Noselect) \".\" Work",
                                 }));
}

TEST(ListQueryTest, ReturnSubscribed) {
  const auto lines = run("\"\" % RETURN (SUBSCRIBED)");
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "LIST (\\Subscribed \\HasNoChildren) \".\" INBOX",
                       "LIST (\\NonExistent \\HasChildren) \".\" Old",
                       "LIST (\\Subscribed \\HasNoChildren \\Sent) \".\" Sent",
                       "LIST (\\HasChildren) \".\" Work",
                   }));
}

TEST(ListQueryTest, SelectSubscribed) {
  EXPECT_EQ(run("(SUBSCRIBED) \"\" *"),
            (std::vector<std::string>{
                "LIST (\\Subscribed \\HasNoChildren) \".\" INBOX",
                "LIST (\\NonExistent \\Subscribed \\HasNoChildren) \".\" Gone",
                "LIST (\\Subscribed \\HasNoChildren \\Sent) \".\" Sent",
                "LIST (\\Subscribed \\HasNoChildren) \".\" Work.A",
            }));
}

TEST(ListQueryTest, RecursiveMatchGivesChildInfo) {
  EXPECT_EQ(run("(SUBSCRIBED RECURSIVEMATCH) \"\" %"),
            (std::vector<std::string>{
                "LIST (\\Subscribed \\HasNoChildren) \".\" INBOX",
                "LIST (\\NonExistent \\Subscribed \\HasNoChildren) \".\" Gone",
                "LIST (\\Subscribed \\HasNoChildren \\Sent) \".\" Sent",
                "LIST (\\HasChildren) \".\" Work (\"CHILDINFO\" (\"SUBSCRIBED\"))",
            }));
}

TEST(ListQueryTest, SpecialUseSelectionAndSeveralPatterns) {
  EXPECT_EQ(run("(SPECIAL-USE) \"\" *"),
            std::vector<std::string>{"LIST (\\HasNoChildren \\Sent) \".\" Sent"});
  EXPECT_EQ(run("\"\" (INBOX Work.* INBOX) RETURN (CHILDREN SPECIAL-USE)"),
            (std::vector<std::string>{
                "LIST (\\HasNoChildren) \".\" INBOX",
                "LIST (\\HasNoChildren) \".\" Work.A",
                "LIST (\\HasNoChildren) \".\" Work.B",
            }));
}

TEST(ListQueryTest, RefusesBadArguments) {
  for (const char* bad : {"\"\"", "(BOGUS) \"\" *", "(RECURSIVEMATCH) \"\" *", "\"\" * RETURN",
                          "\"\" * RETURN (BOGUS)", "\"\" * EXTRA (X)", "\"\" ()"}) {
    EXPECT_FALSE(parse_list_query(args_of(bad), false).ok()) << bad;
  }
  // NIL is an atom, so it is the reference or pattern "NIL" (RFC 3501 9; imaptest nil).
  EXPECT_TRUE(parse_list_query(args_of("NIL *"), false).ok());
  EXPECT_TRUE(parse_list_query(args_of("\"\" NIL"), false).ok());
  EXPECT_FALSE(parse_list_query(args_of("\"\" (a b)"), true).ok());
  EXPECT_FALSE(parse_list_query(args_of("(SUBSCRIBED) \"\" *"), true).ok());
}

TEST(ListQueryTest, PatternCountLimit) {
  std::string at_limit = "\"\" (";
  for (size_t i = 0; i < kMaxListPatterns; ++i) at_limit += "p" + std::to_string(i) + " ";
  at_limit.back() = ')';
  EXPECT_TRUE(parse_list_query(args_of(at_limit), false).ok());
  std::string over = at_limit;
  over.back() = ' ';
  over += "extra)";
  EXPECT_FALSE(parse_list_query(args_of(over), false).ok());
}

TEST(ListQueryTest, QuotesNamesThatAreNotAtoms) {
  std::vector<FolderInfo> folders = {folder("INBOX"), folder("My Stuff"), folder("Entw&APw-rfe")};
  auto query = parse_list_query(args_of("\"\" *"), false);
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(list_replies(*query, folders, {}),
            (std::vector<std::string>{"LIST (\\HasNoChildren) \".\" INBOX",
                                      "LIST (\\HasNoChildren) \".\" \"My Stuff\"",
                                      "LIST (\\HasNoChildren) \".\" Entw&APw-rfe"}));
}

}  // namespace
}  // namespace postern::imapd
