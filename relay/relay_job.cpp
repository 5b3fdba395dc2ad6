// One relay delivery, from qmgr's request to its reply (see relay_job.hpp).
#include "relay/relay_job.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"

namespace postern::relay {

namespace {

double now_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

bool has_high_byte(std::string_view text) {
  return std::any_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

// An address that could break a command line (smtpd never writes one; the file is checked).
bool sane_address(std::string_view address) {
  if (address.size() > 1000) return false;
  return std::none_of(address.begin(), address.end(), [](char c) {
    auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f || c == '<' || c == '>';
  });
}

}  // namespace

std::vector<std::string> tls_match_names(TlsLevel level, const NextHop& hop,
                                         const ServerAddress& server) {
  if (!tls_verifies(level)) return {};
  if (hop.ip_literal) return {hop.host};
  if (level == TlsLevel::kSecure && hop.mx_lookup) {
    // Postfix's default smtp_tls_secure_cert_match: the next-hop domain and its subdomains,
    // never a name that came from an (unsigned) MX answer.
    return {hop.host, "." + hop.host};
  }
  return {server.host};
}

RelayJob::RelayJob(RelayContext& context, uint64_t id, RelayRequest request, Done done)
    : context_(context), id_(id), request_(std::move(request)), done_(std::move(done)) {}

RelayJob::~RelayJob() {
  if (lookup_id_ != 0) context_.resolver->cancel(lookup_id_);
  if (waiting_) context_.pool->forget(hop_.text, id_);
}

void RelayJob::fail_early(RecipientResult result) {
  early_result_ = std::move(result);
  event* ev = event_new(
      context_.base, -1, 0,
      [](evutil_socket_t, short, void* arg) {
        auto* self = static_cast<RelayJob*>(arg);
        self->give_all(*self->early_result_);
        self->complete(nullptr, std::nullopt);
      },
      this);
  if (ev == nullptr) log::panic("event_new failed");
  early_.reset(ev);
  event_active(ev, EV_TIMEOUT, 0);
}

void RelayJob::start() {
  const std::string& queue_id = request_.queue_id;
  Result<NextHop> hop = parse_next_hop(request_.nexthop);
  if (!hop) {
    log::warning("{}: bad next hop {:?}: {}", queue_id, log::printable(request_.nexthop),
                 hop.error().message);
    hop_.text = ascii_lowercase(request_.nexthop);
    fail_early(local_result("4.3.5", "bad next hop " + log::printable(request_.nexthop)));
    return;
  }
  hop_ = std::move(hop).value();
  Result<std::shared_ptr<QueuedMessage>> message = QueuedMessage::open(request_.path);
  if (!message) {
    log::warning("{}: cannot read the queue file: {}", queue_id, message.error().describe());
    fail_early(local_result("4.3.0", "cannot read the queue file"));
    return;
  }
  message_ = std::move(message).value();
  const QueueEnvelope& envelope = message_->envelope();
  transaction_.message = message_;
  transaction_.sender = envelope.sender;
  transaction_.dsn_ret = std::string(envelope.attribute("dsn_ret").value_or(""));
  transaction_.dsn_envid = std::string(envelope.attribute("dsn_envid").value_or(""));
  transaction_.body_8bitmime = envelope.attribute("body").value_or("") == "8BITMIME";
  transaction_.smtputf8 = envelope.attribute("smtputf8").value_or("") == "yes";
  for (const RelayRecipient& rcpt : request_.recipients) {
    TransactionRecipient out;
    out.address = rcpt.address;
    const auto index = static_cast<size_t>(rcpt.index);
    if (index < envelope.recipients.size() &&
        ascii_iequals(envelope.recipients[index].address, rcpt.address)) {
      out.orcpt = envelope.recipients[index].orcpt;
      out.notify = envelope.recipients[index].notify;
    }
    if (!sane_address(rcpt.address)) {
      out.result = local_result("5.1.3", "bad recipient address syntax");
    }
    transaction_.recipients.push_back(std::move(out));
  }
  if (!sane_address(transaction_.sender)) {
    fail_early(local_result("5.1.7", "bad sender address syntax"));
    return;
  }
  if (context_.credentials) {
    Result<std::optional<Credentials>> credentials = context_.credentials(hop_);
    if (!credentials) {
      log::warning("{}: cannot read smtp_sasl_password_maps: {}", queue_id,
                   credentials.error().describe());
      fail_early(local_result("4.3.0", "cannot read the relay credentials table"));
      return;
    }
    credentials_ = std::move(credentials).value();
  }
  if (!context_.pool->acquire(hop_.text, id_)) {
    fail_early(local_result("4.3.2", "too many deliveries waiting for " + hop_.text));
    return;
  }
  waiting_ = true;
}

void RelayJob::on_grant(std::unique_ptr<SmtpClient> client,
                        std::optional<RecipientResult> failure) {
  waiting_ = false;
  if (failure) {
    give_all(*failure);
    complete(nullptr, std::nullopt);
    return;
  }
  has_slot_ = true;
  // A cached session the server closed while the grant was on its way is no use.
  if (client && !client->usable()) client.reset();
  if (!client) {
    resolve();
    return;
  }
  client_ = std::move(client);
  reused_ = true;
  relay_label_ = client_->server().label();
  if (!client_->needs_reset()) {
    start_transaction();
    return;
  }
  client_->reset([this](bool ok) {
    if (ok) {
      start_transaction();
      return;
    }
    client_.reset();  // a cached session that cannot RSET: start afresh
    reused_ = false;
    relay_label_ = "none";
    resolve();
  });
}

void RelayJob::resolve() {
  if (hop_.ip_literal) {
    servers_ = {ServerAddress{hop_.host, hop_.host, hop_.port}};
    next_server_ = 0;
    try_next_server();
    return;
  }
  MxResolver* resolver = context_.resolver;
  auto done = [this](MxResult result) {
    lookup_id_ = 0;
    on_resolved(std::move(result));
  };
  Result<uint64_t> lookup =
      hop_.mx_lookup ? resolver->resolve(hop_.host, done) : resolver->resolve_host(hop_.host, done);
  if (!lookup) {
    // A name DNS cannot even ask for. From a recipient domain: permanent; from the admin's
    // relayhost or transport table ("[host]"): a configuration error, wait for a fix.
    fail_early(hop_.mx_lookup
                   ? local_result("5.1.2", "Host or domain name not found: bad domain name " +
                                               log::printable(hop_.host))
                   : local_result("4.3.5", "bad relay host name " + log::printable(hop_.host)));
    return;
  }
  lookup_id_ = *lookup;
}

void RelayJob::on_resolved(MxResult result) {
  const std::string name = log::printable(hop_.host, 255);
  const char* type = hop_.mx_lookup ? "MX" : "A";
  switch (result.status) {
    case MxStatus::kOk:
      break;
    case MxStatus::kNullMx: {
      RecipientResult failure =
          local_result("5.1.10", fmt::format("Domain {} does not accept mail (nullMX)", name));
      give_all(failure);
      complete(nullptr, failure);
      return;
    }
    case MxStatus::kNotFound:
    case MxStatus::kNoAddress: {
      // A recipient domain that does not exist bounces; a relay host that does not resolve is
      // the admin's to fix, so the mail waits.
      RecipientResult failure = local_result(
          hop_.mx_lookup ? (result.status == MxStatus::kNotFound ? "5.1.2" : "5.4.4") : "4.4.4",
          fmt::format("Host or domain name not found. Name service error for name={} type={}: "
                      "Host not found",
                      name, type));
      give_all(failure);
      complete(nullptr, failure);
      return;
    }
    case MxStatus::kTemporary: {
      RecipientResult failure = local_result(
          "4.4.3", fmt::format("Host or domain name not found. Name service error for name={} "
                               "type={}: Host not found, try again ({})",
                               name, type, log::printable(result.reason, 200)));
      give_all(failure);
      complete(nullptr, failure);
      return;
    }
  }
  servers_.clear();
  const RelaySettings& settings = *context_.settings;
  for (const MxHost& host : result.hosts) {
    for (const std::string& address : host.addresses) {
      const bool v6 = address.find(':') != std::string::npos;
      if ((v6 && !settings.want_ipv6) || (!v6 && !settings.want_ipv4)) continue;
      if (servers_.size() < kMaxServerAddresses) {
        servers_.push_back(ServerAddress{host.host, address, hop_.port});
      }
    }
  }
  if (servers_.empty()) {
    RecipientResult failure =
        local_result("4.4.4", fmt::format("no address of an allowed family for {}", name));
    give_all(failure);
    complete(nullptr, failure);
    return;
  }
  next_server_ = 0;
  try_next_server();
}

void RelayJob::try_next_server() {
  if (next_server_ >= servers_.size()) {
    RecipientResult failure =
        last_failure_ ? *last_failure_
                      : local_result("4.4.1", "no server of " + hop_.text + " could be reached");
    give_all(failure);
    complete(nullptr, failure);
    return;
  }
  const ServerAddress& server = servers_[next_server_++];
  relay_label_ = server.label();  // shown only when this server answered (remote_mta set)
  client_ = std::make_unique<SmtpClient>(context_.base, *context_.settings, server);
  ConnectOptions options;
  const RelaySettings& settings = *context_.settings;
  options.tls_level = settings.tls_level;
  options.wrappermode = settings.tls_wrappermode;
  options.tls = context_.tls;
  options.tls_match_names = tls_match_names(settings.tls_level, hop_, server);
  options.credentials = credentials_;
  client_->connect(std::move(options), [this](std::optional<RecipientResult> failure) {
    on_ready(std::move(failure));
  });
}

void RelayJob::on_ready(std::optional<RecipientResult> failure) {
  if (failure) {
    last_failure_ = std::move(failure);
    client_.reset();
    try_next_server();
    return;
  }
  relay_label_ = client_->server().label();
  start_transaction();
}

void RelayJob::start_transaction() {
  const EhloCapabilities& caps = client_->capabilities();
  const std::string label = client_->server().host_and_ip();
  bool utf8 = has_high_byte(transaction_.sender);
  for (const TransactionRecipient& rcpt : transaction_.recipients) {
    if (!rcpt.result && has_high_byte(rcpt.address)) utf8 = true;
  }
  std::optional<RecipientResult> refusal;
  if (message_->eight_bit() && !caps.eight_bit_mime) {
    // RFC 6152 allows refusing instead of converting; we do not convert to 7 bit.
    refusal = local_result("5.6.3", fmt::format("host {} does not announce 8BITMIME and the "
                                                "message has 8-bit content (no conversion)",
                                                label));
  } else if (utf8 && !caps.smtputf8) {
    refusal = local_result("5.6.7", fmt::format("host {} does not announce SMTPUTF8 and an "
                                                "address is not ASCII (RFC 6531)",
                                                label));
  }
  const bool anyone = std::any_of(transaction_.recipients.begin(), transaction_.recipients.end(),
                                  [](const TransactionRecipient& r) { return !r.result; });
  if (refusal || !anyone) {
    if (refusal) {
      refusal->remote_mta = client_->server().host;
      give_all(*refusal);
    }
    complete(std::move(client_), std::nullopt);
    return;
  }
  // Recipients already decided (bad syntax) are left out of the transaction.
  pending_.clear();
  Transaction& tx = transaction_;
  active_ = Transaction{tx.message,       tx.sender,   tx.dsn_ret, tx.dsn_envid,
                        tx.body_8bitmime, tx.smtputf8, {}};
  for (size_t i = 0; i < tx.recipients.size(); ++i) {
    if (tx.recipients[i].result) continue;
    pending_.push_back(i);
    active_.recipients.push_back(tx.recipients[i]);
  }
  client_->run_transaction(active_,
                           [this](TransactionOutcome outcome) { on_transaction(outcome); });
}

void RelayJob::on_transaction(TransactionOutcome outcome) {
  if (!outcome.connection_usable && outcome.lost_before_any_reply && reused_ && !retried_fresh_) {
    // The cached session died before the server said anything about this message: nothing was
    // acknowledged, so a fresh connection is safe (no duplicate).
    retried_fresh_ = true;
    reused_ = false;
    client_.reset();
    relay_label_ = "none";
    resolve();
    return;
  }
  for (size_t i = 0; i < pending_.size(); ++i) {
    transaction_.recipients[pending_[i]].result = active_.recipients[i].result;
  }
  complete(outcome.connection_usable ? std::move(client_) : nullptr, std::nullopt);
}

void RelayJob::give_all(const RecipientResult& result) {
  for (TransactionRecipient& rcpt : transaction_.recipients) {
    if (!rcpt.result) rcpt.result = result;
  }
}

void RelayJob::complete(std::unique_ptr<SmtpClient> keep, std::optional<RecipientResult> failure) {
  const double arrival = message_ ? static_cast<double>(message_->envelope().arrival_time) : 0;
  const double delay = arrival > 0 ? std::max(0.0, now_seconds() - arrival) : 0.0;
  AttrRecord reply;
  for (size_t i = 0; i < request_.recipients.size(); ++i) {
    const RelayRecipient& rcpt = request_.recipients[i];
    RecipientResult result;
    if (i < transaction_.recipients.size() && transaction_.recipients[i].result) {
      result = *transaction_.recipients[i].result;
    } else {
      result = local_result("4.3.0", "internal error: no result");
    }
    const bool connected = result.status == DeliveryStatus::kSent || !result.remote_mta.empty();
    log::info("{}", delivery_log_line(request_.queue_id, rcpt.address,
                                      connected ? relay_label_ : "none", delay, result));
    add_reply_attributes(reply, rcpt.index, result);
  }
  client_.reset();
  if (has_slot_) {
    has_slot_ = false;
    context_.pool->release(hop_.text, std::move(keep), std::move(failure));
  }
  auto done = std::move(done_);
  done(id_, std::move(reply));  // last: the job may be gone after this
}

}  // namespace postern::relay
