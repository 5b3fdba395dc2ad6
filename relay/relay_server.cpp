// The postern-relay service loop on private/relay (see relay_server.hpp).
#include "relay/relay_server.hpp"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <utility>
#include <vector>

#include "lib/log.hpp"

namespace postern::relay {

RelayServer::RelayServer(event_base* base, UniqueFd listen_fd, RelaySettings settings,
                         std::unique_ptr<TlsClientContext> tls,
                         std::unique_ptr<MxResolver> resolver)
    : base_(base),
      settings_(std::move(settings)),
      tls_(std::move(tls)),
      resolver_(std::move(resolver)),
      pool_(base, settings_.destination_concurrency, settings_.max_waiting_per_destination,
            settings_.connection_cache_seconds,
            [this](uint64_t job_id, std::unique_ptr<SmtpClient> client,
                   std::optional<RecipientResult> failure) {
              dispatch(job_id, std::move(client), std::move(failure));
            }) {
  context_.base = base_;
  context_.settings = &settings_;
  context_.tls = tls_.get();
  context_.resolver = resolver_.get();
  context_.pool = &pool_;
  context_.credentials = [this](const NextHop& hop) { return find_credentials(hop); };
  // backlog 0: the master already called listen(). The listener owns the descriptor from here.
  listener_ = evconnlistener_new(base_, &RelayServer::on_accept, this,
                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, listen_fd.get());
  if (!listener_) log::fatal("cannot listen on the relay socket");
  listen_fd.release();
}

RelayServer::~RelayServer() {
  if (listener_) evconnlistener_free(listener_);
  jobs_.clear();
  for (auto& [id, conn] : connections_) bufferevent_free(conn->bev);
}

void RelayServer::stop(std::function<void()> on_stopped) {
  stopping_ = true;
  on_stopped_ = std::move(on_stopped);
  if (listener_) {
    evconnlistener_free(listener_);
    listener_ = nullptr;
  }
  pool_.close_idle();
  std::vector<Connection*> done;
  for (auto& [id, conn] : connections_) {
    if (idle(conn.get())) done.push_back(conn.get());
  }
  for (Connection* conn : done) close_connection(conn);
  check_stopped();
}

bool RelayServer::idle(const Connection* conn) const {
  return conn->job_id == 0 && evbuffer_get_length(bufferevent_get_output(conn->bev)) == 0;
}

void RelayServer::check_stopped() {
  if (stopping_ && connections_.empty() && on_stopped_) std::exchange(on_stopped_, nullptr)();
}

void RelayServer::on_accept(evconnlistener*, int fd, sockaddr*, int, void* arg) {
  auto* self = static_cast<RelayServer*>(arg);
  if (self->connections_.size() >= kMaxRelayConnections) {
    log::warning("too many relay connections ({}), dropping one", kMaxRelayConnections);
    UniqueFd drop(fd);
    return;
  }
  bufferevent* bev = bufferevent_socket_new(self->base_, fd, BEV_OPT_CLOSE_ON_FREE);
  if (!bev) {
    UniqueFd drop(fd);
    return;
  }
  auto conn = std::make_unique<Connection>();
  conn->server = self;
  conn->id = self->next_id_++;
  conn->bev = bev;
  Connection* raw = conn.get();
  self->connections_.emplace(raw->id, std::move(conn));
  bufferevent_setcb(bev, &RelayServer::on_read, &RelayServer::on_write, &RelayServer::on_event,
                    raw);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void RelayServer::on_read(bufferevent*, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  conn->server->serve(conn);
}

void RelayServer::serve(Connection* conn) {
  if (conn->job_id != 0 || stopping_) return;  // one request at a time; no new work when stopping
  std::optional<Result<AttrRecord>> record = take_attr_record(bufferevent_get_input(conn->bev));
  if (!record) return;  // wait for the rest of the frame
  if (!record->ok()) {
    log::warning("bad relay request record: {}", record->error().describe());
    close_connection(conn);
    return;
  }
  Result<RelayRequest> request = parse_relay_request(record->value(), settings_.active_dir);
  if (!request) {
    log::warning("bad relay request: {}", request.error().describe());
    close_connection(conn);
    return;
  }
  const uint64_t job_id = next_id_++;
  conn->job_id = job_id;
  job_connection_[job_id] = conn->id;
  auto job = std::make_unique<RelayJob>(
      context_, job_id, std::move(request).value(),
      [this](uint64_t id, AttrRecord reply) { job_done(id, std::move(reply)); });
  RelayJob* raw = job.get();
  jobs_.emplace(job_id, std::move(job));
  raw->start();  // never completes from inside start()
}

void RelayServer::dispatch(uint64_t job_id, std::unique_ptr<SmtpClient> client,
                           std::optional<RecipientResult> failure) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) {
    log::panic("relay: a destination slot was granted to a job that is gone");
  }
  it->second->on_grant(std::move(client), std::move(failure));
}

void RelayServer::job_done(uint64_t job_id, AttrRecord reply) {
  auto it = jobs_.find(job_id);
  if (it == jobs_.end()) return;
  // The job calls us last thing; destroy it from the loop's next turn is not needed as long as
  // nothing touches it after this call (RelayJob::complete guarantees that).
  std::unique_ptr<RelayJob> job = std::move(it->second);
  jobs_.erase(it);
  auto conn_it = job_connection_.find(job_id);
  uint64_t conn_id = conn_it == job_connection_.end() ? 0 : conn_it->second;
  if (conn_it != job_connection_.end()) job_connection_.erase(conn_it);
  auto found = connections_.find(conn_id);
  if (found != connections_.end()) {
    Connection* conn = found->second.get();
    conn->job_id = 0;
    const std::string frame = reply.encode();
    if (bufferevent_write(conn->bev, frame.data(), frame.size()) != 0) {
      close_connection(conn);
    } else {
      serve(conn);  // a next request may already be waiting
    }
  }
  // job (and the callback we are running in, which it owned) is freed here, after the
  // callback's own work: RelayJob::complete moved done_ out before calling it.
  job.reset();
  check_stopped();
}

Result<std::optional<Credentials>> RelayServer::find_credentials(const NextHop& hop) {
  if (!settings_.password_maps_configured) return std::optional<Credentials>();
  if (!credentials_table_) {
    Result<LookupTable> table = LookupTable::open(settings_.password_maps_db_dir);
    if (!table) return table.error();
    credentials_table_ = std::move(table).value();
  }
  for (const std::string& key : credential_keys(hop)) {
    Result<std::optional<std::string>> value = credentials_table_->find(key);
    if (!value) return value.error();
    if (!value->has_value()) continue;
    const std::string& text = **value;
    const size_t colon = text.find(':');
    if (colon == std::string::npos) {
      // Never log the value: it may be a bare password.
      log::warning("smtp_sasl_password_maps: the entry for {} is not user:password", key);
      return std::optional<Credentials>();
    }
    return std::optional<Credentials>(Credentials{text.substr(0, colon), text.substr(colon + 1)});
  }
  return std::optional<Credentials>();
}

void RelayServer::on_write(bufferevent*, void* arg) {
  auto* conn = static_cast<Connection*>(arg);
  RelayServer* self = conn->server;
  if (self->stopping_ && self->idle(conn)) self->close_connection(conn);
}

void RelayServer::on_event(bufferevent*, short what, void* arg) {
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT)) {
    auto* conn = static_cast<Connection*>(arg);
    conn->server->close_connection(conn);
  }
}

void RelayServer::close_connection(Connection* conn) {
  auto it = connections_.find(conn->id);
  if (it == connections_.end()) return;
  // A job in progress goes on (its server may already have the message); its reply is dropped
  // and qmgr, which hung up, learns the outcome from the next attempt.
  bufferevent_free(conn->bev);
  connections_.erase(it);
  check_stopped();
}

}  // namespace postern::relay
