// Per-destination scheduling in postern-relay: at most default_destination_concurrency_limit
// deliveries to one next hop at a time (the rest wait in a bounded FIFO per destination), and
// a cache of idle, ready SMTP connections per next hop kept for
// smtp_connection_cache_time_limit so that a run of messages reuses one session. A grant (a
// slot, with a cached connection or none) is always delivered from the event loop, never from
// inside acquire() or release(). When a delivery could not reach the destination at all, the
// deliveries that were waiting behind it get that same failure at once instead of each timing
// out in turn. Trusts nothing from the network itself (the connections do that).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "relay/delivery_result.hpp"
#include "relay/smtp_client.hpp"

namespace postern::relay {

class DestinationPool {
 public:
  // client: a cached ready connection, or null (make one). failure: set instead of a slot when
  // the destination just failed for a delivery this one waited behind.
  using Dispatch = std::function<void(uint64_t job_id, std::unique_ptr<SmtpClient> client,
                                      std::optional<RecipientResult> failure)>;

  DestinationPool(event_base* base, int concurrency_limit, size_t max_waiting, int cache_seconds,
                  Dispatch dispatch);
  ~DestinationPool();
  DestinationPool(const DestinationPool&) = delete;
  DestinationPool& operator=(const DestinationPool&) = delete;

  // Asks for a slot at destination key; false when its waiting queue is full.
  bool acquire(const std::string& key, uint64_t job_id);
  // Gives a slot back, with the connection when it can carry another transaction. failure:
  // the destination could not be reached; the jobs waiting now get it too.
  void release(const std::string& key, std::unique_ptr<SmtpClient> client,
               std::optional<RecipientResult> failure = std::nullopt);
  // Forgets a waiting job (it went away before its grant).
  void forget(const std::string& key, uint64_t job_id);
  // Closes every idle connection (QUIT); used when stopping.
  void close_idle();

  size_t active(const std::string& key) const;
  size_t idle_connections() const;
  size_t closing_connections() const { return closing_.size(); }

 private:
  struct Idle {
    uint64_t id = 0;
    DestinationPool* pool = nullptr;
    std::string key;
    std::unique_ptr<SmtpClient> client;
    SingleEventHandle timer;  // smtp_connection_cache_time_limit
  };
  struct Destination {
    int active = 0;
    std::deque<uint64_t> waiting;
    std::vector<std::unique_ptr<Idle>> idle;  // most recently parked last
  };
  struct Grant {
    uint64_t job_id = 0;
    std::unique_ptr<SmtpClient> client;
    std::optional<RecipientResult> failure;
  };

  void grant(uint64_t job_id, std::unique_ptr<SmtpClient> client,
             std::optional<RecipientResult> failure);
  std::unique_ptr<SmtpClient> take_idle(Destination& destination);
  void park(const std::string& key, Destination& destination, std::unique_ptr<SmtpClient> client);
  void drop_idle(const std::string& key, uint64_t idle_id, bool quit);
  void retire(std::unique_ptr<SmtpClient> client);
  void erase_if_unused(const std::string& key);
  static void on_grants(evutil_socket_t, short, void* arg);

  event_base* base_;
  int concurrency_limit_;
  size_t max_waiting_;
  int cache_seconds_;
  Dispatch dispatch_;
  std::map<std::string, Destination> destinations_;
  std::deque<Grant> grants_;
  SingleEventHandle grant_event_;
  std::map<uint64_t, std::unique_ptr<SmtpClient>> closing_;  // sent QUIT, waiting to close
  uint64_t next_id_ = 1;
};

}  // namespace postern::relay
