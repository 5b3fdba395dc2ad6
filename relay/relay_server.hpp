// The postern-relay service loop on private/relay (fd 3 from master): accepts qmgr's
// connections, reads request records (lib/ipc.hpp), runs each as a RelayJob and writes its reply
// when the job is done. A connection carries one request at a time, any number one after the
// other; many connections (and so many deliveries) run at once, each destination bounded by the
// DestinationPool. Owns the resolver, the pool, the TLS client context and the credentials
// table. Trusts only local peers that can reach the private socket, and checks every record
// even then. Bounded by kMaxRelayConnections and the IPC record limit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "lib/lookup_table.hpp"
#include "lib/mx_resolver.hpp"
#include "lib/tls_client.hpp"
#include "lib/unique_fd.hpp"
#include "relay/destination_pool.hpp"
#include "relay/relay_job.hpp"
#include "relay/relay_settings.hpp"

struct evconnlistener;

namespace postern::relay {

inline constexpr size_t kMaxRelayConnections = 1024;

class RelayServer {
 public:
  // tls: null when smtp_tls_security_level is none and wrappermode is off.
  RelayServer(event_base* base, UniqueFd listen_fd, RelaySettings settings,
              std::unique_ptr<TlsClientContext> tls, std::unique_ptr<MxResolver> resolver);
  RelayServer(const RelayServer&) = delete;
  RelayServer& operator=(const RelayServer&) = delete;
  ~RelayServer();

  // Stops accepting; on_stopped runs when every job in progress has answered.
  void stop(std::function<void()> on_stopped);

 private:
  struct Connection {
    RelayServer* server = nullptr;
    uint64_t id = 0;
    bufferevent* bev = nullptr;
    uint64_t job_id = 0;  // 0: none in progress
  };
  static void on_accept(evconnlistener* listener, int fd, sockaddr* addr, int len, void* arg);
  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  void serve(Connection* conn);
  void job_done(uint64_t job_id, AttrRecord reply);
  void dispatch(uint64_t job_id, std::unique_ptr<SmtpClient> client,
                std::optional<RecipientResult> failure);
  Result<std::optional<Credentials>> find_credentials(const NextHop& hop);
  bool idle(const Connection* conn) const;
  void close_connection(Connection* conn);
  void check_stopped();

  event_base* base_;
  evconnlistener* listener_ = nullptr;
  RelaySettings settings_;
  std::unique_ptr<TlsClientContext> tls_;
  std::unique_ptr<MxResolver> resolver_;
  std::optional<LookupTable> credentials_table_;
  DestinationPool pool_;
  RelayContext context_;
  std::map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::map<uint64_t, std::unique_ptr<RelayJob>> jobs_;  // after the pool: destroyed first
  std::map<uint64_t, uint64_t> job_connection_;         // job -> connection
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::function<void()> on_stopped_;
};

}  // namespace postern::relay
