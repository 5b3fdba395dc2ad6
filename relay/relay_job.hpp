// One delivery request carried out by postern-relay: open the queue file, wait for a slot at
// the next hop (DestinationPool), take a cached connection or resolve the next hop (MX or the
// bracketed host's addresses) and try each server address in order until one session is ready
// (connect failure, timeout, bad greeting, EHLO or TLS failure: the next one), run the
// transaction, then log one line per recipient and build qmgr's reply. Trusts qmgr's checked
// request and the queue file; everything from DNS and the servers is judged by lib/net/mx_resolver
// and SmtpClient. Bounded by kMaxServerAddresses per attempt.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/queue/ipc.hpp"
#include "lib/net/mx_resolver.hpp"
#include "lib/net/tls_client.hpp"
#include "relay/delivery_result.hpp"
#include "relay/destination_pool.hpp"
#include "relay/next_hop.hpp"
#include "relay/relay_request.hpp"
#include "relay/relay_settings.hpp"
#include "relay/smtp_client.hpp"

namespace postern::relay {

inline constexpr size_t kMaxServerAddresses = 20;

struct RelayContext {
  event_base* base = nullptr;
  const RelaySettings* settings = nullptr;
  const TlsClientContext* tls = nullptr;  // null when TLS is off
  MxResolver* resolver = nullptr;
  DestinationPool* pool = nullptr;
  // The credentials for a next hop (nullopt: none), or an error when the table cannot be read.
  std::function<Result<std::optional<Credentials>>(const NextHop&)> credentials;
};

// Which names a certificate must match at smtp_tls_security_level verify or secure.
std::vector<std::string> tls_match_names(TlsLevel level, const NextHop& hop,
                                         const ServerAddress& server);

class RelayJob {
 public:
  using Done = std::function<void(uint64_t job_id, AttrRecord reply)>;

  RelayJob(RelayContext& context, uint64_t id, RelayRequest request, Done done);
  ~RelayJob();
  RelayJob(const RelayJob&) = delete;
  RelayJob& operator=(const RelayJob&) = delete;

  // Starts; done runs later from the event loop, always, and the job may be destroyed then.
  void start();
  // The pool's grant (see DestinationPool::Dispatch).
  void on_grant(std::unique_ptr<SmtpClient> client, std::optional<RecipientResult> failure);
  // A grant that arrives for a job that is gone goes back to the pool with this key.
  const std::string& destination() const { return hop_.text; }
  uint64_t id() const { return id_; }

 private:
  void resolve();
  void on_resolved(MxResult result);
  void try_next_server();
  void on_ready(std::optional<RecipientResult> failure);
  void start_transaction();
  void on_transaction(TransactionOutcome outcome);
  void give_all(const RecipientResult& result);
  void complete(std::unique_ptr<SmtpClient> keep, std::optional<RecipientResult> failure);
  void fail_early(RecipientResult result);  // before a slot: completes from the event loop

  RelayContext& context_;
  uint64_t id_;
  RelayRequest request_;
  Done done_;
  NextHop hop_;
  std::shared_ptr<QueuedMessage> message_;
  Transaction transaction_;      // every recipient of the request, in order, with its result
  Transaction active_;           // the ones sent in the current SMTP transaction
  std::vector<size_t> pending_;  // active_.recipients[i] is transaction_.recipients[pending_[i]]
  std::optional<Credentials> credentials_;
  std::vector<ServerAddress> servers_;
  size_t next_server_ = 0;
  std::unique_ptr<SmtpClient> client_;
  std::optional<RecipientResult> last_failure_;
  std::string relay_label_ = "none";
  uint64_t lookup_id_ = 0;
  bool has_slot_ = false;
  bool waiting_ = false;
  bool reused_ = false;
  bool retried_fresh_ = false;
  SingleEventHandle early_;  // fail_early's event
  std::optional<RecipientResult> early_result_;
};

}  // namespace postern::relay
