// Reading a whole small file that we or the admin wrote (main.cf, master.cf, accounts.yaml),
// bounded: a regular file only, at most max_bytes, EINTR-safe. Used by master and every worker
// at start and on reload. Errors name the path.
#pragma once

#include <string>

#include "lib/base/result.hpp"

namespace postern {

Result<std::string> read_small_file(const std::string& path, size_t max_bytes);

}  // namespace postern
