// qmgr's client for private/delivery, private/relay and private/local: pooled Unix-socket
// connections, one request and one reply at a time on each, with a reply timeout. An idle
// connection is checked before it is reused (a service that restarted meanwhile has closed it:
// it is dropped and another taken). A request is never sent twice: once it went out, a
// connection that closes before the reply means the service may have done the work and died
// before answering, so the failure goes back to the caller, who leaves the recipients pending
// and logs the deferral; the later retry is the documented duplicate window, visible in the log.
// (Sending it again at once on a fresh connection made such duplicates silent.) Replies are
// decoded with lib/queue/ipc.hpp's bounds; nothing in them is trusted beyond that here.
#include "delivery_client.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "lib/base/log.hpp"

namespace postern {

struct ServiceClient::Connection {
  ServiceClient* owner = nullptr;
  bufferevent* bev = nullptr;
  std::list<std::unique_ptr<Connection>>::iterator self;
  bool busy = false;
  std::string frame;
  Callback done;
};

namespace {

// Calls back from the event loop, never from inside call() (the caller may not be ready).
struct LaterCall {
  ServiceClient::Callback done;
  Error error;
};

void run_later(int, short, void* arg) {
  std::unique_ptr<LaterCall> later(static_cast<LaterCall*>(arg));
  later->done(later->error);
}

}  // namespace

ServiceClient::ServiceClient(event_base* base, std::string socket_path, int reply_timeout_seconds)
    : base_(base),
      socket_path_(std::move(socket_path)),
      reply_timeout_seconds_(reply_timeout_seconds) {}

ServiceClient::~ServiceClient() {
  for (auto& conn : connections_) bufferevent_free(conn->bev);
}

ServiceClient::Connection* ServiceClient::open_connection() {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof addr.sun_path) return nullptr;
  std::memcpy(addr.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return nullptr;
  bufferevent* bev = bufferevent_socket_new(base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    int saved = errno;
    ::close(fd);  // not yet owned by anything else
    errno = saved;
    return nullptr;
  }
  if (bufferevent_socket_connect(bev, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int saved = errno;
    bufferevent_free(bev);
    errno = saved;
    return nullptr;
  }
  auto conn = std::make_unique<Connection>();
  conn->owner = this;
  conn->bev = bev;
  connections_.push_front(std::move(conn));
  Connection* raw = connections_.front().get();
  raw->self = connections_.begin();
  bufferevent_setcb(bev, &ServiceClient::on_read, nullptr, &ServiceClient::on_event, raw);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
  return raw;
}

// An idle pooled connection the service has not closed (nor written to: it has nothing to say
// between requests).
bool ServiceClient::still_open(Connection* conn) {
  char byte = 0;
  ssize_t n = ::recv(bufferevent_getfd(conn->bev), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void ServiceClient::call(const AttrRecord& request, Callback done) {
  Connection* conn = nullptr;
  for (auto it = connections_.begin(); it != connections_.end();) {
    Connection* candidate = (it++)->get();
    if (candidate->busy) continue;
    if (still_open(candidate)) {
      conn = candidate;
      break;
    }
    drop(candidate);
  }
  if (!conn) conn = open_connection();
  if (!conn) {
    auto* later = new LaterCall{std::move(done), Error::system("connect " + socket_path_)};
    timeval zero{0, 0};
    if (event_base_once(base_, -1, EV_TIMEOUT, &run_later, later, &zero) != 0) {
      log::panic("event_base_once failed");
    }
    return;
  }
  conn->frame = request.encode();
  conn->done = std::move(done);
  conn->busy = true;
  ++busy_count_;
  start(conn);
}

void ServiceClient::start(Connection* conn) {
  timeval timeout{reply_timeout_seconds_, 0};
  bufferevent_set_timeouts(conn->bev, &timeout, &timeout);
  bufferevent_write(conn->bev, conn->frame.data(), conn->frame.size());
}

void ServiceClient::on_read(bufferevent* bev, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  ServiceClient* self = conn->owner;
  evbuffer* input = bufferevent_get_input(bev);
  if (!conn->busy) {  // nothing was asked: a confused peer
    self->drop(conn);
    return;
  }
  std::optional<Result<AttrRecord>> record = take_attr_record(input);
  if (!record) return;
  bool keep = record->ok() && evbuffer_get_length(input) == 0;
  self->finish(conn, std::move(*record), keep);
}

void ServiceClient::on_event(bufferevent*, short what, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  ServiceClient* self = conn->owner;
  if (what & BEV_EVENT_CONNECTED) return;
  if (!conn->busy) {
    self->drop(conn);
    return;
  }
  const int err = EVUTIL_SOCKET_ERROR();  // meaningful for BEV_EVENT_ERROR only
  const bool timed_out = (what & BEV_EVENT_TIMEOUT) != 0;
  const bool closed = (what & BEV_EVENT_EOF) != 0;
  std::string what_text = timed_out ? "timeout waiting for the reply"
                          : closed  ? "connection closed before the reply"
                                    : "connection error";
  int code = timed_out ? ETIMEDOUT : closed ? ECONNRESET : (err != 0 ? err : ECONNRESET);
  Error error = Error::system(self->socket_path_ + ": " + what_text, code);
  self->finish(conn, error, false);
}

void ServiceClient::finish(Connection* conn, Result<AttrRecord> result, bool keep) {
  conn->busy = false;
  --busy_count_;
  Callback done = std::move(conn->done);
  conn->done = nullptr;
  conn->frame.clear();
  size_t idle = 0;
  for (auto& other : connections_) idle += other->busy ? 0 : 1;
  if (keep && idle <= kMaxIdleConnections) {
    bufferevent_set_timeouts(conn->bev, nullptr, nullptr);  // idle: wait without a deadline
  } else {
    drop(conn);
  }
  done(std::move(result));
}

void ServiceClient::drop(Connection* conn) {
  if (conn->busy) {
    conn->busy = false;
    --busy_count_;
  }
  bufferevent_free(conn->bev);
  connections_.erase(conn->self);
}

}  // namespace postern
