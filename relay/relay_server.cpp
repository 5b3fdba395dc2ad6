// The postern-relay service loop on private/relay (see relay_server.hpp).
#include "relay/relay_server.hpp"

#include <utility>

#include "lib/base/log.hpp"

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
            }),
      server_(base, std::move(listen_fd), kMaxRelayConnections, "relay",
              [this](AttrRecord record, IpcServer::ReplyFn reply) {
                return handle(std::move(record), std::move(reply));
              }) {
  context_.base = base_;
  context_.settings = &settings_;
  context_.tls = tls_.get();
  context_.resolver = resolver_.get();
  context_.pool = &pool_;
  context_.credentials = [this](const NextHop& hop) { return find_credentials(hop); };
}

RelayServer::~RelayServer() {
  jobs_.clear();
}

void RelayServer::stop(std::function<void()> on_stopped) {
  pool_.close_idle();
  server_.stop(std::move(on_stopped));
}

Status RelayServer::handle(AttrRecord record, IpcServer::ReplyFn reply) {
  Result<RelayRequest> request = parse_relay_request(record, settings_.active_dir);
  if (!request) return request.error();
  const uint64_t job_id = next_job_id_++;
  job_replies_.emplace(job_id, std::move(reply));
  auto job = std::make_unique<RelayJob>(
      context_, job_id, std::move(request).value(),
      [this](uint64_t id, AttrRecord result) { job_done(id, std::move(result)); });
  RelayJob* raw = job.get();
  jobs_.emplace(job_id, std::move(job));
  raw->start();  // never completes from inside start()
  return Status::success();
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
  auto reply_it = job_replies_.find(job_id);
  if (reply_it != job_replies_.end()) {
    IpcServer::ReplyFn send = std::move(reply_it->second);
    job_replies_.erase(reply_it);
    // Dropped by the server if qmgr hung up meanwhile: a job in progress goes on (its server may
    // already have the message) and qmgr learns the outcome from the next attempt.
    send(reply.encode());
  }
  // job (and the callback we are running in, which it owned) is freed here, after the
  // callback's own work: RelayJob::complete moved done_ out before calling it.
  job.reset();
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

}  // namespace postern::relay
