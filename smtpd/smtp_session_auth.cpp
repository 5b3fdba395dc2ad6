// The submission parts of the session state machine (see smtp_session.hpp): AUTH PLAIN/LOGIN
// with its 334 exchange, failed-login throttling, and the header section held back, checked and
// completed before it reaches the queue file. Run by postern-submission inside libevent
// callbacks; postern-smtpd reaches only the first lines of handle_auth (503) and the pass-through
// of append_message_bytes. Nothing here blocks: a throttled failure is answered from a timer,
// the password check is one crypt_r call, the sender checks are LMDB read transactions. Every
// client byte is hostile: responses are bounded by kMaxSaslResponseBytes (SaslServer decodes
// them), user names are made printable before they are logged, the header section is bounded by
// header_size_limit.
#include <fmt/format.h>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "smtpd/smtp_server.hpp"
#include "smtpd/smtp_session.hpp"
#include "smtpd/submission_headers.hpp"

namespace postern::smtpd {
namespace {

constexpr size_t kMaxLoggedUserBytes = 100;
constexpr std::string_view kRefusedReply =
    "454 4.7.0 Too many failed authentication attempts, try again later";

}  // namespace

bool SmtpSession::auth_offered() const {
  const SmtpdSettings& settings = server_.settings();
  return settings.submission && (tls_active_ || !settings.tls_auth_only);
}

void SmtpSession::handle_auth(const SmtpCommand& command) {
  const SmtpdSettings& settings = server_.settings();
  if (!settings.submission) {
    reply("503 5.5.1 Error: authentication not enabled");
    return;
  }
  if (helo_.empty() || !esmtp_) {
    reply("503 5.5.1 Error: send EHLO first");
    return;
  }
  if (!auth_offered()) {
    reply("530 5.7.0 Must issue a STARTTLS command first");
    return;
  }
  if (!login_.empty()) {
    reply("503 5.5.1 Error: already authenticated");
    return;
  }
  if (transaction_.active()) {
    reply("503 5.5.1 Error: MAIL transaction in progress");
    return;
  }
  std::string_view argument = command.argument;
  size_t space = argument.find(' ');
  auth_mechanism_ = ascii_uppercase(argument.substr(0, space));
  std::optional<std::string_view> initial_response;
  if (space != std::string_view::npos) initial_response = argument.substr(space + 1);
  ++counters_[kAuthCount];

  // The client address may already be refused; the user is known only once the exchange ends.
  if (server_.auth_throttle().check(client_address_, "").refuse) {
    refuse_auth("");
    return;
  }
  if (!sasl_) sasl_.emplace(server_.accounts(), settings.sasl_local_domain);
  on_sasl_step(sasl_->start(auth_mechanism_, initial_response));
}

void SmtpSession::handle_auth_response(std::string_view line) {
  on_sasl_step(sasl_->step(line));
}

void SmtpSession::on_sasl_step(SaslStep step) {
  AuthThrottle& throttle = server_.auth_throttle();
  if (step.outcome == SaslOutcome::kContinue) {
    phase_ = Phase::kAuthResponse;
    send_line("334 " + step.challenge);
    return;
  }
  phase_ = Phase::kCommand;
  const std::string mechanism = log::printable(auth_mechanism_, 20);
  if (step.outcome == SaslOutcome::kSuccess) {
    // A refused user gets the refusal whether the password was right or not: no oracle.
    if (throttle.check(client_address_, step.user).refuse) {
      refuse_auth(step.user);
      return;
    }
    throttle.record_success(client_address_, step.user);
    login_ = std::move(step.user);
    ++auth_successes_;
    log::info("{}: sasl_method={}, sasl_username={}", client_label(), mechanism, login_);
    reply("235 2.7.0 Authentication successful");
    return;
  }
  const std::string_view failure_reply = sasl_failure_smtp_reply(step.failure);
  switch (step.failure) {
    case SaslFailure::kBadCredentials:
    case SaslFailure::kAuthzidMismatch:
    case SaslFailure::kMalformed: {
      if (!step.user.empty() && throttle.check(client_address_, step.user).refuse) {
        refuse_auth(step.user);
        return;
      }
      // The shape of Postfix's line, which fail2ban's postfix filter (mode auth) matches.
      std::string user_field;
      if (!step.user.empty()) {
        user_field = ", sasl_username=" + log::printable(step.user, kMaxLoggedUserBytes);
      }
      log::warning("{}: SASL {} authentication failed: authentication failure{}", client_label(),
                   mechanism, user_field);
      throttle.record_failure(client_address_, step.user);
      AuthThrottleVerdict verdict = throttle.check(client_address_, step.user);
      reply_after(failure_reply, verdict.delay);
      return;
    }
    case SaslFailure::kTemporary:
      log::warning("{}: SASL {} authentication failed: temporary failure (accounts database)",
                   client_label(), mechanism);
      reply(failure_reply);
      return;
    default:  // unsupported mechanism, cancelled, too long: nothing was tried
      reply(failure_reply);
      return;
  }
}

void SmtpSession::refuse_auth(std::string_view user) {
  phase_ = Phase::kCommand;
  std::string user_field;
  if (!user.empty()) user_field = ", sasl_username=" + log::printable(user, kMaxLoggedUserBytes);
  log::warning("{}: SASL {} authentication refused: too many failed attempts{}", client_label(),
               log::printable(auth_mechanism_, 20), user_field);
  reply(kRefusedReply);
}

void SmtpSession::reply_after(std::string_view line, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    reply(line);
    return;
  }
  // The failure is answered later from the timer; meanwhile nothing is read (a pipelined
  // second attempt waits its turn), and the loop serves the other sessions.
  delayed_reply_ = std::string(line);
  phase_ = Phase::kPaused;
  bufferevent_disable(bev_.get(), EV_READ);
  timeval pause{static_cast<time_t>(delay.count() / 1000),
                static_cast<suseconds_t>((delay.count() % 1000) * 1000)};
  evtimer_add(timer_.get(), &pause);
}

// ---- the header section (submission) -------------------------------------------------------

void SmtpSession::append_message_bytes(std::string_view bytes) {
  Transaction& t = transaction_;
  if (!t.headers || t.headers_written) {
    t.intake->append(bytes);
    return;
  }
  size_t header_bytes = t.headers->feed(bytes);
  if (!t.headers->complete()) return;  // all of it was header, held in the collector
  finish_header_section();
  if (header_bytes < bytes.size()) t.intake->append(bytes.substr(header_bytes));
}

void SmtpSession::finish_header_section() {
  Transaction& t = transaction_;
  t.headers_written = true;
  const HeaderSectionCollector& headers = *t.headers;
  SubmissionHeaderInput input;
  input.header_text = headers.text();
  input.over_limit = headers.over_limit();
  input.login = login_;
  input.envelope_sender = t.sender;
  input.queue_id = t.queue_id;
  input.hostname = server_.settings().hostname;
  input.now = static_cast<int64_t>(std::time(nullptr));
  struct NobodyOwnsAnything : SenderOwnership {
    Result<bool> owns(std::string_view, std::string_view) const override { return false; }
  } nobody;
  const SenderOwnership* ownership = server_.sender_ownership();
  SubmissionHeaderResult result = check_submission_headers(input, ownership ? *ownership : nobody);
  if (!result.refusal.empty()) {
    t.header_refusal = std::move(result.refusal);
    t.intake->abort();  // nothing of this message is kept; the rest is only counted
    t.headers.reset();
    return;
  }
  std::string text = headers.text();
  if (!text.empty() && text.back() != '\n') text += "\r\n";  // BDAT may end without one
  text += result.additions;
  text += "\r\n";  // the empty line that ends the header section
  t.intake->append(text);
  if (!result.added_names.empty()) {
    log::info("{}: added header fields: {}", t.queue_id, result.added_names);
  }
  t.headers.reset();  // the header text is no longer needed
}

}  // namespace postern::smtpd
