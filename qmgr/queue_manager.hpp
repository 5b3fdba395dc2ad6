// The queue scheduler of postern-qmgr: takes new files from incoming/ (on a nudge and every
// second) and due ones from deferred/ (every queue_run_delay, by mtime), moves them to active/,
// routes each pending recipient (accounts: local mailbox, unknown user, other domain), sends
// local ones to private/delivery (at most delivery_concurrency_limit requests in flight),
// records each result in the queue file, bounces (DSN) or defers with back-off, and removes the
// file when no recipient is pending. At start it takes back active/, incoming/ and deferred/.
// Trusts queue files only after QueueFile parsed them (others go to corrupt/) and delivery
// replies only after lib/ipc.hpp decoded them. Bounded by kMaxActiveMessages in memory.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "lib/accounts.hpp"
#include "lib/queue_dir.hpp"
#include "lib/queue_file.hpp"
#include "qmgr/delivery_client.hpp"

struct event_base;
struct event;

namespace postern {

inline constexpr size_t kMaxActiveMessages = 2000;
inline constexpr int kIncomingScanSeconds = 1;
inline constexpr int kStopGraceSeconds = 5;

struct QmgrSettings {
  QueueLayout layout;
  std::string delivery_socket;  // $queue_directory/private/delivery
  std::string myhostname;
  std::string recipient_delimiter;
  int64_t minimal_backoff_seconds = 300;
  int64_t maximal_backoff_seconds = 4000;
  int64_t queue_run_delay_seconds = 300;
  int64_t temporary_file_lifetime_seconds = 86400;
  int64_t maximal_queue_lifetime_seconds = 5 * 86400;
  int64_t bounce_queue_lifetime_seconds = 5 * 86400;
  int64_t ipc_timeout_seconds = 3600;
  size_t delivery_concurrency = 4;
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
  // Stops taking work; on_stopped runs once the requests in flight are answered (or after
  // kStopGraceSeconds). Files not finished stay in active/ and are taken back at the next start.
  void stop(std::function<void()> on_stopped);

 private:
  enum class Outcome { kUntouched, kSent, kDeferred, kBounced };
  struct RecipientResult {
    Outcome outcome = Outcome::kUntouched;
    std::string dsn;
    std::string reason;
  };
  struct Attempt {
    std::string queue_id;
    std::optional<QueueFile> file;
    std::vector<RecipientResult> results;  // by recipient index
    std::set<size_t> sent_to_delivery;
    bool short_retry = false;
  };

  size_t active_count() const { return ready_.size() + in_flight_.size(); }
  bool has_room() const { return active_count() < kMaxActiveMessages; }
  bool take_file(const std::string& from_dir, const std::string& queue_id);
  void recover_active();
  void scan_incoming();
  void scan_deferred();
  // Removes incoming/.<ID>.tmp files untouched for temporary_file_lifetime: smtpd died while
  // writing them, so no client heard 250 for them.
  void purge_stale_temporaries();
  void pump();
  void process(const std::string& queue_id);
  void on_delivery_reply(Attempt* attempt, Result<AttrRecord> reply);
  void finish(std::unique_ptr<Attempt> attempt);
  void set_result(Attempt& attempt, size_t index, Outcome outcome, std::string dsn,
                  std::string reason, std::string_view relay);
  void send_bounces(Attempt& attempt, int64_t now);
  void defer_file(Attempt& attempt, int64_t now);
  void park_unreadable(const std::string& queue_id, const std::string& path);
  void check_stopped();

  event_base* base_;
  QmgrSettings settings_;
  const AccountsDb& accounts_;
  ServiceClient delivery_;
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

}  // namespace postern
