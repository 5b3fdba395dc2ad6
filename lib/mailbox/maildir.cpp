// Maildir++ writes for delivery (and the layout imapd will read): mailbox path checks, folder
// creation, unique names, the tmp/ -> fsync -> new/ protocol and streaming CRLF -> LF. Trusts
// the mail base from main.cf; mailbox names are checked so that none can leave it. Writes are
// buffered to kMaildirWriteBufferBytes; a large message goes to disk in chunks, never whole.
#include "lib/mailbox/maildir.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>

#include "lib/queue/queue_dir.hpp"

namespace postern {
namespace {

constexpr int kMaxNameTries = 8;
constexpr mode_t kFolderMode = 0700;
constexpr mode_t kFileMode = 0600;

std::atomic<uint64_t> g_delivery_counter{0};

Error permanent(std::string what) {
  return Error{ErrorKind::kPermanent, std::move(what), 0};
}

// A path component that cannot leave its parent folder.
bool safe_component(std::string_view part) {
  if (part.empty() || part.size() > kMaxMailboxNameBytes) return false;
  if (part.front() == '.') return false;  // ".", "..", and Maildir++ folder names
  if (part.find("..") != std::string_view::npos) return false;
  for (char c : part) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '/' || u < 0x20 || u == 0x7f) return false;
  }
  return true;
}

// mkdir that accepts an existing folder; sets *created when it made one.
Status make_folder(const std::string& path, bool* created) {
  if (::mkdir(path.c_str(), kFolderMode) == 0) {
    *created = true;
    return Status::success();
  }
  if (errno == EEXIST) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return Error::system("stat " + path);
    if (!S_ISDIR(st.st_mode)) return permanent(path + " exists and is not a folder");
    return Status::success();
  }
  return Error::system("mkdir " + path);
}

std::string parent_of(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? std::string("/") : path.substr(0, slash);
}

std::string escape_host(std::string_view host) {
  std::string out;
  for (char c : host) {
    if (c == '/') {
      out += "\\057";
    } else if (c == ':') {
      out += "\\072";
    } else {
      out += c;
    }
  }
  return out.empty() ? std::string("localhost") : out;
}

}  // namespace

Result<std::string> maildir_path(std::string_view base, std::string_view mailbox) {
  size_t at = mailbox.rfind('@');
  if (at == std::string_view::npos) return permanent("mailbox has no domain");
  std::string_view user = mailbox.substr(0, at);
  std::string domain(mailbox.substr(at + 1));
  for (char& c : domain) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!safe_component(user)) return permanent("invalid mailbox name");
  if (!safe_component(domain)) return permanent("invalid mailbox domain");
  if (base.empty()) return permanent("virtual_mailbox_base is empty");
  std::string path(base);
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  path += '/';
  path += domain;
  path += '/';
  path += user;
  return path;
}

Status create_maildir(const std::string& base, const std::string& maildir) {
  struct stat st {};
  if (::stat(base.c_str(), &st) != 0) return Error::system("virtual_mailbox_base " + base);
  const std::string domain_dir = parent_of(maildir);
  bool domain_created = false;
  bool user_created = false;
  bool sub_created = false;
  if (Status s = make_folder(domain_dir, &domain_created); !s) return s;
  if (Status s = make_folder(maildir, &user_created); !s) return s;
  // tmp/ last: create() takes an existing tmp/ for a whole Maildir, so a process killed between
  // these mkdirs must not leave tmp/ without new/ (every later rename into new/ would fail).
  for (const char* sub : {"/new", "/cur", "/tmp"}) {
    if (Status s = make_folder(maildir + sub, &sub_created); !s) return s;
  }
  // New folder entries are durable before the first message is announced in new/.
  if (sub_created) {
    if (Status s = fsync_directory(maildir); !s) return s;
  }
  if (user_created) {
    if (Status s = fsync_directory(domain_dir); !s) return s;
  }
  if (domain_created) {
    if (Status s = fsync_directory(parent_of(domain_dir)); !s) return s;
  }
  return Status::success();
}

void CrlfToLf::feed(std::string_view chunk, std::string& out) {
  size_t i = 0;
  if (held_cr_) {
    held_cr_ = false;
    if (chunk.empty()) {
      held_cr_ = true;
      return;
    }
    if (chunk.front() != '\n') out += '\r';  // a lone CR stays as it was
  }
  while (i < chunk.size()) {
    size_t cr = chunk.find('\r', i);
    if (cr == std::string_view::npos) {
      out.append(chunk.substr(i));
      return;
    }
    out.append(chunk.substr(i, cr - i));
    if (cr + 1 == chunk.size()) {
      held_cr_ = true;
      return;
    }
    if (chunk[cr + 1] != '\n') out += '\r';
    i = cr + 1;
  }
}

void CrlfToLf::finish(std::string& out) {
  if (held_cr_) out += '\r';
  held_cr_ = false;
}

std::string maildir_unique_name(int64_t seconds, int64_t micros, int64_t pid, uint64_t counter,
                                std::string_view host) {
  return fmt::format("{}.M{}P{}Q{}.{}", seconds, micros, pid, counter, escape_host(host));
}

Result<MaildirMessage> MaildirMessage::create(const std::string& base, const std::string& maildir,
                                              std::string_view host) {
  static const int64_t pid = ::getpid();
  bool created_folders = false;
  for (int attempt = 0; attempt < kMaxNameTries; ++attempt) {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    MaildirMessage message;
    message.base_ = base;
    message.maildir_ = maildir;
    message.unique_ = maildir_unique_name(now.tv_sec, now.tv_nsec / 1000, pid,
                                          g_delivery_counter.fetch_add(1), host);
    message.tmp_path_ = maildir + "/tmp/" + message.unique_;
    int fd = ::open(message.tmp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, kFileMode);
    if (fd >= 0) {
      message.fd_.reset(fd);
      return message;
    }
    if (errno == ENOENT && !created_folders) {
      created_folders = true;
      if (Status s = create_maildir(base, maildir); !s) return s.error();
      continue;
    }
    if (errno != EEXIST) return Error::system("open " + message.tmp_path_);
  }
  return Error{ErrorKind::kTemporary, "no unique name in " + maildir + "/tmp", 0};
}

MaildirMessage::MaildirMessage(MaildirMessage&& other) noexcept
    : base_(std::move(other.base_)),
      maildir_(std::move(other.maildir_)),
      unique_(std::move(other.unique_)),
      tmp_path_(std::move(other.tmp_path_)),
      fd_(std::move(other.fd_)),
      buffer_(std::move(other.buffer_)),
      size_(other.size_),
      committed_(other.committed_) {
  other.committed_ = true;  // the moved-from object owns nothing to clean up
}

MaildirMessage& MaildirMessage::operator=(MaildirMessage&& other) noexcept {
  if (this != &other) {
    discard();
    base_ = std::move(other.base_);
    maildir_ = std::move(other.maildir_);
    unique_ = std::move(other.unique_);
    tmp_path_ = std::move(other.tmp_path_);
    fd_ = std::move(other.fd_);
    buffer_ = std::move(other.buffer_);
    size_ = other.size_;
    committed_ = other.committed_;
    other.committed_ = true;
  }
  return *this;
}

MaildirMessage::~MaildirMessage() {
  discard();
}

void MaildirMessage::discard() {
  if (!committed_ && !tmp_path_.empty()) ::unlink(tmp_path_.c_str());
  committed_ = true;
  fd_.reset();
}

Status MaildirMessage::write_all(std::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd_.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::system("write " + tmp_path_);
    }
    done += static_cast<size_t>(n);
  }
  return Status::success();
}

Status MaildirMessage::flush() {
  Status s = write_all(buffer_);
  buffer_.clear();
  return s;
}

Status MaildirMessage::write(std::string_view bytes) {
  if (!fd_) return Error::system("write to a closed Maildir message", EBADF);
  size_ += bytes.size();
  if (buffer_.size() + bytes.size() > kMaildirWriteBufferBytes) {
    if (Status s = flush(); !s) return s;
  }
  if (bytes.size() >= kMaildirWriteBufferBytes) {
    return write_all(bytes);  // large: straight to the file, no copy
  }
  buffer_.append(bytes);
  return Status::success();
}

Result<std::string> MaildirMessage::commit() {
  if (!fd_ || committed_) return Error::system("commit of a closed Maildir message", EBADF);
  if (Status s = flush(); !s) return s.error();
  if (::fsync(fd_.get()) != 0) return Error::system("fsync " + tmp_path_);
  std::string final_path = fmt::format("{}/new/{},S={}", maildir_, unique_, size_);
  if (::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
    // new/ gone (a Maildir that an older build or another tool left with tmp/ only): make the
    // missing folders and try once more, rather than defer this mailbox forever.
    if (errno != ENOENT || !create_maildir(base_, maildir_) ||
        ::rename(tmp_path_.c_str(), final_path.c_str()) != 0) {
      return Error::system("rename " + tmp_path_ + " to " + final_path);
    }
  }
  committed_ = true;
  fd_.reset();
  return final_path;
}

}  // namespace postern
