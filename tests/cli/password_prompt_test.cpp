// Tests cli/password_prompt's reader of --password-stdin: one line (LF or CR LF dropped, or up
// to end of file), kMaxPasswordBytes accepted and one more refused, NUL and empty refused, and
// the error messages never quote the input.
#include "cli/password_prompt.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "lib/auth/password_hash.hpp"

namespace postern::cli {
namespace {

Result<SecretText> read_from(const std::string& input) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  // Small inputs only (a pipe holds 64 KiB); the writer closes so the reader sees end of file.
  EXPECT_EQ(::write(fds[1], input.data(), input.size()), static_cast<ssize_t>(input.size()));
  ::close(fds[1]);
  Result<SecretText> line = read_password_line(fds[0]);
  ::close(fds[0]);
  return line;
}

TEST(PasswordPromptTest, OneLine) {
  Result<SecretText> line = read_from("s3cret pass\nnext line\n");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->view(), "s3cret pass");
  line = read_from("crlf\r\n");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->view(), "crlf");
  line = read_from("no newline");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->view(), "no newline");
}

TEST(PasswordPromptTest, LengthLimit) {
  std::string longest(kMaxPasswordBytes, 'p');
  Result<SecretText> line = read_from(longest + "\n");
  ASSERT_TRUE(line.ok());
  EXPECT_EQ(line->size(), kMaxPasswordBytes);
  line = read_from(longest + "\r\n");
  ASSERT_TRUE(line.ok());
  line = read_from(longest + "q\n");
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.error().message.find("ppp"), std::string::npos);
  EXPECT_FALSE(read_from(std::string(20000, 'p') + "\n").ok());
}

TEST(PasswordPromptTest, Refused) {
  Result<SecretText> line = read_from("\n");
  EXPECT_FALSE(line.ok());
  EXPECT_FALSE(read_from("").ok());
  line = read_from(std::string("se\0cret\n", 8));
  ASSERT_FALSE(line.ok());
  EXPECT_EQ(line.error().message.find("se"), std::string::npos);
}

}  // namespace
}  // namespace postern::cli
