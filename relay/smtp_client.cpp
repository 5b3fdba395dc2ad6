// The SMTP client session of postern-relay (see smtp_client.hpp): a stage machine driven by
// libevent callbacks. Server replies are parsed by SmtpReplyParser (bounded) and matched in
// order against the commands sent (RFC 2920 keeps replies in command order), so pipelined and
// lock-step transactions share one code path. The AUTH exchange is never logged.
#include "relay/smtp_client.hpp"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ssl.h>

#include <cstring>
#include <utility>

#include "lib/base/log.hpp"
#include "lib/net/tls_server.hpp"

namespace postern::relay {

namespace {

timeval seconds(int value) {
  return timeval{value, 0};
}

// ESMTP parameter values come from our own queue file (smtpd checked them); a value that could
// break the command line is dropped rather than sent.
bool safe_value(std::string_view value) {
  if (value.empty() || value.size() > 500) return false;
  for (char c : value) {
    auto byte = static_cast<unsigned char>(c);
    if (byte <= 0x20 || byte == 0x7f) return false;
  }
  return true;
}

// A failure while setting up a session never bounces: another host, or a later try, may work.
RecipientResult session_failure(const SmtpReply& reply, std::string_view label,
                                std::string_view host, std::string_view command) {
  RecipientResult result = result_from_reply(reply, label, host, command);
  result.status = DeliveryStatus::kDeferred;
  if (!result.dsn.empty()) result.dsn[0] = '4';
  return result;
}

}  // namespace

std::string ServerAddress::label() const {
  return fmt::format("{}[{}]:{}", host, ip, port);
}
std::string ServerAddress::host_and_ip() const {
  return fmt::format("{}[{}]", host, ip);
}

SmtpClient::SmtpClient(event_base* base, const RelaySettings& settings, ServerAddress server)
    : base_(base),
      settings_(settings),
      server_(std::move(server)),
      alive_(std::make_shared<bool>(true)) {}

SmtpClient::~SmtpClient() {
  *alive_ = false;
}

// ---- plumbing ------------------------------------------------------------------------------

void SmtpClient::set_stage(Stage stage, int timeout_seconds) {
  stage_ = stage;
  if (!bev_) return;
  if (timeout_seconds <= 0) {
    bufferevent_set_timeouts(bev_.get(), nullptr, nullptr);
  } else {
    timeval timeout = seconds(timeout_seconds);
    bufferevent_set_timeouts(bev_.get(), &timeout, &timeout);
  }
}

void SmtpClient::send(std::string_view line) {
  if (!bev_) return;
  std::string out;
  out.reserve(line.size() + 2);
  out.append(line);
  out.append("\r\n");
  bufferevent_write(bev_.get(), out.data(), out.size());
}

void SmtpClient::close_socket() {
  bev_.reset();
  sasl_.reset();
  stage_ = Stage::kClosed;
}

void SmtpClient::on_read(bufferevent*, void* arg) {
  static_cast<SmtpClient*>(arg)->process_input();
}

void SmtpClient::on_write(bufferevent*, void* arg) {
  auto* self = static_cast<SmtpClient*>(arg);
  if (self->stage_ == Stage::kDataBody) self->pump_data();
}

void SmtpClient::on_event(bufferevent* bev, short what, void* arg) {
  auto* self = static_cast<SmtpClient*>(arg);
  if (what & BEV_EVENT_CONNECTED) {
    if (self->stage_ == Stage::kConnecting) {
      // Commands and the end of data go out at once rather than waiting for an ACK (Nagle).
      int one = 1;
      setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      if (self->options_.wrappermode) {
        self->start_tls();
      } else {
        self->set_stage(Stage::kGreeting, self->settings_.timeouts.helo_seconds);
      }
    } else if (self->stage_ == Stage::kTlsHandshake || self->stage_ == Stage::kTlsWrapper) {
      self->tls_established();
    }
    return;
  }
  const bool timeout = (what & BEV_EVENT_TIMEOUT) != 0;
  if (self->stage_ == Stage::kConnecting) {
    int err = evutil_socket_geterror(bufferevent_getfd(bev));
    std::string why =
        timeout ? "Connection timed out" : (err != 0 ? std::strerror(err) : "Connection failed");
    log::info("connect to {}: {}", self->server_.label(), why);
    self->fail_session(
        local_result("4.4.1", fmt::format("connect to {}: {}", self->server_.label(), why)));
    return;
  }
  if (self->stage_ == Stage::kTlsHandshake || self->stage_ == Stage::kTlsWrapper) {
    SSL* ssl = bufferevent_openssl_get_ssl(bev);
    std::string verify = ssl != nullptr ? tls_verify_failure(ssl) : "";
    std::string why = timeout ? "timed out" : !verify.empty() ? verify : openssl_errors();
    if (why.empty()) why = "connection closed";
    log::info("TLS handshake failed with {}: {}", self->server_.label(), log::printable(why, 200));
    self->fail_session(
        local_result(verify.empty() ? "4.7.0" : "4.7.5",
                     fmt::format("TLS handshake failed with {}: {}", self->server_.host_and_ip(),
                                 log::printable(why, 200))));
    return;
  }
  self->connection_broken(timeout ? "timed out" : "lost connection", timeout);
}

void SmtpClient::process_input() {
  if (!bev_) return;
  auto alive = alive_;
  evbuffer* in = bufferevent_get_input(bev_.get());
  // Bounded: each round consumes bytes or stops; the buffer holds at most the read watermark.
  while (bev_) {
    size_t length = evbuffer_get_length(in);
    if (length == 0) return;
    if (stage_ == Stage::kParked || stage_ == Stage::kReady || stage_ == Stage::kDataBody ||
        stage_ == Stage::kConnecting || stage_ == Stage::kClosed) {
      // Nobody asked: a server talking out of turn (or closing with 421) is not to be trusted.
      connection_broken("unexpected data from the server", false);
      return;
    }
    auto* data = reinterpret_cast<const char*>(evbuffer_pullup(in, -1));
    ReplyFeedResult fed = parser_.feed(std::string_view(data, length));
    evbuffer_drain(in, fed.consumed);
    if (fed.event == ReplyEvent::kNeedMore) return;
    if (fed.event == ReplyEvent::kError) {
      connection_broken("malformed reply: " + parser_.error().message, false);
      return;
    }
    if (!handle_reply(parser_.take_reply()) || !*alive) return;
  }
}

bool SmtpClient::handle_reply(SmtpReply reply) {
  switch (stage_) {
    case Stage::kGreeting:
    case Stage::kEhlo:
    case Stage::kHelo:
    case Stage::kStartTls:
    case Stage::kEhloTls:
    case Stage::kAuth:
      return handle_session_reply(std::move(reply));
    case Stage::kMail:
      return handle_transaction_reply(std::move(reply));
    case Stage::kRset: {
      const bool ok = reply.positive();
      if (ok) {
        needs_reset_ = false;
        set_stage(Stage::kReady, 0);
      } else {
        close_socket();
      }
      auto done = std::move(reset_done_);
      done(ok);
      return false;
    }
    case Stage::kQuit: {
      close_socket();
      auto done = std::move(quit_done_);
      if (done) done();
      return false;
    }
    default:
      connection_broken("unexpected reply", false);
      return false;
  }
}

// ---- session set-up ------------------------------------------------------------------------

void SmtpClient::connect(ConnectOptions options, ReadyCallback ready) {
  options_ = std::move(options);
  ready_ = std::move(ready);
  sockaddr_storage address{};
  socklen_t length = 0;
  auto* sin = reinterpret_cast<sockaddr_in*>(&address);
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&address);
  if (inet_pton(AF_INET, server_.ip.c_str(), &sin->sin_addr) == 1) {
    sin->sin_family = AF_INET;
    sin->sin_port = htons(server_.port);
    length = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, server_.ip.c_str(), &sin6->sin6_addr) == 1) {
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(server_.port);
    length = sizeof(sockaddr_in6);
  }
  bev_.reset(bufferevent_socket_new(base_, -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (length == 0 || !bev_) {
    // Reported from the event loop, never from inside connect().
    stage_ = Stage::kConnecting;
    event* ev = event_new(
        base_, -1, 0,
        [](evutil_socket_t, short, void* arg) {
          auto* self = static_cast<SmtpClient*>(arg);
          self->fail_session(local_result(
              "4.4.1",
              fmt::format("connect to {}: cannot create a socket", self->server_.label())));
        },
        this);
    if (ev == nullptr) log::panic("event_new failed");
    deferred_.reset(ev);
    event_active(ev, EV_TIMEOUT, 0);
    return;
  }
  bufferevent_setcb(bev_.get(), on_read, on_write, on_event, this);
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, kMaxClientInputBytes);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  set_stage(Stage::kConnecting, settings_.timeouts.connect_seconds);
  // On an immediate failure libevent reports BEV_EVENT_ERROR from the loop; -1 only for
  // errors it cannot report that way.
  if (bufferevent_socket_connect(bev_.get(), reinterpret_cast<sockaddr*>(&address),
                                 static_cast<int>(length)) != 0) {
    int err = errno;
    bev_.reset();
    event* ev = event_new(
        base_, -1, 0,
        [](evutil_socket_t, short, void* arg) {
          auto* self = static_cast<SmtpClient*>(arg);
          log::info("connect to {}: {}", self->server_.label(),
                    std::strerror(self->connect_errno_));
          self->fail_session(
              local_result("4.4.1", fmt::format("connect to {}: {}", self->server_.label(),
                                                std::strerror(self->connect_errno_))));
        },
        this);
    if (ev == nullptr) log::panic("event_new failed");
    connect_errno_ = err;
    deferred_.reset(ev);
    event_active(ev, EV_TIMEOUT, 0);
  }
}

void SmtpClient::fail_session(RecipientResult failure) {
  close_socket();
  auto ready = std::move(ready_);
  if (ready) ready(std::move(failure));
}

bool SmtpClient::handle_session_reply(SmtpReply reply) {
  const std::string label = server_.host_and_ip();
  switch (stage_) {
    case Stage::kGreeting:
      if (!reply.positive()) {
        log::info("host {} refused to talk to me: {}", label,
                  log::printable(reply.to_string(), 200));
        fail_session(session_failure(reply, label, server_.host, "initial greeting"));
        return false;
      }
      send("EHLO " + settings_.helo_name);
      set_stage(Stage::kEhlo, settings_.timeouts.helo_seconds);
      return true;
    case Stage::kEhlo:
    case Stage::kEhloTls:
    case Stage::kHelo: {
      if (reply.positive()) {
        caps_ = EhloCapabilities{};
        if (stage_ != Stage::kHelo) {
          Result<EhloCapabilities> caps = parse_ehlo_capabilities(reply);
          if (caps) caps_ = std::move(caps).value();
        }
        auto alive = alive_;  // after_ehlo may end the session and its owner may free us
        after_ehlo();
        return *alive && stage_ != Stage::kClosed;
      }
      if (stage_ == Stage::kEhlo && reply.permanent() && !tried_helo_) {
        tried_helo_ = true;
        send("HELO " + settings_.helo_name);
        set_stage(Stage::kHelo, settings_.timeouts.helo_seconds);
        return true;
      }
      fail_session(
          session_failure(reply, label, server_.host, stage_ == Stage::kHelo ? "HELO" : "EHLO"));
      return false;
    }
    case Stage::kStartTls:
      if (reply.code == 220) {
        start_tls();
        return false;  // the input after 220 was dropped; the filter takes over
      }
      if (tls_required(options_.tls_level)) {
        fail_session(session_failure(reply, label, server_.host, "STARTTLS"));
        return false;
      }
      log::info("host {} refused STARTTLS ({}), going on without TLS", label,
                log::printable(reply.to_string(), 200));
      {
        auto alive = alive_;
        start_auth();
        return *alive && stage_ != Stage::kClosed;
      }
    case Stage::kAuth: {
      if (reply.code == 334 && sasl_) {
        std::string challenge = reply.lines.empty() ? "" : reply.lines.front();
        Result<std::string> response = sasl_->step(challenge);
        if (!response) {
          send("*");  // RFC 4954 4: cancel the exchange
          fail_session(local_result("4.7.0", fmt::format("SASL authentication with {} failed: {}",
                                                         label, response.error().message)));
          return false;
        }
        send(*response);  // secret-bearing: never logged
        return true;
      }
      if (reply.code == 235) {
        log::debug("authenticated to {} with SASL {}", label, sasl_ ? sasl_->mechanism() : "");
        sasl_.reset();
        session_ready();
        return false;
      }
      RecipientResult failure = session_failure(reply, label, server_.host, "AUTH");
      failure.reason =
          fmt::format("SASL authentication failed; server {} said: {}", label, failure.diagnostic);
      log::warning("SASL authentication failed; server {} said: {}", label, failure.diagnostic);
      fail_session(std::move(failure));
      return false;
    }
    default:
      return true;
  }
}

void SmtpClient::after_ehlo() {
  if (!tls_active_ && options_.tls_level != TlsLevel::kNone) {
    if (caps_.starttls) {
      send("STARTTLS");
      set_stage(Stage::kStartTls, settings_.timeouts.helo_seconds);
      return;
    }
    if (tls_required(options_.tls_level)) {
      fail_session(local_result(
          "4.7.4",
          fmt::format("TLS is required, but was not offered by host {}", server_.host_and_ip())));
      return;
    }
  }
  start_auth();
}

void SmtpClient::start_tls() {
  if (options_.tls == nullptr) {
    fail_session(local_result("4.7.0", "TLS is not available (no TLS client context)"));
    return;
  }
  std::vector<std::string> match;
  if (tls_verifies(options_.tls_level)) match = options_.tls_match_names;
  Result<SSL*> ssl = options_.tls->new_session(server_.host, match);
  if (!ssl) {
    fail_session(local_result("4.7.0", "cannot start TLS: " + ssl.error().message));
    return;
  }
  bufferevent* plain = bev_.get();
  // Whatever the server sent after its 220, before the handshake, is dropped unread (the
  // STARTTLS response injection of CVE-2011-0411, seen from the client side).
  evbuffer* in = bufferevent_get_input(plain);
  evbuffer_drain(in, evbuffer_get_length(in));
  parser_.reset();
  bufferevent_set_timeouts(plain, nullptr, nullptr);  // the filter times out instead
  bufferevent* filter =
      bufferevent_openssl_filter_new(base_, plain, *ssl, BUFFEREVENT_SSL_CONNECTING,
                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (filter == nullptr) {
    SSL_free(*ssl);
    fail_session(local_result("4.7.0", "cannot start TLS: no bufferevent filter"));
    return;
  }
  bev_.release();  // the filter owns the socket bufferevent now
  bev_.reset(filter);
  bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
  bufferevent_setcb(filter, on_read, on_write, on_event, this);
  bufferevent_setwatermark(filter, EV_READ, 0, kMaxClientInputBytes);
  bufferevent_enable(filter, EV_READ | EV_WRITE);
  set_stage(stage_ == Stage::kConnecting ? Stage::kTlsWrapper : Stage::kTlsHandshake,
            settings_.timeouts.helo_seconds);
}

void SmtpClient::tls_established() {
  tls_active_ = true;
  SSL* ssl = bufferevent_openssl_get_ssl(bev_.get());
  TlsSessionInfo info = tls_session_info(ssl);
  log::info("{} TLS connection established to {}: {}",
            tls_verifies(options_.tls_level) ? "Verified" : "Untrusted", server_.label(),
            info.describe());
  caps_ = EhloCapabilities{};  // RFC 3207 4.2: forget what was learned before TLS
  if (stage_ == Stage::kTlsWrapper) {
    set_stage(Stage::kGreeting, settings_.timeouts.helo_seconds);
    process_input();
    return;
  }
  send("EHLO " + settings_.helo_name);
  set_stage(Stage::kEhloTls, settings_.timeouts.helo_seconds);
}

void SmtpClient::start_auth() {
  if (!options_.credentials || caps_.auth_mechanisms.empty()) {
    session_ready();
    return;
  }
  const Credentials& credentials = *options_.credentials;
  Result<std::unique_ptr<SaslClient>> sasl =
      SaslClient::create(server_.host, credentials.user, credentials.password, tls_active_);
  if (!sasl) {
    fail_session(local_result("4.7.0", fmt::format("cannot authenticate to {}: {}",
                                                   server_.host_and_ip(), sasl.error().message)));
    return;
  }
  sasl_ = std::move(sasl).value();
  Result<std::string> command = sasl_->start(caps_.auth_mechanisms);
  if (!command) {
    std::string why = command.error().message;
    if (!tls_active_) why += " (without TLS no mechanism that sends the password is used)";
    log::warning("cannot authenticate to {}: {}", server_.host_and_ip(), why);
    fail_session(local_result(
        "4.7.0", fmt::format("cannot authenticate to {}: {}", server_.host_and_ip(), why)));
    return;
  }
  send(*command);  // secret-bearing: never logged
  set_stage(Stage::kAuth, settings_.timeouts.helo_seconds);
}

void SmtpClient::session_ready() {
  set_stage(Stage::kReady, 0);
  auto ready = std::move(ready_);
  if (ready) ready(std::nullopt);
}

// ---- transactions --------------------------------------------------------------------------

std::string SmtpClient::mail_command() const {
  const Transaction& tx = *transaction_;
  std::string line = "MAIL FROM:<" + tx.sender + ">";
  if (caps_.size) line += fmt::format(" SIZE={}", tx.message->message_bytes());
  if ((tx.message->eight_bit() || tx.body_8bitmime) && caps_.eight_bit_mime) {
    line += " BODY=8BITMIME";
  }
  if (tx.smtputf8 && caps_.smtputf8) line += " SMTPUTF8";
  if (caps_.dsn) {
    if (safe_value(tx.dsn_ret)) line += " RET=" + tx.dsn_ret;
    if (safe_value(tx.dsn_envid)) line += " ENVID=" + tx.dsn_envid;
  }
  return line;
}

std::string SmtpClient::rcpt_command(const TransactionRecipient& rcpt) const {
  std::string line = "RCPT TO:<" + rcpt.address + ">";
  if (caps_.dsn) {
    if (safe_value(rcpt.notify)) line += " NOTIFY=" + rcpt.notify;
    if (safe_value(rcpt.orcpt)) line += " ORCPT=" + rcpt.orcpt;
  }
  return line;
}

void SmtpClient::run_transaction(Transaction& transaction, TransactionCallback done) {
  transaction_ = &transaction;
  transaction_done_ = std::move(done);
  lost_ = nullptr;
  expected_.clear();
  next_rcpt_ = 0;
  accepted_ = 0;
  replied_ = false;
  mail_failure_.reset();
  data_sent_ = false;
  data_chunk_ = 0;
  stuffer_.reset();
  ++transactions_;
  needs_reset_ = true;  // until the transaction ends cleanly
  if (caps_.pipelining) {
    // RFC 2920 3.1: MAIL, every RCPT and DATA in one write; replies come back in order.
    std::string batch = mail_command() + "\r\n";
    expected_.push_back({Expect::kMail, 0});
    for (size_t i = 0; i < transaction.recipients.size(); ++i) {
      batch += rcpt_command(transaction.recipients[i]) + "\r\n";
      expected_.push_back({Expect::kRcpt, i});
    }
    batch += "DATA\r\n";
    expected_.push_back({Expect::kData, 0});
    next_rcpt_ = transaction.recipients.size();
    data_sent_ = true;
    bufferevent_write(bev_.get(), batch.data(), batch.size());
  } else {
    send(mail_command());
    expected_.push_back({Expect::kMail, 0});
  }
  set_stage(Stage::kMail, settings_.timeouts.mail_seconds);
}

void SmtpClient::give_remaining(const RecipientResult& result) {
  if (transaction_ == nullptr) return;
  for (TransactionRecipient& rcpt : transaction_->recipients) {
    if (!rcpt.result) rcpt.result = result;
  }
}

void SmtpClient::finish_transaction(bool usable) {
  if (usable && bev_) {
    set_stage(Stage::kReady, 0);
  } else {
    close_socket();
  }
  transaction_ = nullptr;
  expected_.clear();
  TransactionOutcome outcome;
  outcome.connection_usable = usable && stage_ == Stage::kReady;
  auto done = std::move(transaction_done_);
  if (done) done(outcome);
}

bool SmtpClient::send_next_lockstep() {
  Transaction& tx = *transaction_;
  if (next_rcpt_ < tx.recipients.size()) {
    send(rcpt_command(tx.recipients[next_rcpt_]));
    expected_.push_back({Expect::kRcpt, next_rcpt_});
    ++next_rcpt_;
    set_stage(Stage::kMail, settings_.timeouts.rcpt_seconds);
    return true;
  }
  if (accepted_ > 0) {
    send("DATA");
    data_sent_ = true;
    expected_.push_back({Expect::kData, 0});
    set_stage(Stage::kMail, settings_.timeouts.data_init_seconds);
    return true;
  }
  // Every recipient was refused: the transaction stays open at the server until RSET.
  needs_reset_ = true;
  finish_transaction(true);
  return false;
}

bool SmtpClient::handle_transaction_reply(SmtpReply reply) {
  if (expected_.empty()) {
    connection_broken("unexpected reply", false);
    return false;
  }
  replied_ = true;
  const Expected head = expected_.front();
  expected_.pop_front();
  Transaction& tx = *transaction_;
  const std::string label = server_.host_and_ip();
  static constexpr const char* kCommandNames[] = {"MAIL FROM",   "RCPT TO", "DATA",
                                                  "end of DATA", "RSET",    "QUIT"};
  const char* command = kCommandNames[static_cast<int>(head.what)];
  if (reply.code == 421) {
    // The server is closing the session: what it did not accept yet is deferred with its
    // words (nothing after this reply can have been acknowledged).
    give_remaining(result_from_reply(reply, label, server_.host, command));
    finish_transaction(false);
    return false;
  }
  switch (head.what) {
    case Expect::kMail:
      if (!reply.positive()) {
        mail_failure_ = reply;
        if (!caps_.pipelining) {
          give_remaining(result_from_reply(reply, label, server_.host, command));
          needs_reset_ = true;
          finish_transaction(true);
          return false;
        }
        break;
      }
      if (!caps_.pipelining) return send_next_lockstep();
      break;
    case Expect::kRcpt:
      if (!mail_failure_) {
        if (reply.positive()) {
          ++accepted_;
        } else {
          tx.recipients[head.index].result = result_from_reply(reply, label, server_.host, command);
        }
      }
      if (!caps_.pipelining) return send_next_lockstep();
      break;
    case Expect::kData:
      if (reply.code == 354) {
        if (mail_failure_ || accepted_ == 0) {
          // A server that lets DATA through with nobody to deliver to: end the empty message.
          send(".");
          expected_.push_back({Expect::kDataDone, 0});
          set_stage(Stage::kMail, settings_.timeouts.data_done_seconds);
          return true;
        }
        auto alive = alive_;
        start_data_body();
        return *alive && stage_ != Stage::kClosed;
      }
      if (mail_failure_) {
        give_remaining(result_from_reply(*mail_failure_, label, server_.host, "MAIL FROM"));
      } else {
        give_remaining(result_from_reply(reply, label, server_.host, command));
      }
      needs_reset_ = true;
      finish_transaction(true);
      return false;
    case Expect::kDataDone:
      if (mail_failure_) {
        give_remaining(result_from_reply(*mail_failure_, label, server_.host, "MAIL FROM"));
      } else {
        give_remaining(result_from_reply(reply, label, server_.host, command));
      }
      needs_reset_ = false;
      finish_transaction(true);
      return false;
    default:
      break;
  }
  // Pipelined: the timeout of the next reply we wait for.
  if (!expected_.empty()) {
    const Expect next = expected_.front().what;
    set_stage(Stage::kMail, next == Expect::kRcpt   ? settings_.timeouts.rcpt_seconds
                            : next == Expect::kData ? settings_.timeouts.data_init_seconds
                                                    : settings_.timeouts.data_done_seconds);
  }
  return true;
}

void SmtpClient::start_data_body() {
  stage_ = Stage::kDataBody;
  // While the body goes out the server says nothing: only the write side can time out.
  timeval xfer = seconds(settings_.timeouts.data_xfer_seconds);
  bufferevent_set_timeouts(bev_.get(), nullptr, &xfer);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, kDataWriteLowBytes, 0);
  pump_data();
}

void SmtpClient::pump_data() {
  Transaction& tx = *transaction_;
  evbuffer* out = bufferevent_get_output(bev_.get());
  // Bounded per call by the high-water mark: the rest follows when the socket drains.
  while (evbuffer_get_length(out) < kDataWriteHighBytes) {
    encoded_.clear();
    if (data_chunk_ >= tx.message->chunk_count()) {
      stuffer_.finish(encoded_);
      bufferevent_write(bev_.get(), encoded_.data(), encoded_.size());
      bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
      expected_.push_back({Expect::kDataDone, 0});
      set_stage(Stage::kMail, settings_.timeouts.data_done_seconds);
      return;
    }
    if (Status read = tx.message->read_chunk(data_chunk_++, chunk_buffer_); !read) {
      // Never end the data on a partial message: hang up instead, so the server drops it.
      log::warning("{}: cannot read the queue file: {}", tx.message->envelope().queue_id,
                   read.error().describe());
      give_remaining(local_result("4.3.0", "cannot read the queue file"));
      finish_transaction(false);
      return;
    }
    stuffer_.encode(chunk_buffer_, encoded_);
    bufferevent_write(bev_.get(), encoded_.data(), encoded_.size());
  }
}

const char* SmtpClient::stage_description() const {
  switch (stage_) {
    case Stage::kGreeting:
      return "receiving the initial server greeting";
    case Stage::kEhlo:
    case Stage::kEhloTls:
      return "performing the EHLO handshake";
    case Stage::kHelo:
      return "performing the HELO handshake";
    case Stage::kStartTls:
      return "sending STARTTLS";
    case Stage::kAuth:
      return "performing SASL authentication";
    case Stage::kDataBody:
      return "sending message body";
    case Stage::kMail:
      if (!expected_.empty()) {
        switch (expected_.front().what) {
          case Expect::kMail:
            return "sending MAIL FROM";
          case Expect::kRcpt:
            return "sending RCPT TO";
          case Expect::kData:
            return "sending DATA command";
          case Expect::kDataDone:
            return "sending end of data -- message may be sent more than once";
          default:
            break;
        }
      }
      return "sending MAIL FROM";
    case Stage::kRset:
      return "sending RSET";
    default:
      return "talking to the server";
  }
}

void SmtpClient::connection_broken(std::string why, bool timeout) {
  const std::string label = server_.host_and_ip();
  std::string reason =
      timeout ? fmt::format("conversation with {} timed out while {}", label, stage_description())
              : fmt::format("lost connection with {} while {}", label, stage_description());
  if (why != "lost connection" && why != "timed out") reason += " (" + why + ")";
  switch (stage_) {
    case Stage::kGreeting:
    case Stage::kEhlo:
    case Stage::kHelo:
    case Stage::kStartTls:
    case Stage::kEhloTls:
    case Stage::kAuth:
      log::info("{}", reason);
      fail_session(local_result("4.4.2", reason));
      return;
    case Stage::kMail:
    case Stage::kDataBody: {
      RecipientResult result = local_result("4.4.2", reason);
      result.remote_mta = server_.host;
      give_remaining(result);
      const bool nothing = !replied_;
      close_socket();
      transaction_ = nullptr;
      expected_.clear();
      TransactionOutcome outcome;
      outcome.lost_before_any_reply = nothing;
      auto done = std::move(transaction_done_);
      if (done) done(outcome);
      return;
    }
    case Stage::kRset: {
      close_socket();
      auto done = std::move(reset_done_);
      if (done) done(false);
      return;
    }
    case Stage::kParked: {
      close_socket();
      auto lost = std::move(lost_);
      if (lost) lost();
      return;
    }
    case Stage::kQuit: {
      close_socket();
      auto done = std::move(quit_done_);
      if (done) done();
      return;
    }
    default:
      close_socket();
      return;
  }
}

// ---- between transactions ------------------------------------------------------------------

void SmtpClient::reset(std::function<void(bool ok)> done) {
  reset_done_ = std::move(done);
  lost_ = nullptr;
  send("RSET");
  set_stage(Stage::kRset, settings_.timeouts.helo_seconds);
}

void SmtpClient::park(std::function<void()> on_lost) {
  lost_ = std::move(on_lost);
  set_stage(Stage::kParked, 0);
}

void SmtpClient::quit(std::function<void()> done) {
  quit_done_ = std::move(done);
  lost_ = nullptr;
  send("QUIT");
  set_stage(Stage::kQuit, kQuitWaitSeconds);
}

}  // namespace postern::relay
