// Destination concurrency and the connection cache of postern-relay (see destination_pool.hpp).
#include "relay/destination_pool.hpp"

#include <algorithm>

#include "lib/base/log.hpp"

namespace postern::relay {

DestinationPool::DestinationPool(event_base* base, int concurrency_limit, size_t max_waiting,
                                 int cache_seconds, Dispatch dispatch)
    : base_(base),
      concurrency_limit_(std::max(1, concurrency_limit)),
      max_waiting_(max_waiting),
      cache_seconds_(cache_seconds),
      dispatch_(std::move(dispatch)) {
  grant_event_.reset(event_new(base_, -1, 0, &DestinationPool::on_grants, this));
  if (!grant_event_) log::panic("event_new failed");
}

DestinationPool::~DestinationPool() = default;

bool DestinationPool::acquire(const std::string& key, uint64_t job_id) {
  Destination& destination = destinations_[key];
  if (destination.active < concurrency_limit_) {
    ++destination.active;
    grant(job_id, take_idle(destination), std::nullopt);
    return true;
  }
  if (destination.waiting.size() >= max_waiting_) {
    erase_if_unused(key);
    return false;
  }
  destination.waiting.push_back(job_id);
  return true;
}

void DestinationPool::release(const std::string& key, std::unique_ptr<SmtpClient> client,
                              std::optional<RecipientResult> failure) {
  auto it = destinations_.find(key);
  if (it == destinations_.end()) {
    retire(std::move(client));
    return;
  }
  Destination& destination = it->second;
  if (destination.active > 0) --destination.active;
  if (failure) {
    // Everyone who waited behind the failed attempt hears its outcome now.
    for (uint64_t job_id : destination.waiting) grant(job_id, nullptr, failure);
    destination.waiting.clear();
  }
  if (client && !client->usable()) client.reset();
  if (!destination.waiting.empty() && destination.active < concurrency_limit_) {
    const uint64_t job_id = destination.waiting.front();
    destination.waiting.pop_front();
    ++destination.active;
    grant(job_id, client ? std::move(client) : take_idle(destination), std::nullopt);
  } else if (client) {
    if (cache_seconds_ > 0) {
      park(key, destination, std::move(client));
    } else {
      retire(std::move(client));
    }
  }
  erase_if_unused(key);
}

void DestinationPool::forget(const std::string& key, uint64_t job_id) {
  auto it = destinations_.find(key);
  if (it == destinations_.end()) return;
  auto& waiting = it->second.waiting;
  waiting.erase(std::remove(waiting.begin(), waiting.end(), job_id), waiting.end());
  erase_if_unused(key);
}

void DestinationPool::grant(uint64_t job_id, std::unique_ptr<SmtpClient> client,
                            std::optional<RecipientResult> failure) {
  grants_.push_back(Grant{job_id, std::move(client), std::move(failure)});
  event_active(grant_event_.get(), EV_TIMEOUT, 0);
}

void DestinationPool::on_grants(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<DestinationPool*>(arg);
  // Only the grants queued so far; a dispatch that queues more re-arms the event.
  std::deque<Grant> batch;
  batch.swap(self->grants_);
  for (Grant& g : batch) self->dispatch_(g.job_id, std::move(g.client), std::move(g.failure));
}

std::unique_ptr<SmtpClient> DestinationPool::take_idle(Destination& destination) {
  while (!destination.idle.empty()) {
    std::unique_ptr<Idle> idle = std::move(destination.idle.back());
    destination.idle.pop_back();
    if (idle->client && idle->client->usable()) return std::move(idle->client);
  }
  return nullptr;
}

void DestinationPool::park(const std::string& key, Destination& destination,
                           std::unique_ptr<SmtpClient> client) {
  auto idle = std::make_unique<Idle>();
  idle->id = next_id_++;
  idle->client = std::move(client);
  const uint64_t idle_id = idle->id;
  idle->client->park([this, key, idle_id] { drop_idle(key, idle_id, false); });
  idle->pool = this;
  idle->key = key;
  // The timer's argument is the Idle entry itself: it owns the timer, so it outlives it.
  event* timer = event_new(
      base_, -1, 0,
      [](evutil_socket_t, short, void* arg) {
        auto* entry = static_cast<Idle*>(arg);
        entry->pool->drop_idle(entry->key, entry->id, true);
      },
      idle.get());
  if (timer == nullptr) log::panic("event_new failed");
  idle->timer.reset(timer);
  timeval limit{cache_seconds_, 0};
  event_add(timer, &limit);
  destination.idle.push_back(std::move(idle));
}

void DestinationPool::drop_idle(const std::string& key, uint64_t idle_id, bool quit) {
  auto it = destinations_.find(key);
  if (it == destinations_.end()) return;
  auto& idle = it->second.idle;
  auto found = std::find_if(idle.begin(), idle.end(), [&](const std::unique_ptr<Idle>& entry) {
    return entry->id == idle_id;
  });
  if (found == idle.end()) return;
  std::unique_ptr<Idle> entry = std::move(*found);
  idle.erase(found);
  std::unique_ptr<SmtpClient> client = std::move(entry->client);
  if (quit) retire(std::move(client));
  erase_if_unused(key);
}

void DestinationPool::retire(std::unique_ptr<SmtpClient> client) {
  if (!client) return;
  if (!client->usable()) return;  // nothing to say to a closed session
  const uint64_t id = next_id_++;
  SmtpClient* raw = client.get();
  closing_.emplace(id, std::move(client));
  raw->quit([this, id] { closing_.erase(id); });
}

void DestinationPool::close_idle() {
  for (auto& [key, destination] : destinations_) {
    for (auto& idle : destination.idle) retire(std::move(idle->client));
    destination.idle.clear();
  }
}

void DestinationPool::erase_if_unused(const std::string& key) {
  auto it = destinations_.find(key);
  if (it == destinations_.end()) return;
  const Destination& destination = it->second;
  if (destination.active == 0 && destination.waiting.empty() && destination.idle.empty()) {
    destinations_.erase(it);
  }
}

size_t DestinationPool::active(const std::string& key) const {
  auto it = destinations_.find(key);
  return it == destinations_.end() ? 0 : static_cast<size_t>(it->second.active);
}

size_t DestinationPool::idle_connections() const {
  size_t count = 0;
  for (const auto& [key, destination] : destinations_) count += destination.idle.size();
  return count;
}

}  // namespace postern::relay
