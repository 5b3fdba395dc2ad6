// Login for imapd's sessions (see imap_session.hpp): LOGIN and AUTHENTICATE PLAIN (with SASL-IR
// and the continuation exchange) through lib/auth/sasl_server against the accounts, the failed-login
// throttle of lib/auth/auth_throttle shared by the process (a throttled failure is answered from a
// timer; past the refusal threshold "NO [UNAVAILABLE]"), the per user+address connection limit,
// and opening the user's mail store. Runs on postern-imapd's event loop. Names and passwords are
// hostile: SaslServer bounds and checks them; a name is made printable (and stripped of the
// characters a log parser splits on) before it is logged; a password is never logged and the
// copy made for LOGIN is wiped. Failures are logged in the shape fail2ban's dovecot filter reads:
//   auth: passwd-file(alice@example.org,192.0.2.1): Password mismatch
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "imapd/imap_server.hpp"
#include "imapd/imap_session.hpp"
#include "imapd/imapd_settings.hpp"
#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"

namespace postern::imapd {
namespace {

constexpr std::string_view kRefused =
    "NO [UNAVAILABLE] Too many failed authentication attempts, try again later.";
constexpr std::string_view kFailed = "NO [AUTHENTICATIONFAILED] Authentication failed.";

// A user name as a log field fail2ban's patterns can split reliably: printable, and no blank,
// comma or parenthesis (they delimit the fields around it).
std::string log_user(std::string_view user) {
  std::string shown = log::printable(user, 100);
  for (char& c : shown) {
    if (c == ' ' || c == ',' || c == '(' || c == ')' || c == '<' || c == '>') c = '?';
  }
  return shown;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

bool is_loopback(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1";
}

}  // namespace

bool ImapSession::auth_allowed() const {
  const ImapdSettings& settings = server_.settings();
  if (tls_active_ || !settings.tls_auth_only) return true;
  return settings.loopback_plaintext_auth && is_loopback(client_address_);
}

void ImapSession::handle_login(const ImapCommand& command) {
  if (state_ != SessionState::kNotAuthenticated) return tagged(command.tag, "BAD Already logged in.");
  if (command.args.size() != 2 || !command.args[0].astring() || !command.args[1].astring()) {
    return tagged(command.tag, "BAD LOGIN needs a user name and a password.");
  }
  if (!auth_allowed()) {
    return tagged(command.tag,
                  "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                  "connections.");
  }
  pending_tag_ = command.tag;
  auth_mechanism_ = "LOGIN";
  ++auth_attempts_;
  if (server_.auth_throttle().check(client_address_, "").refuse) {
    login_failed(kRefused, "", false);
    return;
  }
  // LOGIN is PLAIN with the identity and password given as strings: one checker for both.
  std::string response = std::string(1, '\0') + std::string(*command.args[0].astring()) + '\0' +
                         std::string(*command.args[1].astring());
  std::string encoded = base64(response);
  OPENSSL_cleanse(response.data(), response.size());
  if (!sasl_) sasl_.emplace(server_.accounts(), server_.settings().sasl_local_domain);
  SaslStep step = sasl_->start("PLAIN", std::string_view(encoded));
  OPENSSL_cleanse(encoded.data(), encoded.size());
  on_sasl_step(std::move(step));
}

void ImapSession::handle_authenticate(const ImapCommand& command) {
  if (state_ != SessionState::kNotAuthenticated) return tagged(command.tag, "BAD Already logged in.");
  if (command.args.empty() || command.args.size() > 2 || !command.args[0].is_atom() ||
      (command.args.size() == 2 && !command.args[1].astring())) {
    return tagged(command.tag, "BAD AUTHENTICATE needs a mechanism.");
  }
  if (!auth_allowed()) {
    return tagged(command.tag,
                  "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure "
                  "connections.");
  }
  pending_tag_ = command.tag;
  auth_mechanism_ = ascii_uppercase(command.args[0].text);
  ++auth_attempts_;
  if (server_.auth_throttle().check(client_address_, "").refuse) {
    login_failed(kRefused, "", false);
    return;
  }
  std::optional<std::string_view> initial;
  if (command.args.size() == 2) initial = *command.args[1].astring();  // SASL-IR; "=" is empty
  if (!sasl_) sasl_.emplace(server_.accounts(), server_.settings().sasl_local_domain);
  on_sasl_step(sasl_->start(auth_mechanism_, initial));
}

void ImapSession::handle_auth_response(const ImapCommand& line) {
  phase_ = Phase::kCommand;
  std::string_view text = line.args.empty() ? std::string_view() : line.args[0].text;
  on_sasl_step(sasl_->step(text));
}

void ImapSession::on_sasl_step(SaslStep step) {
  AuthThrottle& throttle = server_.auth_throttle();
  if (step.outcome == SaslOutcome::kContinue) {
    phase_ = Phase::kAuthResponse;
    reader_.expect_raw_line();
    write("+ " + step.challenge + "\r\n");
    return;
  }
  phase_ = Phase::kCommand;
  if (step.outcome == SaslOutcome::kSuccess) {
    // A refused user gets the refusal whether the password was right or not: no oracle.
    if (throttle.check(client_address_, step.user).refuse) {
      login_failed(kRefused, step.user, false);
      return;
    }
    throttle.record_success(client_address_, step.user);
    login_succeeded(step.user);
    return;
  }
  switch (step.failure) {
    case SaslFailure::kBadCredentials:
    case SaslFailure::kAuthzidMismatch:
    case SaslFailure::kMalformed: {
      if (!step.user.empty() && throttle.check(client_address_, step.user).refuse) {
        login_failed(kRefused, step.user, false);
        return;
      }
      login_failed(kFailed, step.user, true);
      return;
    }
    case SaslFailure::kTemporary:
      log::warning("{}: {} authentication failed: temporary failure (accounts database)",
                   client_label(), log::printable(auth_mechanism_, 20));
      return tagged(pending_tag_, "NO [UNAVAILABLE] Temporary authentication failure.");
    case SaslFailure::kCancelled:
      return tagged(pending_tag_, "BAD Authentication cancelled.");
    case SaslFailure::kUnsupportedMechanism:
      return tagged(pending_tag_, "NO [CANNOT] Unsupported authentication mechanism.");
    case SaslFailure::kTooLong:
      return tagged(pending_tag_, "BAD Authentication response too long.");
    default:
      return tagged(pending_tag_, "BAD Invalid authentication exchange.");
  }
}

void ImapSession::login_failed(std::string_view reply, std::string_view user, bool counted) {
  AuthThrottle& throttle = server_.auth_throttle();
  if (!counted) {
    log::info("{}: {} authentication refused: too many failed attempts{}{}", client_label(),
              log::printable(auth_mechanism_, 20), user.empty() ? "" : ", user=",
              log_user(user));
    return tagged(pending_tag_, reply);
  }
  // Dovecot's auth process line, which fail2ban's stock dovecot filter matches.
  log::info("auth: passwd-file({},{}): Password mismatch", log_user(user), client_address_);
  throttle.record_failure(client_address_, user);
  AuthThrottleVerdict verdict = throttle.check(client_address_, user);
  reply_after(pending_tag_ + " " + std::string(reply) + "\r\n", verdict.delay);
}

void ImapSession::reply_after(std::string reply_line, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    // Counted as a BAD only when it is one; a failed login is a NO.
    bad_in_a_row_ = 0;
    write(reply_line);
    return;
  }
  // Answered later from the timer; meanwhile nothing is read (a pipelined second attempt waits
  // its turn) and the loop serves the other sessions.
  delayed_reply_ = std::move(reply_line);
  phase_ = Phase::kPaused;
  bufferevent_disable(bev_.get(), EV_READ);
  timeval pause{static_cast<time_t>(delay.count() / 1000),
                static_cast<suseconds_t>((delay.count() % 1000) * 1000)};
  evtimer_add(timer_.get(), &pause);
}

void ImapSession::login_succeeded(const std::string& user) {
  const ImapdSettings& settings = server_.settings();
  if (!server_.acquire_login(user, client_address_)) {
    log::info("{}: login of {} refused: imapd_user_ip_connection_limit ({}) reached",
              client_label(), log_user(user), settings.user_ip_connection_limit);
    return tagged(pending_tag_,
                  "NO [LIMIT] Too many connections for this user from this address.");
  }
  Result<std::unique_ptr<MailStore>> store =
      MailStore::open(server_.registry(), settings.mail_base, user);
  if (!store) {
    server_.release_login(user, client_address_);
    log::error("{}: cannot open the mail store of {}: {}", client_label(), user,
               store.error().describe());
    return tagged(pending_tag_, "NO [UNAVAILABLE] Mailbox not available, try again later.");
  }
  store_ = std::move(store).value();
  if (Status created = store_->ensure_special_use_folders(); !created) {
    log::warning("{}: special-use folders of {}: {}", client_label(), user,
                 created.error().describe());
  }
  login_counted_ = true;
  user_ = user;
  state_ = SessionState::kAuthenticated;
  sasl_.reset();
  ImapParserLimits limits = reader_.limits();
  limits.max_append_literal_bytes =
      settings.message_size_limit == 0 ? (size_t{1} << 30) : settings.message_size_limit;
  reader_.set_limits(limits);
  set_timeouts();
  log::info("Login: user=<{}>, method={}, rip={}{}", user, log::printable(auth_mechanism_, 20),
            client_address_, tls_active_ ? ", TLS" : "");
  tagged(pending_tag_, "OK [CAPABILITY " + capabilities() + "] Logged in");
}

}  // namespace postern::imapd
