// One connection to one milter for one SMTP session (or one picked-up message): the socket
// (unix, inet or inet6, connected without blocking), option negotiation, packets written, and
// replies read back one at a time with a timeout, all on the caller's libevent loop. The chain
// (milter_chain.hpp) decides what to send and what a reply means; this class only moves bytes.
// Used by smtpd, submission and pickup.
// A milter is a separate program, often remote: every byte it sends is untrusted. A packet
// over kMaxMilterPacketBytes, a reply that does not decode, end of file or a timeout marks the
// connection failed (the reason is kept for the log line) and the waiting handler hears the
// error; a failed connection writes nothing more.
#pragma once

#include <event2/event.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lib/base/event_handles.hpp"
#include "lib/base/result.hpp"
#include "lib/milter/milter_protocol.hpp"
#include "lib/milter/milter_settings.hpp"

namespace postern::milter {

class MilterClient {
 public:
  using ReplyHandler = std::function<void(Result<MilterReply>)>;
  using OpenDone = std::function<void(Status)>;

  MilterClient(event_base* base, const MilterSpec& spec);
  MilterClient(const MilterClient&) = delete;
  MilterClient& operator=(const MilterClient&) = delete;
  ~MilterClient();

  // Connects (connect_timeout) and negotiates (command_timeout); done(error) when either fails.
  void open(OpenDone done);
  const MilterNegotiation& negotiation() const { return negotiation_; }
  const MilterSpec& spec() const { return spec_; }

  bool failed() const { return failed_; }
  const std::string& failure() const { return failure_; }

  // Queues bytes (whole packets) for the milter; nothing once failed.
  void write(std::string_view packets);
  // The next reply packet goes to handler, or the error when none comes within timeout. The
  // handler may call await() again (progress, end-of-message actions). Never calls handler
  // before returning.
  void await(std::chrono::milliseconds timeout, ReplyHandler handler);
  // Calls done (from the loop) once fewer than low_bytes wait to be written, so that a milter
  // that answers nothing (no-reply flags) cannot make us buffer a whole message.
  void when_drained(size_t low_bytes, std::function<void()> done);
  // SMFIC_QUIT and close; idempotent.
  void quit();

 private:
  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  static void on_timer(evutil_socket_t fd, short what, void* arg);
  static void on_wake(evutil_socket_t fd, short what, void* arg);

  void fail(std::string reason);
  void dispatch();
  void arm_timer(std::chrono::milliseconds timeout);
  void negotiated(Result<MilterReply> reply);

  event_base* base_;
  MilterSpec spec_;
  BufferEventHandle bev_;
  SingleEventHandle timer_;
  SingleEventHandle wake_;  // runs dispatch() from the loop
  MilterPacketReader reader_;
  MilterNegotiation negotiation_;
  OpenDone open_done_;
  ReplyHandler handler_;
  std::function<void()> drained_;
  size_t drain_low_ = 0;
  bool connecting_ = false;
  bool failed_ = false;
  bool in_dispatch_ = false;
  std::string failure_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace postern::milter
