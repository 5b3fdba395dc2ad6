// The qmgr nudge of postern-smtpd (see qmgr_nudge.hpp). Trusts qmgr's socket (our own queue
// directory); the reply is framed and bounded by lib/queue/ipc and otherwise ignored.
#include "smtpd/qmgr_nudge.hpp"

#include <event2/buffer.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "lib/queue/ipc.hpp"
#include "lib/base/log.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::smtpd {
namespace {

// A non-blocking connect to a Unix socket: done at once, or an errno.
int connect_unix(const std::string& path, UniqueFd* out) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path) return ENAMETOOLONG;
  std::memcpy(address.sun_path, path.data(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    return errno;  // EAGAIN: qmgr's backlog is full; it is busy and will scan anyway
  }
  *out = std::move(fd);
  return 0;
}

}  // namespace

QmgrNudge::QmgrNudge(event_base* base, const QueueLayout& queue)
    : base_(base), paths_{queue.private_dir() + "/qmgr", queue.public_dir() + "/qmgr"} {}

void QmgrNudge::nudge(std::string_view queue_id) {
  if (in_flight_) {
    if (waiting_.size() < kMaxWaitingNudges) {
      waiting_.emplace_back(queue_id);
    } else {
      waiting_overflow_ = true;
    }
    return;
  }
  start(std::string(queue_id));
}

void QmgrNudge::start(const std::optional<std::string>& queue_id) {
  UniqueFd fd;
  int err = connect_unix(paths_[preferred_], &fd);
  if (err == ENOENT && connect_unix(paths_[1 - preferred_], &fd) == 0) {
    preferred_ = 1 - preferred_;
    err = 0;
  }
  if (err != 0) {
    log::debug("{}: qmgr nudge failed (qmgr scans incoming/ anyway): connect {}: {}",
               queue_id.value_or("NOQUEUE"), paths_[preferred_], std::strerror(err));
    return;
  }
  bufferevent* bev = bufferevent_socket_new(base_, fd.get(), BEV_OPT_CLOSE_ON_FREE);
  if (bev == nullptr) return;
  fd.release();
  in_flight_.reset(bev);
  AttrRecord request;
  request.add("request", "nudge");
  if (queue_id) request.add("queue_id", *queue_id);
  std::string frame = request.encode();
  bufferevent_write(bev, frame.data(), frame.size());
  timeval deadline{kNudgeTimeoutMs / 1000, (kNudgeTimeoutMs % 1000) * 1000};
  bufferevent_set_timeouts(bev, &deadline, &deadline);
  bufferevent_setcb(bev, on_read, nullptr, on_event, this);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void QmgrNudge::on_read(bufferevent* bev, void* arg) {
  auto* self = static_cast<QmgrNudge*>(arg);
  std::optional<Result<AttrRecord>> reply = take_attr_record(bufferevent_get_input(bev));
  if (!reply) return;  // not a whole record yet
  if (!reply->ok()) log::debug("qmgr nudge: bad reply: {}", reply->error().describe());
  self->finish();
}

void QmgrNudge::on_event(bufferevent*, short what, void* arg) {
  auto* self = static_cast<QmgrNudge*>(arg);
  log::debug("qmgr nudge: {} before the reply",
             (what & BEV_EVENT_TIMEOUT) ? "timeout" : "connection closed");
  self->finish();
}

void QmgrNudge::finish() {
  in_flight_.reset();
  if (waiting_.empty() && !waiting_overflow_) return;
  std::optional<std::string> next;
  if (waiting_.size() == 1 && !waiting_overflow_) next = waiting_.front();
  waiting_.clear();
  waiting_overflow_ = false;
  start(next);
}

}  // namespace postern::smtpd
