// The postern-relay service loop on private/relay (fd 3 from master): accepts qmgr's
// connections and reads request records through an IpcServer (lib/queue/ipc_server.hpp), runs each as
// a RelayJob and writes its reply when the job is done. A connection carries one request at a
// time, any number one after the other; many connections (and so many deliveries) run at once,
// each destination bounded by the DestinationPool. Owns the resolver, the pool, the TLS client
// context and the credentials table. Trusts only local peers that can reach the private socket,
// and checks every record even then. Bounded by kMaxRelayConnections and the IPC record limit.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>

#include "lib/queue/ipc_server.hpp"
#include "lib/store/lookup_table.hpp"
#include "lib/net/mx_resolver.hpp"
#include "lib/net/tls_client.hpp"
#include "lib/base/unique_fd.hpp"
#include "relay/destination_pool.hpp"
#include "relay/relay_job.hpp"
#include "relay/relay_settings.hpp"

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
  Status handle(AttrRecord record, IpcServer::ReplyFn reply);
  void job_done(uint64_t job_id, AttrRecord reply);
  void dispatch(uint64_t job_id, std::unique_ptr<SmtpClient> client,
                std::optional<RecipientResult> failure);
  Result<std::optional<Credentials>> find_credentials(const NextHop& hop);

  event_base* base_;
  RelaySettings settings_;
  std::unique_ptr<TlsClientContext> tls_;
  std::unique_ptr<MxResolver> resolver_;
  std::optional<LookupTable> credentials_table_;
  DestinationPool pool_;
  RelayContext context_;
  IpcServer server_;
  std::map<uint64_t, std::unique_ptr<RelayJob>> jobs_;  // after the pool: destroyed first
  std::map<uint64_t, IpcServer::ReplyFn> job_replies_;  // job -> its connection's reply
  uint64_t next_job_id_ = 1;
};

}  // namespace postern::relay
