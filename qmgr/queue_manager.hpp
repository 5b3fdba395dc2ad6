// The queue scheduler of postern-qmgr: takes new files from incoming/ (on a nudge and every
// second) and due ones from deferred/ (every queue_run_delay, by mtime), moves them to active/,
// routes each pending recipient (transport_router: transport_maps, local mailbox, unknown user,
// other domain), sends local ones to private/delivery (at most delivery_concurrency_limit
// requests in flight) and remote ones to private/relay, one request per next hop (at most
// relay_concurrency_limit in flight), records each result in the queue file, bounces (DSN) or
// defers with back-off, and removes the file when no recipient is pending. At start it takes back
// active/, incoming/ and deferred/. Trusts queue files only after QueueFile parsed them (others go
// to corrupt/) and delivery replies only after lib/queue/ipc.hpp decoded them. Bounded by
// kMaxActiveMessages in memory.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "lib/arc/arc_forward_sealing.hpp"
#include "lib/auth/accounts.hpp"
#include "lib/queue/queue_admin.hpp"
#include "lib/queue/queue_control.hpp"
#include "lib/queue/queue_dir.hpp"
#include "lib/queue/queue_file.hpp"
#include "qmgr/delivery_client.hpp"
#include "qmgr/transport_router.hpp"

struct event_base;
struct event;

namespace postern {

inline constexpr size_t kMaxActiveMessages = 2000;
inline constexpr int kIncomingScanSeconds = 1;
inline constexpr int kStopGraceSeconds = 5;

struct QmgrSettings {
  QueueLayout layout;
  std::string delivery_socket;       // $queue_directory/private/delivery
  std::string relay_socket;          // $queue_directory/private/relay
  std::string local_socket;          // $queue_directory/private/local
  std::string relayhost;             // "" = each recipient domain's MX
  TransportLookup transport_lookup;  // transport_maps; empty when there is none
  std::string myhostname;
  std::string recipient_delimiter;
  std::vector<std::string> mydestination;  // lower-cased
  int64_t minimal_backoff_seconds = 300;
  int64_t maximal_backoff_seconds = 4000;
  int64_t queue_run_delay_seconds = 300;
  int64_t temporary_file_lifetime_seconds = 86400;
  int64_t maximal_queue_lifetime_seconds = 5 * 86400;
  int64_t bounce_queue_lifetime_seconds = 5 * 86400;
  int64_t ipc_timeout_seconds = 3600;
  size_t delivery_concurrency = 4;
  size_t relay_concurrency = 50;
  size_t local_concurrency = 2;       // local_destination_concurrency_limit
  int64_t delay_warning_seconds = 0;  // 0 = no "delayed" DSN
  // ARC-seals the forwarded copies of virtual aliases (arc_sealing); null: none are sealed.
  const ArcForwardSealing* arc_sealing = nullptr;
};

class QueueManager {
 public:
  QueueManager(event_base* base, QmgrSettings settings, const AccountsDb& accounts);
  QueueManager(const QueueManager&) = delete;
  QueueManager& operator=(const QueueManager&) = delete;
  ~QueueManager();

  // Takes back active/, then scans incoming/ and deferred/, and starts the timers.
  void start();
  // A nudge from private/qmgr: take that file from incoming/ (or scan when no ID was given).
  void nudge(const std::optional<std::string>& queue_id);
  // A flush from private/qmgr (`postern queue flush`): every file in deferred/ is due now and the
  // deferred scan runs at once. Returns how many files were made due.
  size_t flush();
  // `postern queue flush --domain D`: only the deferred files with a pending recipient in D.
  size_t flush_domain(std::string_view domain);
  // `postern queue delete|hold|release|requeue` (queue_manager_control.cpp): one result per
  // queue ID, in order. A message whose delivery attempt is in flight is flagged in its file
  // (delete, hold) or in memory (requeue); its requests not sent yet are dropped, and the
  // action is carried out when the requests in flight are answered.
  std::vector<ControlResult> control(const ControlRequest& request);
  // Stops taking work; on_stopped runs once the requests in flight are answered (or after
  // kStopGraceSeconds). Files not finished stay in active/ and are taken back at the next start.
  void stop(std::function<void()> on_stopped);

 private:
  enum class Outcome { kUntouched, kSent, kDeferred, kBounced };
  struct RecipientResult {
    Outcome outcome = Outcome::kUntouched;
    std::string dsn;
    std::string reason;
    std::string remote_mta;  // relay: the server that answered
    std::string diagnostic;  // relay: its reply ("550 5.1.1 ...")
  };
  struct Attempt {
    std::string queue_id;
    std::optional<QueueFile> file;
    std::vector<RecipientResult> results;  // by recipient index
    size_t requests_open = 0;              // delivery and relay requests not answered yet
    bool short_retry = false;
    // The admin's request that arrived while this attempt was in flight, done by finish().
    enum class Pending { kNone, kDelete, kHold, kRequeue } pending = Pending::kNone;
  };
  enum class Service { kDelivery, kRelay, kLocal };
  static constexpr size_t kServiceCount = 3;
  // A request waiting for a free slot of its service, or in flight.
  struct Call {
    Attempt* attempt = nullptr;
    Service service = Service::kDelivery;
    AttrRecord request;
    std::vector<size_t> indexes;  // the recipients it carries
  };

  size_t active_count() const { return ready_.size() + in_flight_.size(); }
  bool has_room() const { return active_count() < kMaxActiveMessages; }
  size_t flush_where(const std::string_view* domain);  // nullptr: every deferred file
  bool take_file(const std::string& from_dir, const std::string& queue_id);
  void recover_active();
  void scan_incoming();
  void scan_deferred();
  // Removes incoming/.<ID>.tmp files untouched for temporary_file_lifetime: smtpd died while
  // writing them, so no client heard 250 for them.
  void purge_stale_temporaries();
  void pump();
  void process(const std::string& queue_id);
  // Aliases with several targets, some outside: one new queue file with every target
  // (lib/queue/expansion_file.hpp), then the original recipients count as sent.
  void expand_recipients(
      Attempt& attempt, const std::vector<std::pair<size_t, std::vector<std::string>>>& expansions);
  void queue_call(Call call);
  void dispatch_calls();
  void on_reply(const Call& call, Result<AttrRecord> reply);
  void finish(std::unique_ptr<Attempt> attempt);
  void set_result(Attempt& attempt, size_t index, Outcome outcome, std::string dsn,
                  std::string reason, std::string_view relay);
  void send_bounces(Attempt& attempt, int64_t now);
  void defer_file(Attempt& attempt, int64_t now);
  // defer/<ID>: why each recipient still waits (for `postern queue list`).
  void write_defer_reasons_of(const Attempt& attempt);
  void remove_defer_reasons(const std::string& queue_id);
  // The one "delayed" DSN after delay_warning_time; flags the 'S' record (written by
  // defer_file's schedule update).
  void send_delay_warning(Attempt& attempt, int64_t now);
  void park_unreadable(const std::string& queue_id, const std::string& path);
  // --- the admin's requests (queue_manager_control.cpp) ---
  Attempt* attempt_in_flight(std::string_view queue_id);
  ControlResult control_one(const ControlRequest& request, const std::string& queue_id,
                            QueueEditor& editor);
  ControlResult control_in_flight(const ControlRequest& request, Attempt& attempt);
  // Drops the requests of attempt still waiting for a slot; true when none is left in flight
  // (the attempt was then finished here).
  bool drop_waiting_calls(Attempt& attempt);
  // finish() of an attempt with a pending request, or process() of a flagged file: carries it
  // out. True when the file was dealt with (removed, held or requeued).
  bool finish_pending(Attempt& attempt, bool pending_left);
  bool apply_file_flags(const std::string& queue_id, const QueueFile& file);
  void remove_from_ready(const std::string& queue_id);
  void check_stopped();

  event_base* base_;
  QmgrSettings settings_;
  const AccountsDb& accounts_;
  Router router_;
  // One per Service: its client, the requests waiting for a slot, those in flight. The services
  // have separate limits: a slow relay never holds up local delivery requests.
  struct Lane {
    Lane(event_base* base, const std::string& socket, int timeout_seconds, size_t limit,
         const char* name)
        : client(base, socket, timeout_seconds), limit(limit), name(name) {}
    ServiceClient client;
    std::deque<Call> waiting;
    size_t in_flight = 0;
    size_t limit;
    const char* name;
  };
  Lane& lane(Service service) { return *lanes_[static_cast<size_t>(service)]; }
  std::array<std::unique_ptr<Lane>, kServiceCount> lanes_;
  event* incoming_timer_ = nullptr;
  event* deferred_timer_ = nullptr;
  event* stop_timer_ = nullptr;
  std::deque<std::string> ready_;  // queue IDs in active/, waiting for their turn
  std::set<std::string> known_;    // IDs in ready_ or in flight
  std::map<Attempt*, std::unique_ptr<Attempt>> in_flight_;
  bool incoming_backlog_ = false;  // the last incoming scan stopped at kMaxActiveMessages
  bool stopping_ = false;
  std::function<void()> on_stopped_;
};

// private/qmgr's requests other than nudge (lib/queue/queue_control.hpp): flush [domain=D],
// delete, hold, release, requeue, decoded, carried out and answered (queue_manager_control.cpp).
AttrRecord answer_control_request(QueueManager& manager, const AttrRecord& request);

}  // namespace postern
