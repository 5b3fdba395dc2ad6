// One milter connection on the event loop (see milter_client.hpp).
#include "lib/milter/milter_client.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "lib/base/log.hpp"

namespace postern::milter {
namespace {

// The protocol options a version has (Postfix offers no more than that): version 2 knows the
// NO* steps, 3 adds UNKNOWN and NR_HDR, 4 adds DATA, 6 everything else (no-reply steps, SKIP,
// the rejected-recipient step, leading space).
uint32_t offered_protocol(uint32_t version) {
  if (version >= 6) return kAllMilterProtocolFlags;
  uint32_t flags =
      kNoConnect | kNoHelo | kNoMail | kNoRcpt | kNoBody | kNoHeaders | kNoEndOfHeaders;
  if (version >= 3) flags |= kNoReplyHeader | kNoUnknown;
  if (version >= 4) flags |= kNoData;
  return flags;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  return timeval{static_cast<time_t>(ms.count() / 1000),
                 static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

}  // namespace

MilterClient::MilterClient(event_base* base, const MilterSpec& spec) : base_(base), spec_(spec) {
  timer_.reset(evtimer_new(base_, on_timer, this));
  wake_.reset(event_new(base_, -1, 0, on_wake, this));
}

MilterClient::~MilterClient() {
  *alive_ = false;
}

void MilterClient::open(OpenDone done) {
  open_done_ = std::move(done);
  bev_.reset(bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE));
  if (!bev_ || !timer_ || !wake_) {
    fail("cannot allocate a connection");
    return;
  }
  bufferevent_setcb(bev_.get(), on_read, on_write, on_event, this);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  connecting_ = true;
  arm_timer(spec_.connect_timeout);
  if (bufferevent_socket_connect(bev_.get(), reinterpret_cast<sockaddr*>(&spec_.address.storage),
                                 static_cast<int>(spec_.address.length)) != 0) {
    fail("connect: " + std::string(evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR())));
  }
}

void MilterClient::arm_timer(std::chrono::milliseconds timeout) {
  timeval tv = to_timeval(timeout);
  evtimer_add(timer_.get(), &tv);
}

void MilterClient::write(std::string_view packets) {
  if (failed_ || !bev_) return;
  bufferevent_write(bev_.get(), packets.data(), packets.size());
}

void MilterClient::await(std::chrono::milliseconds timeout, ReplyHandler handler) {
  handler_ = std::move(handler);
  if (failed_) {
    event_active(wake_.get(), 0, 0);  // the handler hears the failure from the loop
    return;
  }
  arm_timer(timeout);
  if (!in_dispatch_ && reader_.buffered() > 0) event_active(wake_.get(), 0, 0);
}

void MilterClient::when_drained(size_t low_bytes, std::function<void()> done) {
  drained_ = std::move(done);
  drain_low_ = low_bytes;
  if (failed_ || !bev_ || evbuffer_get_length(bufferevent_get_output(bev_.get())) < low_bytes) {
    event_active(wake_.get(), 0, 0);
    return;
  }
  bufferevent_setwatermark(bev_.get(), EV_WRITE, low_bytes, 0);
}

void MilterClient::quit() {
  if (bev_ && !failed_ && !connecting_) {
    // Best effort: the milter learns the session is over; we do not wait for the bytes to go.
    std::string packet = encode_simple(MilterCommand::kQuit);
    ::send(bufferevent_getfd(bev_.get()), packet.data(), packet.size(),
           MSG_NOSIGNAL | MSG_DONTWAIT);
  }
  failed_ = true;
  if (failure_.empty()) failure_ = "closed";
  bev_.reset();
  if (timer_) evtimer_del(timer_.get());
}

void MilterClient::fail(std::string reason) {
  if (failed_) return;
  failed_ = true;
  failure_ = std::move(reason);
  bev_.reset();
  if (timer_) evtimer_del(timer_.get());
  if (wake_) event_active(wake_.get(), 0, 0);
}

// ---- callbacks -----------------------------------------------------------------------------

void MilterClient::on_event(bufferevent*, short what, void* arg) {
  auto* self = static_cast<MilterClient*>(arg);
  if (what & BEV_EVENT_CONNECTED) {
    self->connecting_ = false;
    self->write(encode_option_negotiation(self->spec_.protocol, kAllMilterActions,
                                          offered_protocol(self->spec_.protocol)));
    self->await(self->spec_.command_timeout,
                [self](Result<MilterReply> reply) { self->negotiated(std::move(reply)); });
    return;
  }
  if (what & BEV_EVENT_EOF) {
    self->fail(self->connecting_ ? "connection refused" : "connection closed by the milter");
  } else {
    int err = EVUTIL_SOCKET_ERROR();
    self->fail(std::string(self->connecting_ ? "connect: " : "") +
               evutil_socket_error_to_string(err));
  }
}

void MilterClient::negotiated(Result<MilterReply> reply) {
  OpenDone done = std::move(open_done_);
  open_done_ = nullptr;
  if (!reply) {
    done(reply.error());
    return;
  }
  Result<MilterNegotiation> agreed =
      negotiate(*reply, kAllMilterActions, offered_protocol(spec_.protocol));
  if (!agreed) {
    fail("option negotiation: " + agreed.error().message);
    done(Error::parse(failure_));
    return;
  }
  if (agreed->version > spec_.protocol) {
    fail("option negotiation: the milter answered version " + std::to_string(agreed->version));
    done(Error::parse(failure_));
    return;
  }
  negotiation_ = std::move(agreed).value();
  // Steps the milter's version does not know are never sent to it.
  if (negotiation_.version < 4) negotiation_.protocol |= kNoData;
  if (negotiation_.version < 3) negotiation_.protocol |= kNoUnknown;
  if (timer_) evtimer_del(timer_.get());
  done(Status::success());
}

void MilterClient::on_read(bufferevent* bev, void* arg) {
  auto* self = static_cast<MilterClient*>(arg);
  evbuffer* in = bufferevent_get_input(bev);
  // Bounded: at most one packet beyond what was handed out stays buffered in the reader.
  while (evbuffer_get_length(in) > 0) {
    char chunk[16384];
    int n = evbuffer_remove(in, chunk, sizeof chunk);
    if (n <= 0) break;
    self->reader_.feed(std::string_view(chunk, static_cast<size_t>(n)));
    if (self->reader_.buffered() > kMaxMilterPacketBytes + 5) break;
  }
  self->dispatch();
}

void MilterClient::on_write(bufferevent*, void* arg) {
  auto* self = static_cast<MilterClient*>(arg);
  if (self->drained_) event_active(self->wake_.get(), 0, 0);
}

void MilterClient::on_timer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<MilterClient*>(arg);
  self->fail(self->connecting_ ? "connect timeout" : "timeout waiting for a reply");
}

void MilterClient::on_wake(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<MilterClient*>(arg);
  std::shared_ptr<bool> alive = self->alive_;
  if (self->drained_ &&
      (self->failed_ || !self->bev_ ||
       evbuffer_get_length(bufferevent_get_output(self->bev_.get())) < self->drain_low_)) {
    std::function<void()> done = std::move(self->drained_);
    self->drained_ = nullptr;
    if (self->bev_) bufferevent_setwatermark(self->bev_.get(), EV_WRITE, 0, 0);
    done();
    if (!*alive) return;
  }
  self->dispatch();
}

void MilterClient::dispatch() {
  if (in_dispatch_) return;
  std::shared_ptr<bool> alive = alive_;
  if (failed_ && open_done_) {  // the connection failed before negotiation began
    OpenDone done = std::move(open_done_);
    open_done_ = nullptr;
    done(Error::temporary(failure_));
    return;
  }
  in_dispatch_ = true;
  while (handler_) {
    Result<MilterReply> reply = Error::parse("");
    if (failed_) {
      reply = Error::temporary(failure_);
    } else {
      std::optional<Result<MilterPacket>> packet = reader_.next();
      if (!packet) break;  // wait for more bytes
      if (!*packet) {
        fail("bad reply: " + packet->error().message);
        reply = Error::temporary(failure_);
      } else {
        reply = decode_reply(**packet);
        if (!reply) {
          fail("bad reply: " + reply.error().message);
          reply = Error::temporary(failure_);
        } else if (reply->kind == MilterReply::Kind::kProgress) {
          arm_timer(spec_.content_timeout);  // still working: the wait starts again
          continue;
        }
      }
    }
    if (!failed_ && timer_) evtimer_del(timer_.get());
    ReplyHandler handler = std::move(handler_);
    handler_ = nullptr;
    handler(std::move(reply));
    if (!*alive) return;
  }
  in_dispatch_ = false;
}

}  // namespace postern::milter
