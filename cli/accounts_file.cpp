// Reading and atomically replacing the accounts file (see accounts_file.hpp).
#include "cli/accounts_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "cli/accounts_yaml.hpp"
#include "lib/base/file_read.hpp"

namespace postern::cli {
namespace {

constexpr size_t kMaxAccountsTextBytes = size_t{64} << 20;  // the loader's own limit

std::string folder_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// The file a (possibly symbolic-link) path names; the path itself when nothing is there yet.
Result<std::string> real_path(const std::string& path) {
  if (path.empty()) return Error::config("accounts_file is empty in main.cf");
  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) != nullptr) return std::string(resolved);
  if (errno == ENOENT) return path;
  return Error::system("resolve " + path);
}

// Removes a temporary file unless it was renamed into place.
class TemporaryFile {
 public:
  explicit TemporaryFile(std::string path) : path_(std::move(path)) {}
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (!installed_) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  void installed() { installed_ = true; }

 private:
  std::string path_;
  bool installed_ = false;
};

Status write_all(int fd, std::string_view text, const std::string& path) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Error::system("write " + path);
    text.remove_prefix(static_cast<size_t>(n));
  }
  return Status::success();
}

Status fsync_folder(const std::string& folder) {
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::system("open " + folder);
  if (::fsync(fd.get()) != 0) return Error::system("fsync " + folder);
  return Status::success();
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
  std::string folder = folder_of(*path);
  UniqueFd fd(::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::system("open " + folder);
  while (::flock(fd.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return Error::system("lock " + folder);
  }
  return AccountsFileLock(std::move(fd));
}

Status write_accounts_file(const AccountsFile& file, const AccountsData& data) {
  const std::string text = render_accounts_file(file.comment_block, data);
  if (text.size() > kMaxAccountsTextBytes) {
    return Error::limit(
        fmt::format("{} would be larger than {} bytes", file.path, kMaxAccountsTextBytes));
  }
  const std::string folder = folder_of(file.path);
  std::string pattern = folder + "/." + base_of(file.path) + ".XXXXXX";
  int raw_fd = ::mkostemp(pattern.data(), O_CLOEXEC);
  if (raw_fd < 0) return Error::system("create a temporary file in " + folder);
  UniqueFd fd(raw_fd);
  TemporaryFile temporary(pattern);
  if (::fchmod(fd.get(), file.mode) != 0) return Error::system("chmod " + temporary.path());
  if ((file.owner != ::geteuid() || file.group != ::getegid()) &&
      ::fchown(fd.get(), file.owner, file.group) != 0) {
    return Error::system(
        fmt::format("give {} to uid {} gid {}", temporary.path(), file.owner, file.group));
  }
  if (Status written = write_all(fd.get(), text, temporary.path()); !written) return written;
  if (::fsync(fd.get()) != 0) return Error::system("fsync " + temporary.path());
  fd.reset();

  // Read back through the loader master uses: a write that does not read back as meant is
  // never installed.
  Result<AccountsData> reread = load_accounts_yaml(temporary.path());
  if (!reread) {
    return Error{
        ErrorKind::kPermanent,
        "the new accounts file does not load (" + reread.error().describe() + "); nothing changed",
        0};
  }
  if (!(*reread == data)) {
    return Error{ErrorKind::kPermanent,
                 "the new accounts file reads back different from the edit; nothing changed", 0};
  }
  if (::rename(temporary.path().c_str(), file.path.c_str()) != 0) {
    return Error::system("rename " + temporary.path() + " to " + file.path);
  }
  temporary.installed();
  return fsync_folder(folder);
}

}  // namespace postern::cli
