// Where `postern user add|passwd` gets a new password: never from argv (other users can read a
// command line in /proc). Either asked twice on the terminal (/dev/tty) with echo off, or, with
// --password-stdin, one line of standard input (for scripts: `printf '%s\n' "$pw" | postern
// user add ...`). Runs in the `postern` command. The input is hostile: at most
// kMaxPasswordBytes (libxcrypt's limit), no NUL, not empty; a trailing CR LF or LF is dropped.
// The bytes are held in a SecretText, wiped when it is destroyed. Echo is off only while a line
// is read; SIGINT, SIGTERM, SIGHUP and SIGQUIT then restore it before the process dies.
#pragma once

#include <string>
#include <string_view>

#include "lib/base/result.hpp"

namespace postern::cli {

// A password in memory: reserved once (no reallocation leaves copies behind), wiped on
// destruction. Move-only.
class SecretText {
 public:
  SecretText();
  ~SecretText();
  SecretText(SecretText&& other) noexcept;
  SecretText& operator=(SecretText&& other) noexcept;
  SecretText(const SecretText&) = delete;
  SecretText& operator=(const SecretText&) = delete;

  std::string_view view() const { return text_; }
  // false once the capacity reserved for kMaxPasswordBytes plus a line end is full.
  bool push_back(char c);
  void pop_back() { text_.pop_back(); }
  bool empty() const { return text_.empty(); }
  size_t size() const { return text_.size(); }

 private:
  std::string text_;
};

// One line from fd (standard input): up to LF or end of file. Errors (kParse) say why, never
// quoting the input.
Result<SecretText> read_password_line(int fd);

// Asks on /dev/tty, echo off: "New password for ADDRESS: " then "Retype it: "; the two must
// match. An error when there is no terminal (use --password-stdin).
Result<SecretText> prompt_new_password(std::string_view address);

}  // namespace postern::cli
