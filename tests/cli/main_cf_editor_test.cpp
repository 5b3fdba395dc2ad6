// cli/main_cf_editor: one parameter changed, everything else byte for byte; limits at N and N+1.
#include "cli/main_cf_editor.hpp"

#include <gtest/gtest.h>

#include "lib/config/main_cf.hpp"

namespace postern::cli {
namespace {

constexpr std::string_view kFile =
    "# the admin's header\n"
    "\n"
    "myhostname = mx.example.org   \n"
    "# a comment about the banner\n"
    "smtpd_banner = $myhostname ESMTP\n"
    "smtpd_tls_cipherlist = A:B:\n"
    "    C:D:\n"
    "# inside the value\n"
    "\tE:F\n"
    "# after the value\n"
    "message_size_limit = 10240000\n";

MainCfEditor parsed(std::string_view text) {
  Result<MainCfEditor> editor = MainCfEditor::parse(text);
  EXPECT_TRUE(editor) << (editor ? "" : editor.error().message);
  return std::move(editor).value();
}

TEST(MainCfEditor, ChangesOneValueInPlaceKeepingEverythingElse) {
  MainCfEditor editor = parsed(kFile);
  Result<bool> changed = editor.set("smtpd_banner", "hello there");
  ASSERT_TRUE(changed);
  EXPECT_TRUE(*changed);
  std::string expected(kFile);
  expected.replace(expected.find("smtpd_banner = $myhostname ESMTP"),
                   std::string_view("smtpd_banner = $myhostname ESMTP").size(),
                   "smtpd_banner = hello there");
  EXPECT_EQ(editor.text(), expected);
}

TEST(MainCfEditor, ReplacesAContinuedValueWhole) {
  MainCfEditor editor = parsed(kFile);
  ASSERT_TRUE(editor.set("smtpd_tls_cipherlist", "X:Y"));
  EXPECT_EQ(editor.text(),
            "# the admin's header\n"
            "\n"
            "myhostname = mx.example.org   \n"
            "# a comment about the banner\n"
            "smtpd_banner = $myhostname ESMTP\n"
            "smtpd_tls_cipherlist = X:Y\n"
            "# after the value\n"
            "message_size_limit = 10240000\n");
}

TEST(MainCfEditor, ReadsValuesAsMainCfDoes) {
  MainCfEditor editor = parsed(kFile);
  std::string value;
  ASSERT_TRUE(editor.get("smtpd_tls_cipherlist", &value));
  EXPECT_EQ(value, "A:B: C:D: E:F");
  ASSERT_TRUE(editor.get("myhostname", &value));
  EXPECT_EQ(value, "mx.example.org");
  EXPECT_FALSE(editor.get("relayhost", &value));
  Result<MainConfig> config = MainConfig::parse(kFile, "main.cf", nullptr);
  ASSERT_TRUE(config);
  EXPECT_EQ(config->raw("smtpd_tls_cipherlist"), "A:B: C:D: E:F");
  EXPECT_EQ(editor.names(),
            (std::vector<std::string>{"myhostname", "smtpd_banner", "smtpd_tls_cipherlist",
                                      "message_size_limit"}));
}

TEST(MainCfEditor, AppendsANewParameterAtTheEnd) {
  MainCfEditor editor = parsed("a_comment_only = x");  // no final newline
  ASSERT_TRUE(editor.set("relayhost", "[smtp.example.com]:587"));
  EXPECT_EQ(editor.text(), "a_comment_only = x\nrelayhost = [smtp.example.com]:587\n");
  MainCfEditor empty = parsed("");
  ASSERT_TRUE(empty.set("mynetworks", ""));
  EXPECT_EQ(empty.text(), "mynetworks =\n");
}

TEST(MainCfEditor, SettingTheSameValueTwiceChangesNothing) {
  MainCfEditor editor = parsed(kFile);
  ASSERT_TRUE(editor.set("relayhost", "[h]:25"));
  const std::string once = editor.text();
  Result<bool> again = editor.set("relayhost", "[h]:25");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(editor.text(), once);
  // Written exactly so already, without a final newline: left alone too.
  MainCfEditor last = parsed("relayhost = [h]:25");
  Result<bool> unchanged = last.set("relayhost", "[h]:25");
  ASSERT_TRUE(unchanged);
  EXPECT_FALSE(*unchanged);
  EXPECT_EQ(last.text(), "relayhost = [h]:25");
}

TEST(MainCfEditor, EditsTheLastOfTwoSettings) {
  MainCfEditor editor = parsed("relayhost = a\n# x\nrelayhost = b\n");
  ASSERT_TRUE(editor.set("relayhost", "c"));
  EXPECT_EQ(editor.text(), "relayhost = a\n# x\nrelayhost = c\n");
}

TEST(MainCfEditor, KeepsCrLfLinesItDoesNotTouch) {
  MainCfEditor editor = parsed("# c\r\nmyhostname = a\r\nrelayhost = b\r\n");
  ASSERT_TRUE(editor.set("relayhost", "c"));
  EXPECT_EQ(editor.text(), "# c\r\nmyhostname = a\r\nrelayhost = c\n");
}

TEST(MainCfEditor, RefusesBadNamesAndValues) {
  MainCfEditor editor = parsed(kFile);
  EXPECT_FALSE(editor.set("", "x"));
  EXPECT_FALSE(editor.set("bad name", "x"));
  EXPECT_FALSE(editor.set("a=b", "x"));
  EXPECT_FALSE(editor.set("relayhost", "a\nmynetworks = 0.0.0.0/0"));
  EXPECT_FALSE(editor.set("relayhost", std::string("a\0b", 3)));
  EXPECT_FALSE(editor.set("relayhost", "a\rb"));
  EXPECT_EQ(editor.text(), kFile);
  EXPECT_TRUE(editor.set("relayhost", "tab\tinside"));
}

TEST(MainCfEditor, BoundsAtNAndNPlusOne) {
  MainCfEditor editor = parsed("");
  EXPECT_TRUE(editor.set(std::string(kMaxParameterNameBytes, 'a'), "x"));
  EXPECT_FALSE(editor.set(std::string(kMaxParameterNameBytes + 1, 'a'), "x"));
  EXPECT_TRUE(editor.set("v", std::string(kMaxValueBytes, 'x')));
  EXPECT_FALSE(editor.set("v", std::string(kMaxValueBytes + 1, 'x')));

  EXPECT_TRUE(MainCfEditor::parse(std::string(kMaxMainCfLineBytes, '#') + "\n"));
  EXPECT_FALSE(MainCfEditor::parse(std::string(kMaxMainCfLineBytes + 1, '#') + "\n"));
  std::string big(kMaxMainCfBytes, '\n');
  EXPECT_TRUE(MainCfEditor::parse(big));
  big += '\n';
  EXPECT_FALSE(MainCfEditor::parse(big));
  EXPECT_FALSE(MainCfEditor::parse(std::string("a = b\0c\n", 8)));
  // A set that would make the file too large is refused and leaves the text alone.
  MainCfEditor full = parsed(std::string(kMaxMainCfBytes - 10, '\n'));
  EXPECT_FALSE(full.set("relayhost", "[smtp.example.com]:587"));
  EXPECT_EQ(full.text().size(), kMaxMainCfBytes - 10);
}

TEST(MainCfEditor, CommentBlockReplacedOrInserted) {
  MainCfEditor editor = parsed("relayhost = x\n");
  const std::string block = "# begin\n# one\n# end\n";
  Result<bool> inserted = editor.set_comment_block("# begin", "# end", block);
  ASSERT_TRUE(inserted);
  EXPECT_TRUE(*inserted);
  EXPECT_EQ(editor.text(), block + "relayhost = x\n");
  Result<bool> same = editor.set_comment_block("# begin", "# end", block);
  ASSERT_TRUE(same);
  EXPECT_FALSE(*same);
  ASSERT_TRUE(editor.set_comment_block("# begin", "# end", "# begin\n# two\n# three\n# end\n"));
  EXPECT_EQ(editor.text(), "# begin\n# two\n# three\n# end\nrelayhost = x\n");
  // Only comment lines, never a setting.
  EXPECT_FALSE(editor.set_comment_block("# begin", "# end", "# begin\nmynetworks = 0/0\n# end\n"));
  // A "block" whose lines are not all comments is not ours: a new one is inserted, the
  // setting between the markers stays.
  MainCfEditor tricky = parsed("# begin\nrelayhost = y\n# end\n");
  ASSERT_TRUE(tricky.set_comment_block("# begin", "# end", block));
  EXPECT_EQ(tricky.text(), block + "# begin\nrelayhost = y\n# end\n");
}

TEST(MainCfEditor, EnsureCommentLineOnce) {
  MainCfEditor editor = parsed("a = b\n");
  ASSERT_TRUE(editor.ensure_comment_line("# ---- heading"));
  Result<bool> again = editor.ensure_comment_line("# ---- heading");
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_EQ(editor.text(), "a = b\n\n# ---- heading\n");
  EXPECT_FALSE(editor.ensure_comment_line("not = a comment"));
}

}  // namespace
}  // namespace postern::cli
