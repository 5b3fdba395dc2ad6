// Error::describe: the one place an Error becomes a log-ready sentence.
#include "lib/base/result.hpp"

#include <cstring>

namespace postern {

std::string Error::describe() const {
  if (kind == ErrorKind::kSystem && sys_errno != 0) {
    return message + ": " + std::strerror(sys_errno);
  }
  return message;
}

}  // namespace postern
