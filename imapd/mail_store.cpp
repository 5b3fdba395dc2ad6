// MailStore: one user's Maildir++ folders for postern-imapd (see mail_store.hpp): listing with
// CHILDREN/SPECIAL-USE attributes, CREATE/DELETE/RENAME with RFC 3501's rules as Dovecot's
// Maildir++ applies them, subscriptions, and the names' on-disk checks. Folder names come from
// clients and are hostile: check_folder_name runs before any name becomes a path. Limits:
// kMaxFolderNameBytes, kMaxFolderDepth, kMaxFolders, kMaxSubscriptionsFileBytes.
#include "imapd/mail_store.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <set>

#include "imapd/mail_store_internal.hpp"
#include "lib/base/file_read.hpp"
#include "lib/base/log.hpp"
#include "lib/mailbox/maildir.hpp"

#if __has_include("lib/imap/imap_mutf7.hpp")
#include "lib/imap/imap_mutf7.hpp"
#define POSTERN_HAVE_MUTF7 1
#endif

namespace postern::imapd {
namespace {

constexpr size_t kMaxSubscriptionsFileBytes = 1024 * 1024;
constexpr mode_t kDirMode = 0700;
constexpr mode_t kFileMode = 0600;
constexpr std::string_view kSubscriptionsFile = "subscriptions";
constexpr std::array<std::pair<std::string_view, SpecialUse>, 5> kSpecialUse = {{
    {"Drafts", SpecialUse::kDrafts},
    {"Sent", SpecialUse::kSent},
    {"Trash", SpecialUse::kTrash},
    {"Junk", SpecialUse::kJunk},
    {"Archive", SpecialUse::kArchive},
}};

std::atomic<uint64_t> g_trash_counter{0};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

int remove_entry(const char* path, const struct stat*, int type, struct FTW*) {
  int rc = (type == FTW_DP || type == FTW_D) ? ::rmdir(path) : ::unlink(path);
  if (rc != 0) log::warning("imapd: removing {}: {}", path, Error::system("").describe());
  return 0;  // go on: remove what can be removed
}

Status make_folder_dirs(const std::string& path) {
  if (::mkdir(path.c_str(), kDirMode) != 0) {
    if (errno == EEXIST)
      return store_error(ErrorKind::kPermanent, "ALREADYEXISTS", "mailbox already exists");
    return server_error(Error::system("mkdir " + path));
  }
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    if (::mkdir((path + sub).c_str(), kDirMode) != 0 && errno != EEXIST) {
      return server_error(Error::system("mkdir " + path + sub));
    }
  }
  // Maildir++ marks a folder with an empty "maildirfolder" file (Courier, Dovecot do).
  UniqueFd marker(::open((path + "/maildirfolder").c_str(),
                         O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, kFileMode));
  if (!marker) return server_error(Error::system("create " + path + "/maildirfolder"));
  return fsync_dir(path);
}

}  // namespace

// --- shared helpers (mail_store_internal.hpp)

Error store_error(ErrorKind kind, std::string_view code, std::string_view text) {
  return Error{kind, "[" + std::string(code) + "] " + std::string(text), 0};
}

Error server_error(const Error& error) {
  if (!error.message.empty() && error.message.front() == '[') return error;  // coded already
  return Error{error.kind, "[SERVERBUG] " + error.describe(), error.sys_errno};
}

Status fsync_dir(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return Error::system("open " + path);
  if (::fsync(fd.get()) != 0) return Error::system("fsync " + path);
  return Status::success();
}

// --- names

Status check_folder_name(std::string_view name) {
  if (name.empty()) return store_error(ErrorKind::kParse, "CANNOT", "empty mailbox name");
  if (name.size() > kMaxFolderNameBytes) {
    return store_error(ErrorKind::kLimit, "CANNOT", "mailbox name too long");
  }
  size_t levels = 1;
  for (size_t i = 0; i < name.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(name[i]);
    if (c == '/' || c < 0x20 || c >= 0x7f) {
      return store_error(ErrorKind::kParse, "CANNOT", "invalid character in mailbox name");
    }
    if (c == '.') {
      if (i == 0 || i + 1 == name.size() || name[i + 1] == '.') {
        return store_error(ErrorKind::kParse, "CANNOT", "empty level in mailbox name");
      }
      ++levels;
    }
  }
  if (levels > kMaxFolderDepth) {
    return store_error(ErrorKind::kLimit, "CANNOT", "mailbox name too deep");
  }
#ifdef POSTERN_HAVE_MUTF7
  if (!mutf7_valid(name)) {
    return store_error(ErrorKind::kParse, "CANNOT", "mailbox name is not valid modified UTF-7");
  }
#endif
  return Status::success();
}

std::string normalize_folder_name(std::string_view name) {
  if (iequals(name, "INBOX")) return "INBOX";
  if (name.size() > 6 && iequals(name.substr(0, 6), "INBOX.")) {
    return "INBOX" + std::string(name.substr(5));
  }
  return std::string(name);
}

std::string lf_to_crlf(std::string_view bytes) {
  std::string out;
  out.reserve(crlf_size(bytes));
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] == '\n' && (i == 0 || bytes[i - 1] != '\r')) out += '\r';
    out += bytes[i];
  }
  return out;
}

uint64_t crlf_size(std::string_view bytes) {
  uint64_t size = bytes.size();
  for (size_t pos = bytes.find('\n'); pos != std::string_view::npos;
       pos = bytes.find('\n', pos + 1)) {
    if (pos == 0 || bytes[pos - 1] != '\r') ++size;
  }
  return size;
}

std::string_view special_use_attribute(SpecialUse use) {
  switch (use) {
    case SpecialUse::kDrafts:
      return "\\Drafts";
    case SpecialUse::kSent:
      return "\\Sent";
    case SpecialUse::kTrash:
      return "\\Trash";
    case SpecialUse::kJunk:
      return "\\Junk";
    case SpecialUse::kArchive:
      return "\\Archive";
    case SpecialUse::kNone:
      break;
  }
  return "";
}

// --- MailStore

Result<std::unique_ptr<MailStore>> MailStore::open(MailboxRegistry& registry,
                                                   const std::string& base,
                                                   const std::string& user) {
  auto root = maildir_path(base, user);
  if (!root) return server_error(root.error());
  if (!is_dir(*root)) {
    if (Status s = create_maildir(base, *root); !s) return server_error(s.error());
  }
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    if (::mkdir((*root + sub).c_str(), kDirMode) != 0 && errno != EEXIST) {
      return server_error(Error::system("mkdir " + *root + sub));
    }
  }
  char* real = ::realpath(root->c_str(), nullptr);
  if (real == nullptr) return server_error(Error::system("realpath " + *root));
  std::string path(real);
  std::free(real);
  return std::unique_ptr<MailStore>(new MailStore(registry, std::move(path)));
}

std::string MailStore::folder_path(std::string_view name) const {
  if (name == "INBOX") return root_;
  return root_ + "/." + std::string(name);
}

bool MailStore::exists(std::string_view name) const {
  std::string normal = normalize_folder_name(name);
  if (normal == "INBOX") return true;
  if (!check_folder_name(normal)) return false;
  return is_dir(folder_path(normal));
}

Result<std::vector<std::string>> MailStore::folder_names() {
  DIR* handle = ::opendir(root_.c_str());
  if (handle == nullptr) return server_error(Error::system("opendir " + root_));
  std::unique_ptr<DIR, int (*)(DIR*)> closer(handle, ::closedir);
  std::vector<std::string> names;
  while (struct dirent* entry = ::readdir(handle)) {
    std::string_view entry_name(entry->d_name);
    if (entry_name.size() < 2 || entry_name[0] != '.' || entry_name[1] == '.') continue;
    std::string name(entry_name.substr(1));
    if (!check_folder_name(name)) continue;  // not a name a client could have made
    if (entry->d_type != DT_DIR &&
        !(entry->d_type == DT_UNKNOWN && is_dir(root_ + "/" + std::string(entry_name)))) {
      continue;
    }
    if (names.size() >= kMaxFolders) {
      log::warning("imapd: {} holds over {} folders, the rest is not listed", root_, kMaxFolders);
      break;
    }
    names.push_back(std::move(name));
  }
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::vector<FolderInfo>> MailStore::list_folders() {
  auto names = folder_names();
  if (!names) return names.error();
  auto subscribed = subscriptions();
  if (!subscribed) return subscribed.error();
  std::set<std::string> subscribed_set(subscribed->begin(), subscribed->end());
  std::map<std::string, FolderInfo> all;
  all["INBOX"].name = "INBOX";
  for (const std::string& name : *names) {
    FolderInfo& info = all[name];
    info.name = name;
    info.exists = true;
    for (size_t dot = name.find('.'); dot != std::string::npos; dot = name.find('.', dot + 1)) {
      std::string parent = name.substr(0, dot);
      auto [it, added] = all.try_emplace(parent);
      if (added) {
        it->second.name = parent;
        it->second.exists = false;
      }
      it->second.has_children = true;
    }
  }
  std::vector<FolderInfo> out;
  out.reserve(all.size());
  out.push_back(std::move(all["INBOX"]));
  all.erase("INBOX");
  for (auto& [name, info] : all) out.push_back(std::move(info));
  for (FolderInfo& info : out) {
    info.subscribed = subscribed_set.count(info.name) > 0;
    for (const auto& [special, use] : kSpecialUse) {
      if (info.name == special) info.special_use = use;
    }
  }
  return out;
}

Status MailStore::create(std::string_view name) {
  std::string normal = normalize_folder_name(name);
  if (!normal.empty() && normal.back() == '.') normal.pop_back();  // "a.b." means "a.b"
  if (Status s = check_folder_name(normal); !s) return s;
  if (normal == "INBOX" || is_dir(folder_path(normal))) {
    return store_error(ErrorKind::kPermanent, "ALREADYEXISTS", "mailbox already exists");
  }
  auto names = folder_names();
  if (!names) return names.error();
  if (names->size() >= kMaxFolders) {
    return store_error(ErrorKind::kLimit, "LIMIT", "too many mailboxes");
  }
  if (Status s = make_folder_dirs(folder_path(normal)); !s) return s;
  if (Status s = fsync_dir(root_); !s) return server_error(s.error());
  return Status::success();
}

Status MailStore::remove(std::string_view name) {
  std::string normal = normalize_folder_name(name);
  if (Status s = check_folder_name(normal); !s) return s;
  if (normal == "INBOX") {
    return store_error(ErrorKind::kPermanent, "CANNOT", "INBOX cannot be deleted");
  }
  std::string path = folder_path(normal);
  if (!is_dir(path)) return store_error(ErrorKind::kNotFound, "NONEXISTENT", "no such mailbox");
  // Out of sight first (a name starting with ".." is never a folder), then removed.
  std::string trash = root_ + "/..postern-deleted-" + std::to_string(getpid()) + "-" +
                      std::to_string(g_trash_counter++);
  if (::rename(path.c_str(), trash.c_str()) != 0) {
    return server_error(Error::system("rename " + path));
  }
  registry_.mark_deleted(path);
  if (Status s = fsync_dir(root_); !s) return server_error(s.error());
  ::nftw(trash.c_str(), remove_entry, 16, FTW_DEPTH | FTW_PHYS);
  return Status::success();
}

Status MailStore::rename(std::string_view from, std::string_view to) {
  std::string old_name = normalize_folder_name(from);
  std::string new_name = normalize_folder_name(to);
  if (!new_name.empty() && new_name.back() == '.') new_name.pop_back();
  if (Status s = check_folder_name(old_name); !s) return s;
  if (Status s = check_folder_name(new_name); !s) return s;
  if (new_name == "INBOX" || new_name == old_name) {
    return store_error(ErrorKind::kPermanent, "ALREADYEXISTS", "mailbox already exists");
  }
  if (is_dir(folder_path(new_name))) {
    return store_error(ErrorKind::kPermanent, "ALREADYEXISTS", "mailbox already exists");
  }
  if (old_name == "INBOX") {
    // RFC 3501 6.3.5: INBOX's messages move to the new name; INBOX stays, empty.
    if (Status s = create(new_name); !s) return s;
    auto inbox = open_mailbox("INBOX");
    if (!inbox) return inbox.error();
    auto target = open_mailbox(new_name);
    if (!target) return target.error();
    std::vector<uint32_t> uids;
    for (const MessageRecord& record : (*inbox)->records()) uids.push_back(record.uid);
    if (uids.empty()) return Status::success();
    auto moved = (*inbox)->move(uids, **target);
    if (!moved) return moved.error();
    return Status::success();
  }
  if (new_name.rfind(old_name + ".", 0) == 0) {
    return store_error(ErrorKind::kPermanent, "CANNOT", "cannot rename a mailbox into itself");
  }
  if (!is_dir(folder_path(old_name))) {
    return store_error(ErrorKind::kNotFound, "NONEXISTENT", "no such mailbox");
  }
  auto names = folder_names();
  if (!names) return names.error();
  std::vector<std::pair<std::string, std::string>> moves{{old_name, new_name}};
  for (const std::string& name : *names) {
    if (name.rfind(old_name + ".", 0) != 0) continue;
    std::string renamed = new_name + name.substr(old_name.size());
    if (Status s = check_folder_name(renamed); !s) return s;
    if (is_dir(folder_path(renamed))) {
      return store_error(ErrorKind::kPermanent, "ALREADYEXISTS", "mailbox already exists");
    }
    moves.emplace_back(name, renamed);
  }
  for (const auto& [before, after] : moves) {
    std::string from_path = folder_path(before);
    std::string to_path = folder_path(after);
    if (::rename(from_path.c_str(), to_path.c_str()) != 0) {
      return server_error(Error::system("rename " + from_path));
    }
    registry_.rename_path(from_path, to_path);
  }
  if (Status s = fsync_dir(root_); !s) return server_error(s.error());
  return Status::success();
}

Result<std::vector<std::string>> MailStore::subscriptions() {
  std::string path = root_ + "/" + std::string(kSubscriptionsFile);
  auto text = read_small_file(path, kMaxSubscriptionsFileBytes);
  if (!text) {
    if (text.error().sys_errno == ENOENT) return std::vector<std::string>();
    return server_error(text.error());
  }
  std::vector<std::string> names;
  std::set<std::string> seen;
  size_t start = 0;
  bool first = true;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(start, end - start);
    start = end + 1;
    if (first && line.rfind("V\t", 0) == 0) {  // Dovecot's version 2 header
      first = false;
      continue;
    }
    first = false;
    std::replace(line.begin(), line.end(), '\t', '.');  // v2 separates levels with TAB
    line = normalize_folder_name(line);
    if (line.empty() || !check_folder_name(line) || !seen.insert(line).second) continue;
    names.push_back(std::move(line));
  }
  return names;
}

Status MailStore::write_subscriptions(const std::vector<std::string>& names) {
  std::string text;
  for (const std::string& name : names) text += name + "\n";
  std::string path = root_ + "/" + std::string(kSubscriptionsFile);
  std::string tmp = path + ".tmp" + std::to_string(getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, kFileMode));
    if (!fd) return server_error(Error::system("create " + tmp));
    std::string_view rest = text;
    while (!rest.empty()) {
      ssize_t n = ::write(fd.get(), rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return server_error(Error::system("write " + tmp));
      rest.remove_prefix(static_cast<size_t>(n));
    }
    if (::fsync(fd.get()) != 0) return server_error(Error::system("fsync " + tmp));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return server_error(Error::system("rename " + tmp));
  }
  if (Status s = fsync_dir(root_); !s) return server_error(s.error());
  return Status::success();
}

Status MailStore::subscribe(std::string_view name) {
  std::string normal = normalize_folder_name(name);
  if (Status s = check_folder_name(normal); !s) return s;
  auto names = subscriptions();
  if (!names) return names.error();
  if (std::find(names->begin(), names->end(), normal) != names->end()) return Status::success();
  if (names->size() >= kMaxFolders) {
    return store_error(ErrorKind::kLimit, "LIMIT", "too many subscriptions");
  }
  names->push_back(normal);
  return write_subscriptions(*names);
}

Status MailStore::unsubscribe(std::string_view name) {
  std::string normal = normalize_folder_name(name);
  auto names = subscriptions();
  if (!names) return names.error();
  auto it = std::find(names->begin(), names->end(), normal);
  if (it == names->end()) return Status::success();
  names->erase(it);
  return write_subscriptions(*names);
}

Status MailStore::ensure_special_use_folders() {
  for (const auto& [name, use] : kSpecialUse) {
    if (exists(name)) continue;
    if (Status s = create(name); !s && !exists(name)) return s;
  }
  auto names = subscriptions();
  if (!names) return names.error();
  bool changed = false;
  for (const auto& [name, use] : kSpecialUse) {
    if (std::find(names->begin(), names->end(), name) == names->end()) {
      names->emplace_back(name);
      changed = true;
    }
  }
  return changed ? write_subscriptions(*names) : Status::success();
}

Result<std::shared_ptr<Mailbox>> MailStore::open_mailbox(std::string_view name) {
  std::string normal = normalize_folder_name(name);
  if (Status s = check_folder_name(normal); !s) return s.error();
  if (!exists(normal)) return store_error(ErrorKind::kNotFound, "NONEXISTENT", "no such mailbox");
  return registry_.open(folder_path(normal));
}

}  // namespace postern::imapd
