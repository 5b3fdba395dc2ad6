// $myorigin, reading /etc/mailname-style files (see mail_origin.hpp).
#include "lib/config/mail_origin.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "lib/base/ascii.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern {
namespace {

std::string trimmed_lower(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size() && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  size_t end = text.size();
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r')) {
    --end;
  }
  return ascii_lowercase(text.substr(begin, end - begin));
}

std::string first_line_of(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  char buffer[kMaxMailOriginFileBytes];
  ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
  if (n <= 0) return {};
  std::string_view text(buffer, static_cast<size_t>(n));
  return trimmed_lower(text.substr(0, text.find('\n')));
}

}  // namespace

std::string mail_origin(const MainConfig& config) {
  std::string value = config.get("myorigin");
  if (!value.empty() && value.front() == '/') value = first_line_of(value);
  value = trimmed_lower(value);
  if (value.empty() || value.find_first_of(" \t\r\n/@") != std::string::npos) {
    value = ascii_lowercase(config.get("myhostname"));
  }
  return value;
}

}  // namespace postern
