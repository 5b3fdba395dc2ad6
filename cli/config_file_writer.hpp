// Replacing one configuration file (main.cf, mailname, relay_credentials) so that a crash or a
// full disk at any instant leaves either the old file or the new one, never half of either:
// write a temporary file in the same folder (O_EXCL, a name nobody else uses), fsync it, give it
// the old file's owner and mode (or the ones asked for a new file), rename it over the old one,
// fsync the folder. Used by `postern setup`, `postern config set` and the accounts commands
// (which also read the temporary file back before it is installed). Runs in the `postern`
// command as root or the admin; the path is the admin's (-c), not trusted to exist.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::cli {

struct NewFileMode {
  mode_t mode = 0644;
  // Owner of a new file; -1 keeps the writer's. A file that exists keeps its own owner and
  // mode unless force_mode (relay_credentials: always 0600, whatever it was).
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
  bool force_mode = false;
};

enum class WriteOutcome { kUnchanged, kCreated, kReplaced };

// Run on the temporary file once it is written and fsynced, before the rename: an error keeps
// the old file (and removes the temporary one).
using TemporaryFileCheck = std::function<Status(const std::string& temporary_path)>;

// Writes text to path as above. When the file already holds exactly text (and, with
// force_mode, has that mode and owner) nothing is written: kUnchanged.
Result<WriteOutcome> replace_file(const std::string& path, std::string_view text,
                                  const NewFileMode& new_file,
                                  const TemporaryFileCheck& check = nullptr);

// The folder a path lies in ("." for a bare name).
std::string folder_of(const std::string& path);

// An exclusive flock(2) on the configuration folder, held while the returned descriptor lives:
// two `postern setup`, `config set` or accounts commands edit their file one after the other,
// so neither loses the other's change. Waits up to kConfigLockWaitMs, then a kTemporary error.
inline constexpr int kConfigLockWaitMs = 10000;
Result<UniqueFd> lock_config_directory(const std::string& dir);

// The file's bytes, at most max_bytes; kNotFound when it does not exist.
Result<std::string> read_config_file(const std::string& path, size_t max_bytes);

}  // namespace postern::cli
