// lib/config/config_lines: the blanks of main.cf syntax, physical lines, line numbers of offsets.
// (for_each_config_entry is tested through its readers: main_cf_test, master_cf_test.)
#include "lib/config/config_lines.hpp"

#include <gtest/gtest.h>

namespace postern {
namespace {

TEST(ConfigLines, BlanksAreSpaceTabCrVtFf) {
  for (char c : {' ', '\t', '\r', '\v', '\f'}) EXPECT_TRUE(is_config_blank(c)) << int(c);
  for (char c : {'\n', '\0', 'a', '#', '='}) EXPECT_FALSE(is_config_blank(c)) << int(c);
}

TEST(ConfigLines, TrimBothEnds) {
  EXPECT_EQ(trim_config_blanks(" \t name = value \r"), "name = value");
  EXPECT_EQ(trim_config_blanks("\v\f"), "");
  EXPECT_EQ(trim_config_blanks(""), "");
  EXPECT_EQ(trim_config_blanks("a"), "a");
  EXPECT_EQ(trim_config_blanks("\na\n"), "\na\n");  // a newline is not a blank
}

TEST(ConfigLines, TextLinesDropLfAndCr) {
  TextLines lines("one\r\ntwo\n\nlast");
  std::string_view line;
  ASSERT_TRUE(lines.next(line));
  EXPECT_EQ(line, "one");
  ASSERT_TRUE(lines.next(line));
  EXPECT_EQ(line, "two");
  ASSERT_TRUE(lines.next(line));
  EXPECT_EQ(line, "");
  ASSERT_TRUE(lines.next(line));
  EXPECT_EQ(line, "last");
  EXPECT_EQ(lines.number(), 4);
  EXPECT_FALSE(lines.next(line));
}

TEST(ConfigLines, LineOfOffset) {
  EXPECT_EQ(line_of_offset("a\nb\nc", 0), 1);
  EXPECT_EQ(line_of_offset("a\nb\nc", 2), 2);
  EXPECT_EQ(line_of_offset("a\nb\nc", 4), 3);
  EXPECT_EQ(line_of_offset("a\nb\nc", 99), 3);
}

}  // namespace
}  // namespace postern
