// What every postern daemon with a listening socket (smtpd, submission, imapd) does around its
// sessions: accept on the master's socket (fd 3) with an evconnlistener, set each connection
// non-blocking and TCP_NODELAY, own every session and free a finished one from a separate
// event (never inside its own callback), and the graceful stop: stop accepting (new clients
// wait in the master's socket for a successor), tell every open session, and leave the event
// loop once none is left. The daemon's server class decides what a new connection becomes
// (limits, refusals) in its on_accept. Trusts the master's socket.
#pragma once

#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/net/network_list.hpp"
#include "lib/base/result.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern {

// A connection's session as SessionServer holds it.
class ServerSession {
 public:
  virtual ~ServerSession() = default;
  // The process is stopping: end the session (at once or when its transaction is done); the
  // session retires itself when it has.
  virtual void server_stopping() = 0;
};

class SessionServer {
 public:
  // Called with each accepted connection (non-blocking, TCP_NODELAY) and its peer address;
  // it makes the session with adopt() and starts it. Connections from non-IP peers are closed
  // before this.
  using OnAccept = std::function<void(evutil_socket_t fd, const IpBytes& ip)>;

  SessionServer(event_base* base, OnAccept on_accept);
  SessionServer(const SessionServer&) = delete;
  SessionServer& operator=(const SessionServer&) = delete;
  ~SessionServer();

  // Starts accepting on listen_fd (taken over).
  Status listen(UniqueFd listen_fd);
  // Graceful stop (idempotent).
  void stop();

  template <class Session>
  Session* adopt(std::unique_ptr<Session> session) {
    Session* raw = session.get();
    sessions_.emplace(raw, std::move(session));
    return raw;
  }
  // A session that is done: freed soon, outside the callback that is running now.
  void retire(ServerSession* session);
  bool stopping() const { return stopping_; }
  size_t session_count() const { return sessions_.size(); }

 private:
  static void on_accept(evconnlistener* listener, evutil_socket_t fd, sockaddr* address,
                        int address_length, void* arg);
  static void on_accept_error(evconnlistener* listener, void* arg);
  static void on_reap(evutil_socket_t fd, short what, void* arg);
  void maybe_exit();

  event_base* base_;
  OnAccept on_accept_;
  ListenerHandle listener_;
  SingleEventHandle reaper_;
  std::unordered_map<ServerSession*, std::unique_ptr<ServerSession>> sessions_;
  std::vector<std::unique_ptr<ServerSession>> retired_;
  bool stopping_ = false;
};

}  // namespace postern
