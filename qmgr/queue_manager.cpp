// The queue scheduler of postern-qmgr (see queue_manager.hpp for the whole story). Durability:
// a file moves between incoming/, active/ and deferred/ with plain renames (after a crash it is
// in one folder or the other, and all three are taken back at start); a recipient is marked
// done in place (fdatasync) only after its result is final and, for a bounce, only after the DSN
// file is committed. Memory is bounded by kMaxActiveMessages queue IDs plus the open files of
// the requests in flight (delivery_concurrency_limit).
#include "queue_manager.hpp"

#include <dirent.h>
#include <event2/event.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include "lib/base/log.hpp"
#include "lib/queue/expansion_file.hpp"

namespace postern {
namespace {

// Plain forwards for a domain whose copies we can seal go through a new queue file.
std::function<bool(std::string_view)> seals_forwards_for(const ArcForwardSealing* sealing) {
  if (sealing == nullptr || !sealing->enabled()) return {};
  return [sealing](std::string_view domain) { return sealing->can_seal_for(domain); };
}

int64_t now_seconds() {
  return static_cast<int64_t>(::time(nullptr));
}

double now_precise() {
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// Queue IDs in a folder (names with the queue ID shape only: temporary files are skipped).
template <class Fn>
void for_each_queue_id(const std::string& dir, Fn fn) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) {
    log::error("cannot open {}: {}", dir, std::strerror(errno));
    return;
  }
  while (dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;
    if (!is_queue_id(name)) continue;
    if (!fn(::dirfd(d), std::string(name))) break;
  }
  ::closedir(d);
}

}  // namespace

QueueManager::QueueManager(event_base* base, QmgrSettings settings, const AccountsDb& accounts)
    : base_(base),
      settings_(std::move(settings)),
      accounts_(accounts),
      router_(RouterSettings{settings_.relayhost, settings_.recipient_delimiter,
                             settings_.mydestination, seals_forwards_for(settings_.arc_sealing)},
              accounts, settings_.transport_lookup) {
  const int timeout = static_cast<int>(settings_.ipc_timeout_seconds);
  lanes_[static_cast<size_t>(Service::kDelivery)] = std::make_unique<Lane>(
      base, settings_.delivery_socket, timeout, settings_.delivery_concurrency, "delivery");
  lanes_[static_cast<size_t>(Service::kRelay)] = std::make_unique<Lane>(
      base, settings_.relay_socket, timeout, settings_.relay_concurrency, "relay");
  lanes_[static_cast<size_t>(Service::kLocal)] = std::make_unique<Lane>(
      base, settings_.local_socket, timeout, settings_.local_concurrency, "local");
}

QueueManager::~QueueManager() {
  for (event* ev : {incoming_timer_, deferred_timer_, stop_timer_}) {
    if (ev) event_free(ev);
  }
}

void QueueManager::start() {
  recover_active();
  scan_incoming();
  scan_deferred();
  incoming_timer_ = event_new(
      base_, -1, EV_PERSIST,
      [](int, short, void* arg) { static_cast<QueueManager*>(arg)->scan_incoming(); }, this);
  deferred_timer_ = event_new(
      base_, -1, EV_PERSIST,
      [](int, short, void* arg) { static_cast<QueueManager*>(arg)->scan_deferred(); }, this);
  timeval incoming_every{kIncomingScanSeconds, 0};
  timeval deferred_every{std::max<int64_t>(1, settings_.queue_run_delay_seconds), 0};
  event_add(incoming_timer_, &incoming_every);
  event_add(deferred_timer_, &deferred_every);
  pump();
}

void QueueManager::nudge(const std::optional<std::string>& queue_id) {
  if (stopping_) return;
  if (queue_id && has_room()) {
    if (take_file(settings_.layout.incoming(), *queue_id)) pump();
    return;
  }
  scan_incoming();
}

size_t QueueManager::flush() {
  return flush_where(nullptr);
}

size_t QueueManager::flush_domain(std::string_view domain) {
  return flush_where(&domain);
}

size_t QueueManager::flush_where(const std::string_view* domain) {
  if (stopping_) return 0;
  size_t count = 0;
  const int64_t now = now_seconds();
  for_each_queue_id(settings_.layout.deferred(), [&](int dir_fd, std::string queue_id) {
    if (domain) {
      // Only files with a pending recipient in that domain (each envelope read, bounded by
      // QueueFile's limits; a file that cannot be read now is left for its own retry time).
      Result<QueueFile> file = QueueFile::open(settings_.layout.deferred() + "/" + queue_id, false);
      if (!file || !has_pending_recipient_in(file->envelope(), *domain)) return true;
    }
    // Due now: the deferred scan goes by mtime. The 'S' record keeps its attempt count, so the
    // back-off after a failed flush is as long as it would have been.
    timespec times[2];
    times[0].tv_sec = now;
    times[0].tv_nsec = 0;
    times[1].tv_sec = now;
    times[1].tv_nsec = 0;
    if (::utimensat(dir_fd, queue_id.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0) ++count;
    return true;
  });
  if (domain) {
    log::info("flush: {} deferred messages for {} due now", count, log::printable(*domain));
  } else {
    log::info("flush: {} deferred messages due now", count);
  }
  scan_deferred();
  return count;
}

void QueueManager::stop(std::function<void()> on_stopped) {
  if (stopping_) return;
  stopping_ = true;
  on_stopped_ = std::move(on_stopped);
  if (incoming_timer_) event_del(incoming_timer_);
  if (deferred_timer_) event_del(deferred_timer_);
  // Requests not sent yet are dropped; their files stay in active/ (taken back at the next
  // start). A message with other requests in flight is finished by their replies, the dropped
  // recipients staying pending.
  for (std::unique_ptr<Lane>& lane : lanes_) {
    for (Call& call : lane->waiting) {
      auto it = in_flight_.find(call.attempt);
      if (it != in_flight_.end() && --it->second->requests_open == 0) in_flight_.erase(it);
    }
    lane->waiting.clear();
  }
  stop_timer_ = event_new(
      base_, -1, 0,
      [](int, short, void* arg) {
        auto* self = static_cast<QueueManager*>(arg);
        log::warning("stopping with {} delivery requests unanswered; their files stay in active/",
                     self->in_flight_.size());
        if (auto done = std::exchange(self->on_stopped_, nullptr)) done();
      },
      this);
  timeval grace{kStopGraceSeconds, 0};
  event_add(stop_timer_, &grace);
  check_stopped();
}

void QueueManager::check_stopped() {
  if (stopping_ && in_flight_.empty()) {
    if (auto done = std::exchange(on_stopped_, nullptr)) done();
  }
}

// --- taking files ------------------------------------------------------------------------

bool QueueManager::take_file(const std::string& from_dir, const std::string& queue_id) {
  if (known_.count(queue_id)) return false;
  std::string from = from_dir + "/" + queue_id;
  std::string to = settings_.layout.active() + "/" + queue_id;
  // A plain rename: after a crash the file is in one folder or the other, and both are scanned.
  if (::rename(from.c_str(), to.c_str()) != 0) {
    if (errno != ENOENT)
      log::error("{}: cannot move {} to active/: {}", queue_id, from, std::strerror(errno));
    return false;
  }
  known_.insert(queue_id);
  ready_.push_back(queue_id);
  return true;
}

void QueueManager::recover_active() {
  size_t count = 0;
  for_each_queue_id(settings_.layout.active(), [&](int, std::string queue_id) {
    if (known_.insert(queue_id).second) {
      ready_.push_back(std::move(queue_id));
      ++count;
    }
    return true;
  });
  if (count > 0) log::info("taking back {} messages from active/", count);
}

void QueueManager::scan_incoming() {
  if (stopping_) return;
  incoming_backlog_ = false;
  for_each_queue_id(settings_.layout.incoming(), [&](int, std::string queue_id) {
    if (!has_room()) {
      incoming_backlog_ = true;
      return false;
    }
    take_file(settings_.layout.incoming(), queue_id);
    return true;
  });
  pump();
}

void QueueManager::purge_stale_temporaries() {
  const std::string dir = settings_.layout.incoming();
  DIR* d = ::opendir(dir.c_str());
  if (!d) return;  // scan_incoming logs it
  const int64_t now = now_seconds();
  while (dirent* entry = ::readdir(d)) {
    std::string_view name = entry->d_name;
    constexpr std::string_view kSuffix = ".tmp";
    if (name.size() <= 1 + kSuffix.size() || name.front() != '.' || !name.ends_with(kSuffix)) {
      continue;
    }
    if (!is_queue_id(name.substr(1, name.size() - 1 - kSuffix.size()))) continue;
    struct stat st {};
    if (::fstatat(::dirfd(d), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISREG(st.st_mode) || now - st.st_mtime < settings_.temporary_file_lifetime_seconds) {
      continue;
    }
    if (::unlinkat(::dirfd(d), entry->d_name, 0) == 0) {
      log::info("removed stale temporary file incoming/{} ({} s old; never acknowledged)", name,
                now - st.st_mtime);
    }
  }
  ::closedir(d);
}

void QueueManager::scan_deferred() {
  if (stopping_) return;
  purge_stale_temporaries();
  const int64_t now = now_seconds();
  for_each_queue_id(settings_.layout.deferred(), [&](int dir_fd, std::string queue_id) {
    if (!has_room()) return false;
    struct stat st {};
    if (::fstatat(dir_fd, queue_id.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return true;
    if (st.st_mtime <= now) take_file(settings_.layout.deferred(), queue_id);
    return true;
  });
  pump();
}

// --- processing --------------------------------------------------------------------------

void QueueManager::pump() {
  // Messages with requests waiting or in flight: enough to fill both services' slots.
  const size_t max_messages =
      settings_.delivery_concurrency + settings_.relay_concurrency + settings_.local_concurrency;
  while (!stopping_ && !ready_.empty() && in_flight_.size() < max_messages) {
    std::string queue_id = std::move(ready_.front());
    ready_.pop_front();
    process(queue_id);
  }
  if (!stopping_ && incoming_backlog_ && active_count() < kMaxActiveMessages / 2) {
    scan_incoming();
  }
}

void QueueManager::park_unreadable(const std::string& queue_id, const std::string& path) {
  // Cannot read it now (EMFILE, EIO...): try again later, from deferred/.
  std::string to = settings_.layout.deferred() + "/" + queue_id;
  if (::rename(path.c_str(), to.c_str()) == 0) {
    timespec times[2];
    times[0].tv_sec = now_seconds();
    times[0].tv_nsec = 0;
    times[1].tv_sec = now_seconds() + settings_.minimal_backoff_seconds;
    times[1].tv_nsec = 0;
    ::utimensat(AT_FDCWD, to.c_str(), times, 0);
  }
}

void QueueManager::process(const std::string& queue_id) {
  const std::string path = settings_.layout.active() + "/" + queue_id;
  Result<QueueFile> file = QueueFile::open(path, true);
  if (!file) {
    const Error& error = file.error();
    known_.erase(queue_id);
    if (error.kind == ErrorKind::kSystem && error.sys_errno == ENOENT) {
      log::warning("{}: queue file vanished from active/", queue_id);
    } else if (error.kind == ErrorKind::kSystem) {
      log::error("{}: cannot read queue file: {}", queue_id, error.describe());
      park_unreadable(queue_id, path);
    } else {
      std::string to = settings_.layout.corrupt() + "/" + queue_id;
      if (::rename(path.c_str(), to.c_str()) != 0) {
        log::error("{}: corrupt queue file, and cannot move it to corrupt/: {}", queue_id,
                   std::strerror(errno));
      } else {
        log::warning("{}: corrupt queue file moved to corrupt/: {}", queue_id, error.describe());
        remove_defer_reasons(queue_id);
      }
    }
    return;
  }
  // The admin deleted or held it while an earlier attempt was in flight, and qmgr stopped or
  // crashed before that attempt was finished: done now, before any delivery.
  if (apply_file_flags(queue_id, *file)) {
    known_.erase(queue_id);
    return;
  }

  auto attempt = std::make_unique<Attempt>();
  attempt->queue_id = queue_id;
  attempt->file.emplace(std::move(file).value());
  const QueueEnvelope& envelope = attempt->file->envelope();
  attempt->results.resize(envelope.recipients.size());
  size_t pending = 0;
  for (const QueueRecipient& rcpt : envelope.recipients) {
    if (rcpt.status == RecipientStatus::kPending) ++pending;
  }
  log::info("{}: from=<{}>, size={}, nrcpt={} (queue active)", queue_id,
            log::printable(envelope.sender), envelope.message_bytes, pending);

  AttrRecord delivery_request;
  std::vector<size_t> delivery_indexes;
  std::vector<std::pair<size_t, std::string>> relay_nexthops;
  std::vector<std::string> relay_rcpts(envelope.recipients.size());
  std::vector<size_t> local_indexes;
  std::vector<std::pair<size_t, std::vector<std::string>>> expansions;
  const bool expansion_file = envelope.attribute(kExpandedFromAttribute).has_value();
  for (size_t i = 0; i < envelope.recipients.size(); ++i) {
    const QueueRecipient& rcpt = envelope.recipients[i];
    if (rcpt.status != RecipientStatus::kPending) continue;
    Route route = expansion_file ? router_.route_final(rcpt.address) : router_.route(rcpt.address);
    switch (route.kind) {
      case Route::Kind::kExpand:
        expansions.emplace_back(i, std::move(route.mailboxes));
        break;
      case Route::Kind::kDelivery:
        delivery_request.add("rcpt", rcpt.address);
        delivery_request.add("index", static_cast<int64_t>(i));
        for (const std::string& mailbox : route.mailboxes) delivery_request.add("mailbox", mailbox);
        delivery_indexes.push_back(i);
        break;
      case Route::Kind::kRelay:
        relay_rcpts[i] = std::move(route.relay_rcpt);
        relay_nexthops.emplace_back(i, std::move(route.nexthop));
        break;
      case Route::Kind::kLocal:
        relay_rcpts[i] = std::move(route.relay_rcpt);
        local_indexes.push_back(i);
        break;
      case Route::Kind::kBounce:
        set_result(*attempt, i, Outcome::kBounced, route.dsn, route.reason, "none");
        break;
      case Route::Kind::kDefer:
        if (route.short_retry) attempt->short_retry = true;
        set_result(*attempt, i, Outcome::kDeferred, route.dsn, route.reason, "none");
        break;
    }
  }

  if (!expansions.empty()) expand_recipients(*attempt, expansions);

  std::vector<Call> calls;
  // One request=deliver per service (and per next hop for relay): the common head, then rcpt
  // and index per recipient (delivery's also carry their mailboxes, added above).
  auto new_call = [&](Service service) -> Call& {
    Call& call = calls.emplace_back();
    call.service = service;
    call.request.add("request", "deliver");
    call.request.add("queue_id", queue_id);
    call.request.add("path", path);
    call.request.add("sender", envelope.sender);
    return call;
  };
  auto add_recipients = [&](Call& call, std::vector<size_t> indexes) {
    for (size_t i : indexes) {
      call.request.add("rcpt", relay_rcpts[i]);
      call.request.add("index", static_cast<int64_t>(i));
    }
    call.indexes = std::move(indexes);
  };
  if (!delivery_indexes.empty()) {
    Call& call = new_call(Service::kDelivery);
    for (const auto& [name, value] : delivery_request.attributes()) call.request.add(name, value);
    call.indexes = std::move(delivery_indexes);
  }
  for (auto& [nexthop, indexes] : group_by_nexthop(relay_nexthops)) {
    Call& call = new_call(Service::kRelay);
    call.request.add("nexthop", nexthop);
    add_recipients(call, std::move(indexes));
  }
  if (!local_indexes.empty()) add_recipients(new_call(Service::kLocal), std::move(local_indexes));

  if (calls.empty()) {
    finish(std::move(attempt));
    return;
  }
  Attempt* raw = attempt.get();
  raw->requests_open = calls.size();
  in_flight_.emplace(raw, std::move(attempt));
  for (Call& call : calls) {
    call.attempt = raw;
    queue_call(std::move(call));
  }
  dispatch_calls();
}

void QueueManager::expand_recipients(
    Attempt& attempt, const std::vector<std::pair<size_t, std::vector<std::string>>>& expansions) {
  const QueueEnvelope& envelope = attempt.file->envelope();
  std::vector<ExpandedTarget> targets;
  std::set<std::string> seen;  // one copy per target, however many aliases name it
  for (const auto& [index, addresses] : expansions) {
    const QueueRecipient& original = envelope.recipients[index];
    for (const std::string& address : addresses) {
      if (!seen.insert(address).second) continue;
      targets.push_back(
          ExpandedTarget{address, orcpt_for(original.address, original.orcpt), original.notify});
    }
  }
  // The seal is made with the key of the domain the mail was forwarded for: the (first)
  // original recipient's. A copy that cannot be sealed is forwarded unsealed.
  std::string seal;
  if (settings_.arc_sealing != nullptr && settings_.arc_sealing->enabled()) {
    const std::string& original = envelope.recipients[expansions.front().first].address;
    size_t at = original.rfind('@');
    std::string_view domain =
        at == std::string::npos ? std::string_view() : std::string_view(original).substr(at + 1);
    const QueueFile& file = *attempt.file;
    seal = settings_.arc_sealing->seal(
        envelope.queue_id, domain,
        [&file](const ArcChunkSink& sink) { return file.for_each_message_chunk(sink); }, {},
        now_seconds());
  }
  Result<std::string> expansion_id =
      write_expansion(settings_.layout, *attempt.file, targets, now_seconds(), seal);
  for (const auto& [index, addresses] : expansions) {
    if (expansion_id) {
      set_result(attempt, index, Outcome::kSent, "2.0.0",
                 fmt::format("forwarded to {} addresses as {}", addresses.size(), *expansion_id),
                 "none");
    } else {
      attempt.short_retry = true;
      set_result(attempt, index, Outcome::kDeferred, "4.3.0",
                 "cannot queue the forwarded copy: " + expansion_id.error().describe(), "none");
    }
  }
  if (expansion_id && !stopping_ && has_room()) {
    take_file(settings_.layout.incoming(), *expansion_id);
  }
}

void QueueManager::queue_call(Call call) {
  lane(call.service).waiting.push_back(std::move(call));
}

// Starts waiting requests while their service has a free slot (each service has its own
// limit: delivery_concurrency_limit, relay_concurrency_limit,
// local_destination_concurrency_limit).
void QueueManager::dispatch_calls() {
  for (std::unique_ptr<Lane>& lane : lanes_) {
    while (!lane->waiting.empty() && lane->in_flight < std::max<size_t>(1, lane->limit)) {
      auto call = std::make_shared<Call>(std::move(lane->waiting.front()));
      lane->waiting.pop_front();
      ++lane->in_flight;
      Lane* owner = lane.get();
      lane->client.call(call->request, [this, call, owner](Result<AttrRecord> reply) {
        --owner->in_flight;
        on_reply(*call, std::move(reply));
      });
    }
  }
}

void QueueManager::set_result(Attempt& attempt, size_t index, Outcome outcome, std::string dsn,
                              std::string reason, std::string_view relay) {
  RecipientResult& result = attempt.results[index];
  result.outcome = outcome;
  result.dsn = std::move(dsn);
  result.reason = std::move(reason);
  if (relay.empty()) return;  // the delivery agent logged it already
  const QueueEnvelope& envelope = attempt.file->envelope();
  const char* status = outcome == Outcome::kBounced    ? "bounced"
                       : outcome == Outcome::kDeferred ? "deferred"
                                                       : "sent";
  log::info("{}: to=<{}>, relay={}, delay={:.2f}, dsn={}, status={} ({})", attempt.queue_id,
            log::printable(envelope.recipients[index].address), relay,
            std::max(0.0, now_precise() - static_cast<double>(envelope.arrival_time)), result.dsn,
            status, log::printable(result.reason, 200));
}

void QueueManager::on_reply(const Call& call, Result<AttrRecord> reply) {
  auto it = in_flight_.find(call.attempt);
  if (it == in_flight_.end()) return;
  Attempt& attempt = *it->second;
  const bool relay = call.service == Service::kRelay;
  const char* service_name = lane(call.service).name;

  if (!reply) {
    attempt.short_retry = true;
    for (size_t index : call.indexes) {
      set_result(attempt, index, Outcome::kDeferred, "4.3.0",
                 std::string(service_name) + " service unavailable: " + reply.error().describe(),
                 service_name);
    }
  } else {
    // Per recipient, in order: index, then status, dsn, reason (and from relay remote_mta,
    // diagnostic). Only indexes this request carried are taken.
    const std::set<size_t> carried(call.indexes.begin(), call.indexes.end());
    constexpr size_t kNone = SIZE_MAX;
    size_t current = kNone;
    for (const auto& [name, value] : reply->attributes()) {
      if (name == "index") {
        char* end = nullptr;
        unsigned long long index = std::strtoull(value.c_str(), &end, 10);
        current = kNone;
        if (!value.empty() && *end == '\0' && carried.count(index)) {
          current = static_cast<size_t>(index);
        }
        continue;
      }
      if (current == kNone) continue;
      RecipientResult& result = attempt.results[current];
      if (name == "status") {
        result.outcome = value == "sent"      ? Outcome::kSent
                         : value == "bounced" ? Outcome::kBounced
                                              : Outcome::kDeferred;
      } else if (name == "dsn") {
        result.dsn = value;
      } else if (name == "reason") {
        result.reason = value;
      } else if (name == "remote_mta" && relay) {
        result.remote_mta = value;
      } else if (name == "diagnostic" && relay) {
        result.diagnostic = value;
      }
    }
    for (size_t index : call.indexes) {
      if (attempt.results[index].outcome == Outcome::kUntouched) {
        attempt.short_retry = true;
        set_result(attempt, index, Outcome::kDeferred, "4.3.0",
                   std::string("no result from the ") + service_name + " service", service_name);
      }
    }
  }

  if (--attempt.requests_open == 0) {
    std::unique_ptr<Attempt> done = std::move(it->second);
    in_flight_.erase(it);
    finish(std::move(done));
  }
  dispatch_calls();
  check_stopped();
  pump();
}

}  // namespace postern
