// qmgr's private/qmgr listener: one nudge record in, "status=ok" out, connection closed; any other
// request goes to the control handler and its reply goes out. Runs in postern-qmgr. A malformed
// record, a second record or a silent peer just loses its connection; the queue scan every second
// makes up for any nudge that never arrives.
#include "nudge_listener.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/base/log.hpp"
#include "lib/queue/ipc.hpp"
#include "lib/queue/queue_dir.hpp"

namespace postern {

NudgeListener::NudgeListener(event_base* base, UniqueFd listen_fd, Handler handler,
                             ControlHandler control_handler)
    : base_(base), handler_(std::move(handler)), control_handler_(std::move(control_handler)) {
  listener_ = evconnlistener_new(base_, &NudgeListener::on_accept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd.get());
  if (!listener_) log::fatal("cannot listen on the qmgr socket");
  listen_fd.release();  // the listener owns it now
}

NudgeListener::~NudgeListener() {
  stop();
}

void NudgeListener::stop() {
  if (listener_) {
    evconnlistener_free(listener_);
    listener_ = nullptr;
  }
  for (bufferevent* bev : connections_) bufferevent_free(bev);
  connections_.clear();
  closing_.clear();
}

void NudgeListener::on_accept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  auto* self = static_cast<NudgeListener*>(arg);
  if (self->connections_.size() >= kMaxNudgeConnections) {
    UniqueFd drop(fd);  // the sender's nudge fails; the scan finds its file anyway
    return;
  }
  bufferevent* bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    UniqueFd drop(fd);
    return;
  }
  self->connections_.insert(bev);
  timeval timeout{kNudgeTimeoutSeconds, 0};
  bufferevent_set_timeouts(bev, &timeout, &timeout);
  bufferevent_setcb(bev, &NudgeListener::on_read, &NudgeListener::on_write,
                    &NudgeListener::on_event, self);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void NudgeListener::on_read(bufferevent* bev, void* arg) {
  auto* self = static_cast<NudgeListener*>(arg);
  if (self->closing_.count(bev)) {
    evbuffer_drain(bufferevent_get_input(bev), evbuffer_get_length(bufferevent_get_input(bev)));
    return;
  }
  std::optional<Result<AttrRecord>> record = take_attr_record(bufferevent_get_input(bev));
  if (!record) return;
  if (!record->ok()) {
    self->close_connection(bev);
    return;
  }
  const std::optional<std::string_view> request = record->value().get("request");
  if (request != std::optional<std::string_view>("nudge")) {
    if (!self->control_handler_) {
      self->close_connection(bev);
      return;
    }
    // The handler may take a while (a batch of renames and their fsyncs): it is the admin's
    // request, answered before the next event.
    std::string frame = self->control_handler_(record->value()).encode();
    bufferevent_write(bev, frame.data(), frame.size());
    self->closing_.insert(bev);
    return;
  }
  std::optional<std::string> queue_id;
  if (auto id = record->value().get("queue_id"); id && is_queue_id(*id))
    queue_id = std::string(*id);
  AttrRecord reply;
  reply.add("status", "ok");
  std::string frame = reply.encode();
  bufferevent_write(bev, frame.data(), frame.size());
  self->closing_.insert(bev);
  self->handler_(std::move(queue_id));
}

void NudgeListener::on_write(bufferevent* bev, void* arg) {
  auto* self = static_cast<NudgeListener*>(arg);
  if (self->closing_.count(bev) && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    self->close_connection(bev);
  }
}

void NudgeListener::on_event(bufferevent* bev, short, void* arg) {
  static_cast<NudgeListener*>(arg)->close_connection(bev);
}

void NudgeListener::close_connection(bufferevent* bev) {
  closing_.erase(bev);
  if (connections_.erase(bev)) bufferevent_free(bev);
}

}  // namespace postern
