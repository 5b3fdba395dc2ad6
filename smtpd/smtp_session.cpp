// The port-25 SMTP session state machine (see smtp_session.hpp): connection, commands, replies
// and the end; DATA/BDAT and the commit are in smtp_session_message.cpp, AUTH and submission's
// header checks in smtp_session_auth.cpp. Run by postern-smtpd inside libevent callbacks:
// nothing here blocks except the queue file writes and fsyncs and the 100 ms qmgr nudge. Client
// bytes are hostile: command lines are bounded by line_length_limit before they are copied.
// Peer text is made printable before it is logged.
#include "smtpd/smtp_session.hpp"

#include <event2/bufferevent_ssl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "lib/base/log.hpp"
#include "lib/net/tls_server.hpp"
#include "smtpd/mail_command.hpp"
#include "smtpd/rcpt_command.hpp"
#include "smtpd/received_header.hpp"
#include "smtpd/smtp_server.hpp"

namespace postern::smtpd {
namespace {

constexpr size_t kReadHighWatermark = 1024 * 1024;  // input held before reading pauses
constexpr int kLingerSeconds = 2;                   // reading after our last reply, to avoid RST
constexpr int kFlushPollMs = 10;                    // TLS: waiting for the socket layer to drain
constexpr int kMaxFlushPolls = 500;

int reply_code(std::string_view line) {
  if (line.size() < 3) return 0;
  return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
}

// MAIL/RCPT parameters as the milters receive them: "KEYWORD=value" or "KEYWORD".
std::vector<std::string> esmtp_arguments(const SmtpCommand& command) {
  std::vector<std::string> args;
  for (const EsmtpParam& param : command.params) {
    args.push_back(param.value ? param.keyword + "=" + *param.value : param.keyword);
  }
  return args;
}

bool starts_with_bdat(std::string_view line) {
  if (line.size() < 4) return false;
  for (size_t i = 0; i < 4; ++i) {
    if ((line[i] & ~0x20) != "BDAT"[i]) return false;
  }
  return line.size() == 4 || line[4] == ' ' || line[4] == '\t';
}

timeval seconds(int s) {
  return timeval{s, 0};
}

uint16_t socket_port(const sockaddr_storage& address) {
  if (address.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&address)->sin_port);
  }
  if (address.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&address)->sin6_port);
  }
  return 0;
}

}  // namespace

SmtpSession::SmtpSession(SmtpServer& server, evutil_socket_t fd, const IpBytes& client_ip,
                         ConnectionSlot slot)
    : server_(server),
      client_ip_(client_ip),
      client_address_(ip_to_string(client_ip)),
      slot_(std::move(slot)),
      data_reader_(server.settings().forbid_bare_newline) {
  UniqueFd owned(fd);
  client_trusted_ = server.settings().mynetworks.contains(client_ip);
  sockaddr_storage address{};
  socklen_t length = sizeof address;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    client_port_ = socket_port(address);
  }
  length = sizeof address;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    daemon_port_ = socket_port(address);
    if (Result<IpBytes> ip = ip_of_sockaddr(reinterpret_cast<sockaddr*>(&address)); ip) {
      daemon_address_ = ip_to_string(*ip);
    }
  }
  if (!server.settings().milters.empty()) {
    milters_ = std::make_unique<milter::MilterChain>(
        server.base(), server.settings().milters,
        [this](std::string_view name) { return milter_macro(name); });
  }
  bev_.reset(
      bufferevent_socket_new(server.base(), fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (bev_) owned.release();  // the bufferevent closes it now
  timer_.reset(evtimer_new(server.base(), on_timer, this));
  data_sink_ = [this](std::string_view bytes) { append_message_bytes(bytes); };
}

SmtpSession::~SmtpSession() = default;

bool SmtpSession::start() {
  if (!bev_ || !timer_) return false;
  setup_bufferevent(bev_.get());
  log::info("connect from {}", client_label());
  if (server_.settings().submission && server_.settings().tls_wrappermode) {
    // Port 465 (RFC 8314): TLS from the first byte; the greeting comes after the handshake.
    greet_after_handshake_ = true;
    Result<SSL*> ssl = server_.tls()->new_session();
    if (!ssl) {
      log::warning("cannot start TLS for {}: {}", client_label(), ssl.error().describe());
      close_now();  // no TLS, no reply possible: the client expects a handshake
      return true;  // already retired
    }
    begin_tls(*ssl);
    return true;
  }
  greet();
  return true;
}

bool SmtpSession::start_refused(std::string_view reply_line) {
  if (!bev_ || !timer_) return false;
  setup_bufferevent(bev_.get());
  close_after(reply_line);
  return true;
}

void SmtpSession::setup_bufferevent(bufferevent* bev) {
  bufferevent_setcb(bev, on_read, on_write, on_event, this);
  bufferevent_setwatermark(bev, EV_READ, 0, kReadHighWatermark);
  timeval timeout = seconds(server_.settings().timeout_seconds);
  bufferevent_set_timeouts(bev, &timeout, &timeout);
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

// ---- callbacks -----------------------------------------------------------------------------

void SmtpSession::on_read(bufferevent*, void* arg) {
  static_cast<SmtpSession*>(arg)->process_input();
}

void SmtpSession::on_write(bufferevent* bev, void* arg) {
  auto* self = static_cast<SmtpSession*>(arg);
  if (self->phase_ == Phase::kClosing && evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
    self->after_output_flushed();
  }
}

void SmtpSession::on_event(bufferevent* bev, short what, void* arg) {
  auto* self = static_cast<SmtpSession*>(arg);
  if (what & BEV_EVENT_CONNECTED) {  // the STARTTLS (or wrapper mode) handshake finished
    TlsSessionInfo info = tls_session_info(bufferevent_openssl_get_ssl(bev));
    self->tls_description_ = info.describe();
    self->tls_active_ = true;
    self->helo_.clear();  // RFC 3207 4.2: forget everything learned before TLS
    self->esmtp_ = false;
    self->login_.clear();
    self->reset_transaction();
    self->phase_ = Phase::kCommand;
    log::info("TLS connection established from {}: {}", self->client_label(),
              self->tls_description_);
    if (self->greet_after_handshake_) {
      self->greet_after_handshake_ = false;
      self->greet();
      return;
    }
    self->process_input();
    return;
  }
  if (self->phase_ == Phase::kClosing) {
    self->close_now();  // EOF, error or the linger/write timeout: we are done either way
    return;
  }
  if (self->phase_ == Phase::kHandshake) {  // no reply is possible in a half-made TLS session
    log::info("SSL_accept {} from {}: {}", (what & BEV_EVENT_TIMEOUT) ? "timeout" : "error",
              self->client_label(), log::printable(tls_bufferevent_errors(bev), 200));
    send_pending_tls_output(bev);  // the alert (e.g. no shared cipher) reaches the client
    self->close_now();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    const char* after = self->phase_ == Phase::kData   ? "DATA"
                        : self->phase_ == Phase::kBdat ? "BDAT"
                                                       : "command";
    log::info("timeout after {} from {}", after, self->client_label());
    if (what & BEV_EVENT_WRITING) {
      self->close_now();  // the client does not read: nobody to tell
    } else {
      self->close_after("421 4.4.2 " + self->server_.settings().hostname +
                        " Error: timeout exceeded");
    }
    return;
  }
  if (self->transaction_.intake) {
    log::info("{}: lost connection after {} from {}", self->transaction_.queue_id,
              self->phase_ == Phase::kData ? "DATA" : "BDAT", self->client_label());
  }
  self->close_now();
}

void SmtpSession::on_timer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<SmtpSession*>(arg);
  if (self->phase_ == Phase::kPaused) {
    self->phase_ = Phase::kCommand;
    bufferevent_enable(self->bev_.get(), EV_READ);
    if (!self->delayed_reply_.empty()) {  // a throttled AUTH failure: its reply is due now
      std::string line = std::move(self->delayed_reply_);
      self->delayed_reply_.clear();
      self->reply(line);
      if (self->pause_pending_) {
        self->pause_for_error_sleep();
        return;
      }
    }
    self->process_input();
  } else if (self->phase_ == Phase::kClosing) {
    self->after_output_flushed();
  }
}

// ---- input ---------------------------------------------------------------------------------

void SmtpSession::process_input() {
  while (true) {
    if (phase_ == Phase::kCommand || phase_ == Phase::kAuthResponse) {
      if (!read_command_line()) break;
    } else if (phase_ == Phase::kData) {
      read_data();
      if (phase_ == Phase::kData) break;  // waiting for more
    } else if (phase_ == Phase::kBdat) {
      read_bdat();
      if (phase_ == Phase::kBdat) break;
    } else {
      break;
    }
    if (pause_pending_ && (phase_ == Phase::kCommand || phase_ == Phase::kAuthResponse)) {
      pause_for_error_sleep();
      break;
    }
  }
  if (phase_ == Phase::kClosing && bev_) {
    evbuffer* in = bufferevent_get_input(bev_.get());
    evbuffer_drain(in, evbuffer_get_length(in));
  }
}

bool SmtpSession::read_command_line() {
  const SmtpdSettings& settings = server_.settings();
  if (errors_ >= settings.hard_error_limit) {
    log::info("too many errors after command from {}", client_label());
    close_after("421 4.7.0 " + settings.hostname + " Error: too many errors");
    return false;
  }
  if (server_.stopping() && !transaction_.active()) {
    close_after("421 4.3.2 Service shutting down");
    return false;
  }
  evbuffer* in = bufferevent_get_input(bev_.get());
  if (discarding_long_line_) {
    evbuffer_ptr lf = evbuffer_search(in, "\n", 1, nullptr);
    if (lf.pos < 0) {
      evbuffer_drain(in, evbuffer_get_length(in));
      return false;
    }
    evbuffer_drain(in, static_cast<size_t>(lf.pos) + 1);
    discarding_long_line_ = false;
    return true;
  }
  // An AUTH response may be as long as RFC 4954 allows; SaslServer bounds and decodes it.
  const size_t limit =
      phase_ == Phase::kAuthResponse ? kMaxSaslResponseBytes : settings.line_length_limit;
  size_t eol_bytes = 0;
  evbuffer_ptr eol = evbuffer_search_eol(in, nullptr, &eol_bytes, EVBUFFER_EOL_LF);
  if (eol.pos < 0) {
    if (evbuffer_get_length(in) > limit + 1) {  // +1: the CR of a line at the limit
      evbuffer_drain(in, evbuffer_get_length(in));
      discarding_long_line_ = true;
      line_too_long();
    }
    return false;
  }
  size_t line_bytes = static_cast<size_t>(eol.pos);
  if (line_bytes > limit + 1) {
    evbuffer_drain(in, line_bytes + eol_bytes);
    line_too_long();
    return true;
  }
  line_.resize(line_bytes);
  evbuffer_remove(in, line_.data(), line_bytes);
  evbuffer_drain(in, eol_bytes);
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.size() > limit) {
    line_too_long();
    return true;
  }
  if (phase_ == Phase::kAuthResponse) {
    handle_auth_response(line_);
    return true;
  }
  ++counters_[kCommandCount];
  handle_command(line_);
  return true;
}

// ---- commands ------------------------------------------------------------------------------

void SmtpSession::handle_command(std::string_view line) {
  SmtpParseOptions options;
  options.rcpt_utf8_allowed = transaction_.utf8;
  SmtpParseResult parsed = parse_smtp_command(line, options);
  if (!parsed.command) {
    const SmtpSyntaxError& error = *parsed.error;
    std::string reply_line = fmt::format("{} {} {}", error.code, error.enhanced, error.text);
    if (starts_with_bdat(line)) {
      // Without a chunk size we cannot tell its bytes from commands: stop here.
      ++counters_[kBdatCount];
      close_after(reply_line);
      return;
    }
    if (error.code == 500) {
      ++counters_[kUnknownCount];
      handle_unknown(line, std::move(reply_line));
      return;
    }
    reply(reply_line);
    return;
  }
  const SmtpCommand& command = *parsed.command;
  switch (command.verb) {
    case SmtpVerb::kHelo:
      ++counters_[kHeloCount];
      handle_helo(command, false);
      return;
    case SmtpVerb::kEhlo:
      ++counters_[kEhloCount];
      handle_helo(command, true);
      return;
    case SmtpVerb::kMail:
      ++counters_[kMailCount];
      handle_mail(command);
      return;
    case SmtpVerb::kRcpt:
      ++counters_[kRcptCount];
      handle_rcpt(command);
      return;
    case SmtpVerb::kData:
      ++counters_[kDataCount];
      handle_data();
      return;
    case SmtpVerb::kBdat:
      ++counters_[kBdatCount];
      handle_bdat(command);
      return;
    case SmtpVerb::kRset:
      ++counters_[kRsetCount];
      reset_transaction();
      reply("250 2.0.0 Ok");
      return;
    case SmtpVerb::kNoop:
      ++counters_[kNoopCount];
      reply("250 2.0.0 Ok");
      return;
    case SmtpVerb::kQuit:
      ++counters_[kQuitCount];
      close_after("221 2.0.0 Bye");
      return;
    case SmtpVerb::kVrfy:
      reply("252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery");
      return;
    case SmtpVerb::kExpn:
      reply("502 5.5.1 Error: command not implemented");
      return;
    case SmtpVerb::kHelp:
      reply("214 2.0.0 Commands: HELO EHLO STARTTLS MAIL RCPT DATA BDAT RSET NOOP VRFY QUIT");
      return;
    case SmtpVerb::kStarttls:
      ++counters_[kStarttlsCount];
      handle_starttls();
      return;
    case SmtpVerb::kAuth:
      handle_auth(command);
      return;
    case SmtpVerb::kUnknown:
      break;
  }
  ++counters_[kUnknownCount];
  handle_unknown(line, "500 5.5.2 Error: command not recognized");
}

void SmtpSession::handle_unknown(std::string_view line, std::string reply_line) {
  if (!milters_) {
    reply(reply_line);
    return;
  }
  // The milters see it first (SMFIC_UNKNOWN); one may answer it with its own refusal.
  run_milter_stage(
      [this, command = std::string(line)](milter::MilterChain::Done done) {
        milters_->unknown(command, done);
      },
      [this, reply_line = std::move(reply_line)](milter::MilterVerdict verdict) {
        if (verdict.kind == milter::MilterVerdict::Kind::kReject ||
            verdict.kind == milter::MilterVerdict::Kind::kTempfail) {
          log_milter("reject", "UNKNOWN", verdict.reply, "");
          reply(verdict.reply);
          return;
        }
        reply(reply_line);
      });
}

void SmtpSession::handle_helo(const SmtpCommand& command, bool esmtp) {
  helo_ = command.argument;
  reset_transaction();  // RFC 5321 4.1.4: EHLO/HELO reset the transaction
  if (milters_) {
    // A milter's refusal here answers MAIL FROM (as with Postfix); EHLO itself succeeds.
    run_milter_stage([this](milter::MilterChain::Done done) { milters_->helo(helo_, done); },
                     [this, esmtp](milter::MilterVerdict verdict) {
                       if (!verdict.proceed()) {
                         log_milter("reject", esmtp ? "EHLO" : "HELO", verdict.reply, "");
                       }
                       esmtp_ = esmtp;
                       send_helo_reply(esmtp);
                     });
    return;
  }
  esmtp_ = esmtp;
  send_helo_reply(esmtp);
}

void SmtpSession::send_helo_reply(bool esmtp) {
  const SmtpdSettings& settings = server_.settings();
  if (!esmtp) {
    reply("250 " + settings.hostname);
    return;
  }
  std::string lines = "250-" + settings.hostname + "\r\n250-PIPELINING\r\n";
  if (settings.message_size_limit != 0) {
    lines += fmt::format("250-SIZE {}\r\n", settings.message_size_limit);
  } else {
    lines += "250-SIZE\r\n";
  }
  if (server_.tls() != nullptr && settings.tls_level != TlsLevel::kNone && !tls_active_) {
    lines += "250-STARTTLS\r\n";
  }
  if (auth_offered()) lines += fmt::format("250-AUTH {}\r\n", SaslServer::kMechanisms);
  lines += "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING";
  send_line(lines);
}

void SmtpSession::handle_mail(const SmtpCommand& command) {
  const SmtpdSettings& settings = server_.settings();
  if (helo_.empty()) {
    reply("503 5.5.1 Error: send HELO/EHLO first");
    return;
  }
  if (transaction_.active()) {
    reply("503 5.5.1 Error: nested MAIL command");
    return;
  }
  if (settings.tls_level == TlsLevel::kEncrypt && !tls_active_) {
    reply("530 5.7.0 Must issue a STARTTLS command first");
    return;
  }
  if (settings.submission && login_.empty()) {
    log::info("NOQUEUE: reject: MAIL from {}: 530 5.7.0 Authentication required; from=<{}> "
              "proto={} helo=<{}>",
              client_label(), log::printable(command.address.to_string(), kMaxLoggedBytes),
              protocol_name(), log::printable(helo_, kMaxLoggedBytes));
    reply("530 5.7.0 Authentication required");
    return;
  }
  MailDecision decision = check_mail_command(command, settings);
  if (decision.accepted && settings.submission && !decision.accepted->sender.empty()) {
    // The null sender <> is allowed (bounces, MDNs, vacation replies); From: is still checked.
    const std::string sender = decision.accepted->sender;  // a copy: accepted may be reset
    const SenderOwnership* ownership = server_.sender_ownership();
    Result<bool> owned = ownership ? ownership->owns(login_, sender) : Result<bool>(false);
    if (!owned) {
      log::warning("sender check for {}: {}", login_, owned.error().describe());
      decision.accepted.reset();
      decision.reply = "451 4.3.0 <" + sender + ">: Temporary lookup failure";
    } else if (!*owned) {
      decision.accepted.reset();
      decision.reply = fmt::format("553 5.7.1 <{}>: Sender address rejected: not owned by user {}",
                                   log::printable(sender, kMaxLoggedBytes), login_);
    }
  }
  if (!decision.accepted) {
    log::info("NOQUEUE: reject: MAIL from {}: {}; from=<{}> proto={} helo=<{}>", client_label(),
              decision.reply, log::printable(command.address.to_string(), kMaxLoggedBytes),
              protocol_name(), log::printable(helo_, kMaxLoggedBytes));
    reply(decision.reply);
    return;
  }
  MailRequest& request = *decision.accepted;
  transaction_.queue_id = new_queue_id();
  transaction_.sender = std::move(request.sender);
  transaction_.utf8 = request.utf8;
  transaction_.body = std::move(request.body);
  transaction_.dsn_ret = std::move(request.dsn_ret);
  transaction_.dsn_envid = std::move(request.dsn_envid);
  if (milters_) {
    std::vector<std::string> args = esmtp_arguments(command);
    run_milter_stage(
        [this, args](milter::MilterChain::Done done) {
          milters_->mail(transaction_.sender, args, done);
        },
        [this, accepted = decision.reply](milter::MilterVerdict verdict) {
          if (verdict.proceed() || verdict.kind == milter::MilterVerdict::Kind::kDiscard) {
            reply(accepted);
            return;
          }
          log_milter("reject", "MAIL", verdict.reply, "");
          reset_transaction();
          reply(verdict.reply);
        });
    return;
  }
  reply(decision.reply);
}

void SmtpSession::handle_rcpt(const SmtpCommand& command) {
  if (!transaction_.active()) {
    reply("503 5.5.1 Error: need MAIL command");
    return;
  }
  if (transaction_.bdat_used) {
    reply("503 5.5.1 Error: RCPT after BDAT");
    return;
  }
  // An authenticated submission client may send anywhere (unknown users of ours still 550).
  RcptContext context{server_.settings(), server_.accounts(), server_.local_recipients(),
                      client_trusted_ || !login_.empty(), transaction_.recipients.size()};
  RcptDecision decision = check_rcpt_command(command, context);
  if (!decision.accepted) {
    log_reject("RCPT", decision.reply, command.address.to_string());
    reply(decision.reply);
    return;
  }
  if (milters_) {
    milter_rcpt_ = decision.accepted->address;
    std::vector<std::string> args = esmtp_arguments(command);
    auto recipient = std::make_shared<QueueRecipient>(std::move(*decision.accepted));
    run_milter_stage(
        [this, args](milter::MilterChain::Done done) { milters_->rcpt(milter_rcpt_, args, done); },
        [this, recipient, accepted = decision.reply](milter::MilterVerdict verdict) {
          if (verdict.proceed() || verdict.kind == milter::MilterVerdict::Kind::kDiscard) {
            accept_recipient(std::move(*recipient), accepted);
            return;
          }
          log_milter("reject", "RCPT", verdict.reply, recipient->address);
          reply(verdict.reply);
        });
    return;
  }
  accept_recipient(std::move(*decision.accepted), decision.reply);
}

void SmtpSession::accept_recipient(QueueRecipient recipient, std::string_view reply_line) {
  if (transaction_.recipients.empty()) {
    if (login_.empty()) {
      log::info("{}: client={}", transaction_.queue_id, client_label());
    } else {
      log::info("{}: client={}, sasl_method={}, sasl_username={}", transaction_.queue_id,
                client_label(), auth_mechanism_, login_);
    }
  }
  transaction_.recipients.push_back(std::move(recipient));
  reply(reply_line);
}

void SmtpSession::handle_starttls() {
  const TlsServerContext* tls = server_.tls();
  if (tls == nullptr || server_.settings().tls_level == TlsLevel::kNone) {
    reply("502 5.5.1 Error: command not implemented");
    return;
  }
  if (tls_active_) {
    reply("554 5.5.1 Error: TLS already active");
    return;
  }
  if (transaction_.active()) {
    reply("503 5.5.1 Error: MAIL transaction in progress");
    return;
  }
  Result<SSL*> ssl = tls->new_session();
  if (!ssl) {
    log::warning("cannot start TLS for {}: {}", client_label(), ssl.error().describe());
    reply("454 4.7.0 TLS not available due to local problem");
    return;
  }
  send_line("220 2.0.0 Ready to start TLS");
  begin_tls(*ssl);
}

void SmtpSession::begin_tls(SSL* ssl) {
  bufferevent* plain = bev_.get();
  // Whatever the client sent after STARTTLS, before the handshake, is dropped unread
  // (RFC 3207 section 5; the plaintext command injection of CVE-2011-0411).
  evbuffer* in = bufferevent_get_input(plain);
  evbuffer_drain(in, evbuffer_get_length(in));
  bufferevent_set_timeouts(plain, nullptr, nullptr);  // the filter times out instead
  bufferevent* filter =
      bufferevent_openssl_filter_new(server_.base(), plain, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (filter == nullptr) {
    SSL_free(ssl);
    log::warning("cannot start TLS for {}: no bufferevent filter", client_label());
    close_now();
    return;
  }
  bev_.release();  // the filter owns the socket bufferevent now
  bev_.reset(filter);
  bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
  setup_bufferevent(filter);
  phase_ = Phase::kHandshake;
}

// ---- replies and the end -------------------------------------------------------------------

void SmtpSession::reply(std::string_view line) {
  int code = reply_code(line);
  if (code >= 400 && code != 421) {
    ++errors_;
    const SmtpdSettings& settings = server_.settings();
    if (errors_ >= settings.soft_error_limit && settings.error_sleep_ms > 0) {
      pause_pending_ = true;
    }
  }
  send_line(line);
}

void SmtpSession::line_too_long() {
  if (phase_ == Phase::kAuthResponse) {  // the exchange cannot go on
    phase_ = Phase::kCommand;
    reply(sasl_failure_smtp_reply(SaslFailure::kTooLong));
    return;
  }
  reply("500 5.5.2 Error: line too long");
}

void SmtpSession::send_line(std::string_view line) {
  if (!bev_) return;
  evbuffer* out = bufferevent_get_output(bev_.get());
  evbuffer_add(out, line.data(), line.size());
  evbuffer_add(out, "\r\n", 2);
}

void SmtpSession::close_after(std::string_view line) {
  send_line(line);
  transaction_.intake.reset();  // an unfinished message is dropped
  phase_ = Phase::kClosing;
  pause_pending_ = false;
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) after_output_flushed();
}

void SmtpSession::after_output_flushed() {
  if (lingering_ || !bev_) return;
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) > 0) return;
  // A TLS filter has handed its bytes to the socket bufferevent under it: wait for that too.
  bufferevent* under = bufferevent_get_underlying(bev_.get());
  if (under != nullptr && evbuffer_get_length(bufferevent_get_output(under)) > 0) {
    if (++flush_polls_ > kMaxFlushPolls) {
      close_now();
      return;
    }
    timeval poll{0, kFlushPollMs * 1000};
    evtimer_add(timer_.get(), &poll);
    return;
  }
  start_lingering();
}

void SmtpSession::start_lingering() {
  // Half-close, then read and drop what the client still sends for a moment: closing with
  // unread input makes the kernel send RST, which can destroy our last reply in flight.
  lingering_ = true;
  ::shutdown(bufferevent_getfd(bev_.get()), SHUT_WR);
  timeval linger = seconds(kLingerSeconds);
  bufferevent_set_timeouts(bev_.get(), &linger, nullptr);
  bufferevent_enable(bev_.get(), EV_READ);
  evbuffer* in = bufferevent_get_input(bev_.get());
  evbuffer_drain(in, evbuffer_get_length(in));
}

void SmtpSession::close_now() {
  if (phase_ == Phase::kDone) return;
  const bool committing = phase_ == Phase::kCommitting;
  phase_ = Phase::kDone;
  transaction_.intake.reset();
  static constexpr const char* kNames[] = {"ehlo", "helo", "starttls", "mail",
                                           "rcpt", "data", "bdat",     "rset",
                                           "noop", "quit", "unknown",  "auth"};
  std::string counts;
  for (int i = 0; i < kCommandCount; ++i) {
    if (counters_[i] == 0) continue;
    if (i == kAuthCount && auth_successes_ != counters_[i]) {
      // Postfix's "auth=ok/tried", which fail2ban's postfix ddos mode reads.
      counts += fmt::format(" auth={}/{}", auth_successes_, counters_[i]);
    } else {
      counts += fmt::format(" {}={}", kNames[i], counters_[i]);
    }
  }
  log::info("disconnect from {}{} commands={}", client_label(), counts, counters_[kCommandCount]);
  timer_.reset();
  bev_.reset();
  if (committing) {
    retire_when_committed_ = true;  // the commit thread's job still calls back into us
    return;
  }
  server_.retire(this);
}

void SmtpSession::server_stopping() {
  switch (phase_) {
    case Phase::kCommand:
    case Phase::kAuthResponse:
    case Phase::kPaused:
      // A transaction under way (MAIL given, or between BDAT chunks) may finish: the 421 comes
      // when it ends (read_command_line). The master's shutdown_grace_time bounds the wait.
      if (transaction_.active()) return;
      close_after("421 4.3.2 Service shutting down");
      return;
    case Phase::kHandshake:
      close_now();
      return;
    case Phase::kData:
    case Phase::kBdat:
    case Phase::kCommitting:
    case Phase::kMilter:
    case Phase::kClosing:
    case Phase::kDone:
      return;
  }
}

void SmtpSession::reset_transaction() {
  if (milters_ && transaction_.active()) milters_->abort_message();
  transaction_.milter_message.reset();  // it reads the spool inside intake
  if (transaction_.intake) transaction_.intake->abort();
  transaction_ = Transaction{};
}

void SmtpSession::pause_for_error_sleep() {
  pause_pending_ = false;
  phase_ = Phase::kPaused;
  bufferevent_disable(bev_.get(), EV_READ);
  int ms = server_.settings().error_sleep_ms;
  timeval pause{ms / 1000, (ms % 1000) * 1000};
  evtimer_add(timer_.get(), &pause);
}

std::string SmtpSession::client_label() const {
  return "unknown[" + client_address_ + "]";
}

std::string SmtpSession::protocol_name() const {
  return received_protocol(esmtp_, tls_active_, !login_.empty(), transaction_.utf8);
}

void SmtpSession::log_reject(std::string_view what, std::string_view reply_line,
                             std::string_view recipient) const {
  log::info("NOQUEUE: reject: {} from {}: {}; from=<{}> to=<{}> proto={} helo=<{}>", what,
            client_label(), log::printable(reply_line, 300),
            log::printable(transaction_.sender, kMaxLoggedBytes),
            log::printable(recipient, kMaxLoggedBytes), protocol_name(),
            log::printable(helo_, kMaxLoggedBytes));
}

}  // namespace postern::smtpd
