// Reading a new password from the terminal or standard input (see password_prompt.hpp).
#include "cli/password_prompt.hpp"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <iterator>

#include "lib/auth/password_hash.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::cli {
namespace {

constexpr size_t kSecretCapacity = kMaxPasswordBytes + 2;  // the password, CR, LF

// The terminal's modes before the prompt, for the signal handler: an interrupted prompt
// (Ctrl-C, a kill) must not leave the admin's terminal without echo.
int g_prompt_tty = -1;
termios g_saved_modes{};
constexpr int kRestoringSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

void restore_and_die(int signal_number) {
  if (g_prompt_tty >= 0) ::tcsetattr(g_prompt_tty, TCSAFLUSH, &g_saved_modes);
  ::signal(signal_number, SIG_DFL);
  ::raise(signal_number);
}

// Restores the terminal's modes (echo) when the prompt is done, however it ends.
class EchoOff {
 public:
  explicit EchoOff(int fd) : fd_(fd) {
    if (::tcgetattr(fd_, &saved_) != 0) return;
    g_saved_modes = saved_;
    g_prompt_tty = fd_;
    struct sigaction action {};
    action.sa_handler = restore_and_die;
    sigemptyset(&action.sa_mask);
    for (size_t i = 0; i < std::size(kRestoringSignals); ++i) {
      ::sigaction(kRestoringSignals[i], &action, &previous_[i]);
    }
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK | ECHONL);
    active_ = ::tcsetattr(fd_, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    if (g_prompt_tty != fd_) return;
    for (size_t i = 0; i < std::size(kRestoringSignals); ++i) {
      ::sigaction(kRestoringSignals[i], &previous_[i], nullptr);
    }
    g_prompt_tty = -1;
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  int fd_;
  termios saved_{};
  struct sigaction previous_[std::size(kRestoringSignals)]{};
  bool active_ = false;
};

void say(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

// Echo goes off before the prompt is shown: input typed after seeing it is never echoed, nor
// thrown away by the switch (TCSAFLUSH).
Result<SecretText> ask(int tty, std::string_view prompt) {
  Result<SecretText> line = [&] {
    EchoOff quiet(tty);
    say(tty, prompt);
    return read_password_line(tty);
  }();
  say(tty, "\n");
  return line;
}

}  // namespace

SecretText::SecretText() {
  text_.reserve(kSecretCapacity);
}

SecretText::~SecretText() {
  if (text_.capacity() > 0) OPENSSL_cleanse(text_.data(), text_.capacity());
}

SecretText::SecretText(SecretText&& other) noexcept {
  text_.reserve(kSecretCapacity);
  text_.assign(other.text_);
  OPENSSL_cleanse(other.text_.data(), other.text_.capacity());
  other.text_.clear();
}

SecretText& SecretText::operator=(SecretText&& other) noexcept {
  if (this != &other) {
    OPENSSL_cleanse(text_.data(), text_.capacity());
    text_.assign(other.text_);  // within the reserved capacity: no reallocation
    OPENSSL_cleanse(other.text_.data(), other.text_.capacity());
    other.text_.clear();
  }
  return *this;
}

bool SecretText::push_back(char c) {
  if (text_.size() + 1 >= text_.capacity()) return false;
  text_.push_back(c);
  return true;
}

Result<SecretText> read_password_line(int fd) {
  SecretText line;
  bool too_long = false;
  while (true) {
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("read the password");
    if (n == 0 || c == '\n') break;
    if (c == '\0') return Error::parse("the password contains a NUL byte");
    if (!line.push_back(c)) too_long = true;  // read on to the line's end, keep nothing more
  }
  if (!line.empty() && line.view().back() == '\r') line.pop_back();
  if (too_long || line.size() > kMaxPasswordBytes) {
    return Error::parse("the password is longer than " + std::to_string(kMaxPasswordBytes) +
                        " bytes");
  }
  if (line.empty()) return Error::parse("empty password");
  return line;
}

Result<SecretText> prompt_new_password(std::string_view address) {
  UniqueFd tty(::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!tty || !::isatty(tty.get())) {
    return Error::parse(
        "no terminal to ask for the password on: give it on standard input "
        "with --password-stdin");
  }
  Result<SecretText> first = ask(tty.get(), "New password for " + std::string(address) + ": ");
  if (!first) return first.error();
  Result<SecretText> second = ask(tty.get(), "Retype it: ");
  if (!second) return second.error();
  if (first->view() != second->view()) return Error::parse("the two passwords differ");
  return std::move(first).value();
}

}  // namespace postern::cli
