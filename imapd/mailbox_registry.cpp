// MailboxRegistry: the one place in an imapd process that opens folder indexes (LMDB must not
// open one environment twice in a process), and the inotify instance that tells open folders
// about delivery, other Maildir tools and other imapd processes. Runs on imapd's event loop.
// Trusts the kernel's events; names in them are only compared, never used as paths. Limits:
// kMaxDrainReads reads of kEventBufferBytes per drain; a queue overflow rescans every folder.
#include <sys/inotify.h>
#include <sys/stat.h>

#include <cstdlib>

#include "imapd/mail_store_internal.hpp"
#include "lib/base/log.hpp"

namespace postern::imapd {
namespace {

constexpr size_t kEventBufferBytes = 64 * 1024;
constexpr int kMaxDrainReads = 64;
constexpr uint32_t kDirMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
constexpr uint32_t kFolderMask =
    IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR;
constexpr mode_t kDirMode = 0700;

void on_inotify_readable(evutil_socket_t, short, void* arg) {
  static_cast<MailboxRegistry*>(arg)->drain_events();
}

}  // namespace

void MailboxRegistry::on_notify(int, short, void* arg) {
  static_cast<MailboxRegistry*>(arg)->run_pending();
}

void MailboxRegistry::on_poll(int, short, void* arg) {
  auto* self = static_cast<MailboxRegistry*>(arg);
  for (auto& [path, weak] : self->mailboxes_) {
    std::shared_ptr<Mailbox> alive = weak.lock();
    if (!alive) continue;
    const Mailbox::Private& m = *alive->impl_;
    if (m.wd_new < 0 || m.wd_cur < 0 || m.wd_folder < 0) self->schedule(*alive, false);
  }
}

MailboxRegistry::MailboxRegistry(event_base* base, bool use_inotify)
    : base_(base), impl_(std::make_unique<Private>()) {
  int fd = use_inotify ? inotify_init1(IN_NONBLOCK | IN_CLOEXEC) : -1;
  if (fd < 0) {
    if (use_inotify) {
      log::warning("imapd: inotify_init1: {}: folders are checked by mtime once a second",
                   Error::system("").describe());
    }
  } else {
    impl_->inotify.reset(fd);
  }
  if (base_ == nullptr) return;
  if (impl_->inotify) {
    impl_->read_event.reset(
        event_new(base_, impl_->inotify.get(), EV_READ | EV_PERSIST, on_inotify_readable, this));
    event_add(impl_->read_event.get(), nullptr);
  }
  impl_->notify_event.reset(event_new(base_, -1, 0, &MailboxRegistry::on_notify, this));
  if (!impl_->inotify) start_polling();
}

void MailboxRegistry::start_polling() {
  if (base_ == nullptr) return;
  if (!impl_->poll_event) {
    impl_->poll_event.reset(event_new(base_, -1, EV_PERSIST, &MailboxRegistry::on_poll, this));
  }
  if (event_pending(impl_->poll_event.get(), EV_TIMEOUT, nullptr)) return;
  struct timeval every {
    kPollMilliseconds / 1000, (kPollMilliseconds % 1000) * 1000
  };
  event_add(impl_->poll_event.get(), &every);
}

MailboxRegistry::~MailboxRegistry() = default;

Result<std::shared_ptr<Mailbox>> MailboxRegistry::open(const std::string& folder_path) {
  char* real = ::realpath(folder_path.c_str(), nullptr);
  if (real == nullptr) {
    if (errno == ENOENT) return store_error(ErrorKind::kNotFound, "NONEXISTENT", "no such mailbox");
    return server_error(Error::system("realpath " + folder_path));
  }
  std::string path(real);
  std::free(real);
  if (auto it = mailboxes_.find(path); it != mailboxes_.end()) {
    if (auto alive = it->second.lock()) return alive;
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return store_error(ErrorKind::kNotFound, "NONEXISTENT", "no such mailbox");
  }
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    if (::mkdir((path + sub).c_str(), kDirMode) != 0 && errno != EEXIST) {
      return server_error(Error::system("mkdir " + path + sub));
    }
  }
  std::shared_ptr<Mailbox> mailbox(new Mailbox(*this, path));
  add_watches(*mailbox);  // before the first scan: nothing that lands after it is missed
  if (Status s = mailbox->open_index(); !s) return server_error(s.error());
  mailboxes_[path] = mailbox;
  if (auto synced = mailbox->sync(); !synced) return synced.error();
  return mailbox;
}

void MailboxRegistry::add_watches(Mailbox& mailbox) {
  if (!impl_->inotify) return;
  auto add = [&](const std::string& path, uint32_t mask, WatchKind kind) {
    int wd = inotify_add_watch(impl_->inotify.get(), path.c_str(), mask);
    if (wd < 0) {
      log::warning("imapd: inotify_add_watch {}: {}: checked by mtime once a second", path,
                   Error::system("").describe());
      return -1;
    }
    impl_->watches[wd] = Private::Watch{&mailbox, kind};
    return wd;
  };
  Mailbox::Private& m = *mailbox.impl_;
  m.wd_new = add(mailbox.path_ + "/new", kDirMask, WatchKind::kNew);
  m.wd_cur = add(mailbox.path_ + "/cur", kDirMask, WatchKind::kCur);
  m.wd_folder = add(mailbox.path_, kFolderMask, WatchKind::kFolder);
  if (m.wd_new < 0 || m.wd_cur < 0 || m.wd_folder < 0) start_polling();
}

void MailboxRegistry::remove_watches(Mailbox& mailbox) {
  Mailbox::Private& m = *mailbox.impl_;
  for (int* wd : {&m.wd_new, &m.wd_cur, &m.wd_folder}) {
    if (*wd < 0) continue;
    auto it = impl_->watches.find(*wd);
    if (it != impl_->watches.end() && it->second.mailbox == &mailbox) {
      if (impl_->inotify) inotify_rm_watch(impl_->inotify.get(), *wd);
      impl_->watches.erase(it);
    }
    *wd = -1;
  }
}

void MailboxRegistry::expect_event(int wd, const std::string& name) {
  if (wd >= 0) impl_->expected.emplace(wd, name);
}

void MailboxRegistry::settle_own_changes() {
  drain_events();
  // Every event of a completed rename is queued by the time it returns: what is left was not
  // seen (an overflow), so those folders are rescanned.
  for (const auto& [wd, name] : impl_->expected) {
    auto it = impl_->watches.find(wd);
    if (it == impl_->watches.end()) continue;
    Mailbox::Private& m = *it->second.mailbox->impl_;
    (it->second.kind == WatchKind::kNew ? m.new_dirty : m.cur_dirty) = true;
  }
  impl_->expected.clear();
}

void MailboxRegistry::drain_events() {
  if (!impl_->inotify) return;
  alignas(struct inotify_event) char buffer[kEventBufferBytes];
  for (int round = 0; round < kMaxDrainReads; ++round) {
    ssize_t n = ::read(impl_->inotify.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    for (size_t pos = 0; pos + sizeof(struct inotify_event) <= static_cast<size_t>(n);) {
      const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + pos);
      pos += sizeof(struct inotify_event) + event->len;
      if (event->mask & IN_Q_OVERFLOW) {
        log::warning("imapd: inotify queue overflow: rescanning open folders");
        impl_->expected.clear();
        for (auto& [path, weak] : mailboxes_) {
          if (auto alive = weak.lock()) {
            alive->impl_->new_dirty = alive->impl_->cur_dirty = true;
            schedule(*alive, false);
          }
        }
        continue;
      }
      auto it = impl_->watches.find(event->wd);
      if (it == impl_->watches.end()) continue;
      Mailbox& mailbox = *it->second.mailbox;
      Mailbox::Private& m = *mailbox.impl_;
      WatchKind kind = it->second.kind;
      std::string name = event->len > 0 ? std::string(event->name) : std::string();
      if (event->mask & IN_IGNORED) {  // the directory went away: fall back to mtimes
        (kind == WatchKind::kNew   ? m.wd_new
         : kind == WatchKind::kCur ? m.wd_cur
                                   : m.wd_folder) = -1;
        impl_->watches.erase(it);
        m.new_dirty = m.cur_dirty = true;
        schedule(mailbox, false);
        start_polling();
        continue;
      }
      if (kind == WatchKind::kFolder) {
        if (name != kIndexFileName) continue;
        if (event->mask & (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) m.reopen = true;
        schedule(mailbox, false);
        continue;
      }
      auto own = impl_->expected.find({event->wd, name});
      if (own != impl_->expected.end()) {
        impl_->expected.erase(own);
        continue;
      }
      (kind == WatchKind::kNew ? m.new_dirty : m.cur_dirty) = true;
      schedule(mailbox, false);
    }
  }
}

void MailboxRegistry::schedule(Mailbox& mailbox, bool forced) {
  if (!impl_->notify_event) return;  // no event loop: nobody to call
  Mailbox::Private& m = *mailbox.impl_;
  m.notify_forced = m.notify_forced || forced;
  if (!m.notify_scheduled) {
    std::weak_ptr<Mailbox> weak = mailbox.weak_from_this();
    if (weak.expired()) return;  // still being opened: open() syncs it
    m.notify_scheduled = true;
    impl_->pending.push_back(std::move(weak));
  }
  event_active(impl_->notify_event.get(), 0, 0);
}

void MailboxRegistry::run_pending() {
  std::vector<std::weak_ptr<Mailbox>> pending = std::move(impl_->pending);
  impl_->pending.clear();
  for (const std::weak_ptr<Mailbox>& weak : pending) {
    std::shared_ptr<Mailbox> mailbox = weak.lock();
    if (!mailbox) continue;
    bool forced = mailbox->impl_->notify_forced;
    mailbox->impl_->notify_scheduled = false;
    mailbox->impl_->notify_forced = false;
    if (!forced) {
      // A change check: sync() schedules the callbacks (forced) when it loaded something.
      if (auto synced = mailbox->sync(); !synced) {
        log::warning("imapd: sync {}: {}", mailbox->path_, synced.error().message);
      }
      continue;
    }
    mailbox->notify_listeners();
  }
}

void MailboxRegistry::rename_path(const std::string& from, const std::string& to) {
  auto it = mailboxes_.find(from);
  if (it == mailboxes_.end()) return;
  std::weak_ptr<Mailbox> weak = std::move(it->second);
  mailboxes_.erase(it);
  if (auto alive = weak.lock()) {
    alive->path_ = to;
    mailboxes_[to] = weak;
  }
}

void MailboxRegistry::mark_deleted(const std::string& path) {
  auto it = mailboxes_.find(path);
  if (it == mailboxes_.end()) return;
  std::shared_ptr<Mailbox> alive = it->second.lock();
  mailboxes_.erase(it);
  if (!alive) return;
  alive->deleted_ = true;
  remove_watches(*alive);
  schedule(*alive, true);
}

}  // namespace postern::imapd
