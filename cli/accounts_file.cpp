// Reading and atomically replacing the accounts file (see accounts_file.hpp).
#include "cli/accounts_file.hpp"

#include <fmt/format.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "cli/accounts_yaml.hpp"
#include "cli/config_file_writer.hpp"
#include "lib/base/file_read.hpp"

namespace postern::cli {
namespace {

constexpr size_t kMaxAccountsTextBytes = size_t{64} << 20;  // the loader's own limit

// The file a (possibly symbolic-link) path names; the path itself when nothing is there yet.
Result<std::string> real_path(const std::string& path) {
  if (path.empty()) return Error::config("accounts_file is empty in main.cf");
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) != nullptr) return std::string(resolved);
  if (errno == ENOENT) return path;
  return Error::system("resolve " + path);
}

}  // namespace

Result<AccountsFile> read_accounts_file(const std::string& configured_path) {
  Result<std::string> path = real_path(configured_path);
  if (!path) return path.error();
  AccountsFile file;
  file.path = *path;
  struct stat st {};
  if (::stat(file.path.c_str(), &st) != 0) {
    if (errno != ENOENT) return Error::system("stat " + file.path);
    file.owner = ::geteuid();
    file.group = ::getegid();
    return file;
  }
  if (!S_ISREG(st.st_mode)) return Error::config(file.path + " is not a regular file");
  file.exists = true;
  file.owner = st.st_uid;
  file.group = st.st_gid;
  file.mode = st.st_mode & 07777;
  Result<std::string> text = read_small_file(file.path, kMaxAccountsTextBytes);
  if (!text) return text.error();
  // The loader master uses, on the same bytes.
  Result<AccountsData> data = parse_accounts_yaml(*text, file.path);
  if (!data) return data.error();
  file.data = std::move(data).value();
  file.comment_block = leading_comment_block(*text);
  return file;
}

Result<AccountsFileLock> AccountsFileLock::acquire(const std::string& configured_path) {
  Result<std::string> path = real_path(configured_path);
  if (!path) return path.error();
  Result<UniqueFd> fd = lock_config_directory(folder_of(*path));
  if (!fd) return fd.error();
  return AccountsFileLock(std::move(fd).value());
}

Status write_accounts_file(const AccountsFile& file, const AccountsData& data) {
  const std::string text = render_accounts_file(file.comment_block, data);
  if (text.size() > kMaxAccountsTextBytes) {
    return Error::limit(
        fmt::format("{} would be larger than {} bytes", file.path, kMaxAccountsTextBytes));
  }
  // Read back through the loader master uses: a write that does not read back as meant is
  // never installed.
  auto reads_back = [&data](const std::string& temporary) -> Status {
    Result<AccountsData> reread = load_accounts_yaml(temporary);
    if (!reread) {
      return Error{ErrorKind::kPermanent,
                   "the new accounts file does not load (" + reread.error().describe() +
                       "); nothing changed",
                   0};
    }
    if (!(*reread == data)) {
      return Error{ErrorKind::kPermanent,
                   "the new accounts file reads back different from the edit; nothing changed",
                   0};
    }
    return Status::success();
  };
  // A file that exists keeps its owner and mode; a new one is 0600, this user's.
  NewFileMode new_file{0600, static_cast<uid_t>(-1), static_cast<gid_t>(-1), false};
  Result<WriteOutcome> written = replace_file(file.path, text, new_file, reads_back);
  if (!written) return written.error();
  return Status::success();
}

}  // namespace postern::cli
