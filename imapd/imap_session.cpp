// The IMAP session state machine (see imap_session.hpp), run by postern-imapd inside libevent
// callbacks. Client bytes go through ImapCommandReader (bounded before anything is buffered);
// output is bounded by pausing the reading side while more than kMaxOutputBytes wait to leave;
// peer text is made printable before it is logged.
#include "imapd/imap_session.hpp"

#include <event2/bufferevent_ssl.h>
#include <sys/socket.h>

#include "imapd/compress.hpp"
#include "imapd/imap_server.hpp"
#include "imapd/imapd_settings.hpp"
#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/net/tls_server.hpp"

namespace postern::imapd {
namespace {

constexpr int kLingerSeconds = 2;
constexpr int kPollMs = 20;  // output drain and TLS flush polling
constexpr int kMaxFlushPolls = 250;
constexpr size_t kMaxIdPairs = 30;        // RFC 2971: at most 30 field-value pairs
constexpr size_t kMaxIdFieldBytes = 30;   // RFC 2971
constexpr size_t kMaxIdValueBytes = 1024;  // RFC 2971
constexpr const char* kVersion = "0.1.0";

timeval ms_timeval(int ms) {
  return timeval{ms / 1000, (ms % 1000) * 1000};
}

}  // namespace

ImapSession::ImapSession(ImapServer& server, evutil_socket_t fd, const IpBytes& client_ip)
    : server_(server), client_ip_(client_ip), client_address_(ip_to_string(client_ip)) {
  UniqueFd owned(fd);
  bev_.reset(
      bufferevent_socket_new(server.base(), fd, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (bev_) owned.release();
  timer_.reset(evtimer_new(server.base(), on_timer, this));
  const ImapdSettings& settings = server.settings();
  ImapParserLimits limits;
  limits.max_line_bytes = settings.max_line_bytes;
  limits.max_literal_bytes = settings.max_line_bytes;
  limits.max_append_literal_bytes = settings.max_line_bytes;  // APPEND's size after login only
  limits.max_command_bytes = std::max<size_t>(limits.max_command_bytes, 2 * settings.max_line_bytes);
  reader_ = ImapCommandReader(limits);
}

ImapSession::~ImapSession() {
  if (selected_) selected_->set_change_callback({});
  if (login_counted_) server_.release_login(user_, client_address_);
}

const ImapdSettings& ImapSession::settings() const {
  return server_.settings();
}

bool ImapSession::start() {
  if (!bev_ || !timer_) return false;
  setup_bufferevent(bev_.get());
  log::info("connect from {}", client_label());
  if (server_.settings().tls_wrappermode) {
    greet_after_handshake_ = true;
    Result<SSL*> ssl = server_.tls() ? server_.tls()->new_session()
                                     : Result<SSL*>(Error::config("no TLS certificate"));
    if (!ssl) {
      log::warning("cannot start TLS for {}: {}", client_label(), ssl.error().describe());
      close_now();
      return true;  // already retired
    }
    begin_tls(*ssl);
    return true;
  }
  write("* OK [CAPABILITY " + capabilities() + "] Postern ready.\r\n");
  return true;
}

void ImapSession::setup_bufferevent(bufferevent* bev) {
  bufferevent_setcb(bev, on_read, on_write, on_event, this);
  bufferevent_setwatermark(bev, EV_READ, 0, kMaxInputBytes);
  bufferevent_setwatermark(bev, EV_WRITE, kOutputLowWater, 0);
  set_timeouts();
  bufferevent_enable(bev, EV_READ | EV_WRITE);
}

void ImapSession::set_timeouts() {
  if (!bev_) return;
  const ImapdSettings& settings = server_.settings();
  int seconds = state_ == SessionState::kNotAuthenticated ? settings.login_timeout_seconds
                                                          : settings.timeout_seconds;
  timeval timeout{seconds, 0};
  bufferevent_set_timeouts(bev_.get(), &timeout, &timeout);
}

std::string ImapSession::capabilities() const {
  std::string caps = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE";
  if (state_ == SessionState::kNotAuthenticated) {
    if (!tls_active_ && server_.tls() != nullptr) caps += " STARTTLS";
    caps += auth_allowed() ? " AUTH=PLAIN" : " LOGINDISABLED";
  } else {
    caps +=
        " UIDPLUS MOVE UNSELECT CHILDREN SPECIAL-USE LIST-EXTENDED ESEARCH CONDSTORE QRESYNC"
        " BINARY";
    if (!compress_active_) caps += " COMPRESS=DEFLATE";
  }
  return caps;
}

// ---- CommandContext ------------------------------------------------------------------------

void ImapSession::untagged(std::string_view line) {
  if (!bev_) return;
  evbuffer* out = bufferevent_get_output(bev_.get());
  evbuffer_add(out, "* ", 2);
  evbuffer_add(out, line.data(), line.size());
  evbuffer_add(out, "\r\n", 2);
}

void ImapSession::raw(std::string_view bytes) {
  write(bytes);
}

void ImapSession::set_selected(std::unique_ptr<SelectedMailbox> mailbox) {
  if (selected_) selected_->set_change_callback({});
  selected_ = std::move(mailbox);
  if (state_ == SessionState::kLogout) return;
  state_ = selected_ ? SessionState::kSelected : SessionState::kAuthenticated;
}

bool ImapSession::enabled(std::string_view extension) const {
  return enabled_.find(ascii_uppercase(extension)) != enabled_.end();
}

void ImapSession::enable(std::string_view extension) {
  std::string upper = ascii_uppercase(extension);
  if (upper == "QRESYNC") enabled_.insert("CONDSTORE");  // RFC 7162 3.2.3
  enabled_.insert(std::move(upper));
}

// ---- callbacks -----------------------------------------------------------------------------

void ImapSession::on_read(bufferevent*, void* arg) {
  static_cast<ImapSession*>(arg)->process_input();
}

void ImapSession::on_write(bufferevent*, void* arg) {
  auto* self = static_cast<ImapSession*>(arg);
  if (self->phase_ == Phase::kClosing) {
    if (evbuffer_get_length(bufferevent_get_output(self->bev_.get())) == 0) {
      self->after_output_flushed();
    }
  }
}

void ImapSession::on_event(bufferevent* bev, short what, void* arg) {
  auto* self = static_cast<ImapSession*>(arg);
  if (what & BEV_EVENT_CONNECTED) {  // the TLS handshake finished
    TlsSessionInfo info = tls_session_info(bufferevent_openssl_get_ssl(bev));
    self->tls_active_ = true;
    self->phase_ = Phase::kCommand;
    log::info("TLS connection established from {}: {}", self->client_label(), info.describe());
    if (self->greet_after_handshake_) {
      self->greet_after_handshake_ = false;
      self->write("* OK [CAPABILITY " + self->capabilities() + "] Postern ready.\r\n");
    }
    self->process_input();
    return;
  }
  if (self->phase_ == Phase::kClosing) {
    self->close_now();
    return;
  }
  if (self->phase_ == Phase::kHandshake) {
    log::info("TLS handshake {} from {}: {}", (what & BEV_EVENT_TIMEOUT) ? "timeout" : "failed",
              self->client_label(), log::printable(tls_bufferevent_errors(bev), 200));
    send_pending_tls_output(bev);  // the alert (e.g. no shared cipher) reaches the client
    self->close_now();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    log::info("timeout {} from {}", self->state_ == SessionState::kNotAuthenticated
                                        ? "before login"
                                        : "after login",
              self->client_label());
    if (what & BEV_EVENT_WRITING) {
      self->close_now();  // the client does not read: nobody to tell
    } else {
      self->close_after("* BYE Disconnected for inactivity.\r\n");
    }
    return;
  }
  self->close_now();
}

void ImapSession::on_timer(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<ImapSession*>(arg);
  switch (self->phase_) {
    case Phase::kPaused: {
      self->phase_ = Phase::kCommand;
      std::string line = std::move(self->delayed_reply_);
      self->delayed_reply_.clear();
      self->write(line);
      self->process_input();
      return;
    }
    case Phase::kClosing:
      self->after_output_flushed();
      return;
    case Phase::kCommand:
    case Phase::kAuthResponse:
    case Phase::kIdle:
      self->process_input();  // output drained far enough?
      return;
    case Phase::kHandshake:
    case Phase::kDone:
      return;
  }
}

// ---- input ---------------------------------------------------------------------------------

size_t ImapSession::output_bytes() const {
  size_t total = 0;
  for (bufferevent* bev = bev_.get(); bev != nullptr; bev = bufferevent_get_underlying(bev)) {
    total += evbuffer_get_length(bufferevent_get_output(bev));
  }
  return total;
}

void ImapSession::process_input() {
  bool paused_for_output = false;
  while (bev_ && (phase_ == Phase::kCommand || phase_ == Phase::kAuthResponse ||
                  phase_ == Phase::kIdle)) {
    // A client that does not read its replies stops being read: memory stays bounded.
    if (output_bytes() > (paused_for_output ? kOutputLowWater : kMaxOutputBytes)) {
      paused_for_output = true;
      break;
    }
    evbuffer* in = bufferevent_get_input(bev_.get());
    if (evbuffer_get_length(in) == 0) break;
    evbuffer_iovec vec;
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) break;
    size_t used = 0;
    ImapReadState state =
        reader_.feed(std::string_view(static_cast<const char*>(vec.iov_base), vec.iov_len), &used);
    evbuffer_drain(in, used);
    if (state != ImapReadState::kNeedMore) handle_read_state(state);
  }
  if (!bev_) return;
  if (phase_ == Phase::kCommand || phase_ == Phase::kAuthResponse || phase_ == Phase::kIdle) {
    if (paused_for_output) {
      bufferevent_disable(bev_.get(), EV_READ);
      timeval poll = ms_timeval(kPollMs);
      evtimer_add(timer_.get(), &poll);
    } else {
      bufferevent_enable(bev_.get(), EV_READ);
    }
  } else if (phase_ == Phase::kClosing) {
    evbuffer* in = bufferevent_get_input(bev_.get());
    evbuffer_drain(in, evbuffer_get_length(in));
  }
}

void ImapSession::handle_read_state(ImapReadState state) {
  switch (state) {
    case ImapReadState::kNeedMore:
      return;
    case ImapReadState::kContinuation:
      write("+ " + std::string(reader_.continuation_text()) + "\r\n");
      return;
    case ImapReadState::kCommand: {
      ImapCommand command = reader_.take_command();
      if (phase_ == Phase::kAuthResponse) {
        handle_auth_response(command);
      } else if (phase_ == Phase::kIdle) {
        handle_idle_line(command);
      } else {
        handle_command(command);
      }
      return;
    }
    case ImapReadState::kError: {
      ImapSyntaxError error = reader_.take_error();
      if (phase_ == Phase::kAuthResponse || phase_ == Phase::kIdle) {
        if (phase_ == Phase::kIdle && selected_) selected_->set_change_callback({});
        phase_ = Phase::kCommand;
        tagged(pending_tag_, "BAD Line too long.");
        return;
      }
      tagged(error.tag, "BAD " + error.message);
      return;
    }
    case ImapReadState::kFatal: {
      ImapSyntaxError error = reader_.take_error();
      log::info("{}: unrecoverable input: {}", client_label(), error.message);
      close_after("* BYE " + error.message + "\r\n");
      return;
    }
  }
}

// ---- commands ------------------------------------------------------------------------------

void ImapSession::handle_command(ImapCommand& command) {
  const std::string& name = command.name;
  const std::string& tag = command.tag;
  if (server_.stopping()) {
    close_after("* BYE Server shutting down\r\n");
    return;
  }
  if (command.uid) {
    const CommandSpec* spec = find_command(name);
    if (spec == nullptr || !spec->uid_form) {
      tagged(tag, "BAD Unknown UID command.");
      return;
    }
    dispatch_table_command(*spec, command);
    return;
  }
  const bool no_args = command.args.empty();
  const bool logged_in = state_ != SessionState::kNotAuthenticated;
  if (name == "CAPABILITY") {
    if (!no_args) return tagged(tag, "BAD CAPABILITY takes no arguments.");
    untagged("CAPABILITY " + capabilities());
    return tagged(tag, "OK Capability completed.");
  }
  if (name == "NOOP") {
    if (!no_args) return tagged(tag, "BAD NOOP takes no arguments.");
    if (selected_) selected_->report_changes(*this, true);
    return tagged(tag, "OK NOOP completed.");
  }
  if (name == "LOGOUT") {
    if (!no_args) return tagged(tag, "BAD LOGOUT takes no arguments.");
    state_ = SessionState::kLogout;
    write("* BYE Logging out\r\n");
    close_after(tag + " OK Logout completed.\r\n");
    return;
  }
  if (name == "STARTTLS") return handle_starttls(command);
  if (name == "LOGIN") return handle_login(command);
  if (name == "AUTHENTICATE") return handle_authenticate(command);
  if (name == "ID") return handle_id(command);
  if (name == "ENABLE") return handle_enable(command);
  if (name == "NAMESPACE") {
    if (!logged_in) return tagged(tag, "BAD Not logged in.");
    if (!no_args) return tagged(tag, "BAD NAMESPACE takes no arguments.");
    untagged("NAMESPACE ((\"\" \".\")) NIL NIL");
    if (selected_) selected_->report_changes(*this, true);
    return tagged(tag, "OK Namespace completed.");
  }
  if (name == "COMPRESS") return handle_compress(command);
  if (name == "IDLE") return handle_idle(command);
  const CommandSpec* spec = find_command(name);
  if (spec == nullptr) return tagged(tag, "BAD Unknown command.");
  dispatch_table_command(*spec, command);
}

void ImapSession::dispatch_table_command(const CommandSpec& spec, ImapCommand& command) {
  if (state_ == SessionState::kNotAuthenticated) {
    return tagged(command.tag, "BAD Not logged in.");
  }
  if (spec.needs_selected && state_ != SessionState::kSelected) {
    return tagged(command.tag, "BAD No mailbox selected.");
  }
  std::string text = spec.handler(*this, command);
  if (selected_) selected_->report_changes(*this, spec.expunge_allowed || command.uid);
  tagged(command.tag, text);
}

void ImapSession::handle_starttls(const ImapCommand& command) {
  if (!command.args.empty()) return tagged(command.tag, "BAD STARTTLS takes no arguments.");
  if (tls_active_ || server_.tls() == nullptr) {
    return tagged(command.tag, "BAD TLS is already active or not available.");
  }
  if (state_ != SessionState::kNotAuthenticated) return tagged(command.tag, "BAD Already logged in.");
  Result<SSL*> ssl = server_.tls()->new_session();
  if (!ssl) {
    log::warning("cannot start TLS for {}: {}", client_label(), ssl.error().describe());
    return tagged(command.tag, "NO [UNAVAILABLE] TLS not available.");
  }
  tagged(command.tag, "OK Begin TLS negotiation now.");
  begin_tls(*ssl);
}

void ImapSession::begin_tls(SSL* ssl) {
  SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);  // idle sessions keep no TLS record buffers
  bufferevent* plain = bev_.get();
  // Bytes sent after STARTTLS, before the handshake, are dropped unread (command injection).
  evbuffer* in = bufferevent_get_input(plain);
  evbuffer_drain(in, evbuffer_get_length(in));
  reader_ = ImapCommandReader(reader_.limits());
  bufferevent_set_timeouts(plain, nullptr, nullptr);
  bufferevent* filter =
      bufferevent_openssl_filter_new(server_.base(), plain, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                     BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
  if (filter == nullptr) {
    SSL_free(ssl);
    close_now();
    return;
  }
  bev_.release();
  bev_.reset(filter);
  bufferevent_openssl_set_allow_dirty_shutdown(filter, 1);
  phase_ = Phase::kHandshake;
  setup_bufferevent(filter);
}

void ImapSession::handle_compress(const ImapCommand& command) {
  if (state_ == SessionState::kNotAuthenticated) return tagged(command.tag, "BAD Not logged in.");
  if (command.args.size() != 1 || !command.args[0].is_atom()) {
    return tagged(command.tag, "BAD COMPRESS needs one mechanism.");
  }
  if (compress_active_) return tagged(command.tag, "NO [COMPRESSIONACTIVE] DEFLATE active already.");
  if (!command.args[0].is_word("DEFLATE")) {
    return tagged(command.tag, "NO Unknown compression mechanism.");
  }
  tagged(command.tag, "OK DEFLATE active.");  // the last bytes sent uncompressed
  bufferevent* filter = compress_filter_new(bev_.get());
  if (filter == nullptr) {
    log::warning("{}: cannot start COMPRESS", client_label());
    close_now();
    return;
  }
  bufferevent_set_timeouts(bev_.get(), nullptr, nullptr);
  bev_.release();  // the filter owns the layer below now
  bev_.reset(filter);
  compress_active_ = true;
  setup_bufferevent(filter);
}

void ImapSession::handle_id(const ImapCommand& command) {
  if (command.args.size() != 1) return tagged(command.tag, "BAD ID needs one argument.");
  const ImapToken& arg = command.args[0];
  std::string shown;
  if (arg.kind == ImapToken::Kind::kList) {
    const auto& items = arg.children;
    if (items.size() % 2 != 0 || items.size() > 2 * kMaxIdPairs) {
      return tagged(command.tag, "BAD Invalid ID parameters.");
    }
    for (size_t i = 0; i < items.size(); i += 2) {
      if (!items[i].is_string() || items[i].text.size() > kMaxIdFieldBytes ||
          !(items[i + 1].is_string() || items[i + 1].kind == ImapToken::Kind::kNil) ||
          items[i + 1].text.size() > kMaxIdValueBytes) {
        return tagged(command.tag, "BAD Invalid ID parameters.");
      }
      if (shown.size() < 200) {
        shown += (shown.empty() ? "" : ", ") + log::printable(items[i].text, 30) + "=" +
                 log::printable(items[i + 1].text, 60);
      }
    }
  } else if (arg.kind != ImapToken::Kind::kNil) {
    return tagged(command.tag, "BAD Invalid ID parameters.");
  }
  if (!shown.empty()) log::info("{}: ID sent: {}", client_label(), shown);
  untagged(std::string("ID (\"name\" \"Postern\" \"version\" \"") + kVersion + "\")");
  if (selected_) selected_->report_changes(*this, true);
  tagged(command.tag, "OK ID completed.");
}

void ImapSession::handle_enable(const ImapCommand& command) {
  if (state_ == SessionState::kNotAuthenticated) return tagged(command.tag, "BAD Not logged in.");
  if (command.args.empty()) return tagged(command.tag, "BAD ENABLE needs capabilities.");
  std::string newly;
  for (const ImapToken& arg : command.args) {
    if (!arg.is_atom()) return tagged(command.tag, "BAD Invalid ENABLE argument.");
    std::string upper = ascii_uppercase(arg.text);
    if (upper != "CONDSTORE" && upper != "QRESYNC") continue;  // not offered: ignored
    if (enabled(upper)) continue;
    enable(upper);
    newly += " " + upper;
  }
  untagged("ENABLED" + newly);
  tagged(command.tag, "OK Enabled.");
}

void ImapSession::handle_idle(const ImapCommand& command) {
  if (state_ == SessionState::kNotAuthenticated) return tagged(command.tag, "BAD Not logged in.");
  if (!command.args.empty()) return tagged(command.tag, "BAD IDLE takes no arguments.");
  pending_tag_ = command.tag;
  phase_ = Phase::kIdle;
  reader_.expect_raw_line();
  if (selected_) {
    selected_->report_changes(*this, true);
    selected_->set_change_callback([this] {
      if (phase_ == Phase::kIdle && selected_) selected_->report_changes(*this, true);
    });
  }
  write("+ idling\r\n");
}

void ImapSession::handle_idle_line(const ImapCommand& line) {
  if (selected_) selected_->set_change_callback({});
  phase_ = Phase::kCommand;
  const std::string& text = line.args.empty() ? std::string() : line.args[0].text;
  if (ascii_uppercase(text) != "DONE") return tagged(pending_tag_, "BAD Expected DONE.");
  if (selected_) selected_->report_changes(*this, true);
  tagged(pending_tag_, "OK Idle completed.");
}

// ---- output and the end --------------------------------------------------------------------

void ImapSession::tagged(std::string_view tag, std::string_view text) {
  if (text.substr(0, 3) == "BAD") {
    if (++bad_in_a_row_ >= kMaxBadCommands) {
      log::info("too many invalid commands from {}", client_label());
      write(std::string(tag) + " " + std::string(text) + "\r\n");
      close_after("* BYE Too many invalid commands.\r\n");
      return;
    }
  } else {
    bad_in_a_row_ = 0;
  }
  std::string line;
  line.reserve(tag.size() + text.size() + 3);
  line.append(tag).append(" ").append(text).append("\r\n");
  write(line);
}

void ImapSession::write(std::string_view bytes) {
  if (!bev_ || bytes.empty()) return;
  evbuffer_add(bufferevent_get_output(bev_.get()), bytes.data(), bytes.size());
}

void ImapSession::close_after(std::string_view line) {
  if (phase_ == Phase::kClosing || phase_ == Phase::kDone) return;
  write(line);
  if (selected_) selected_->set_change_callback({});
  phase_ = Phase::kClosing;
  if (!bev_) return;
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
  if (evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) after_output_flushed();
}

void ImapSession::after_output_flushed() {
  if (lingering_ || !bev_) return;
  if (output_bytes() > 0) {  // filters below still hold bytes: poll until they are gone
    if (++flush_polls_ > kMaxFlushPolls) {
      close_now();
      return;
    }
    timeval poll = ms_timeval(kPollMs);
    evtimer_add(timer_.get(), &poll);
    return;
  }
  // Half-close and read what the client still sends for a moment, so that our last reply is
  // not destroyed by the RST a close with unread input would cause.
  lingering_ = true;
  ::shutdown(bufferevent_getfd(bev_.get()), SHUT_WR);
  timeval linger{kLingerSeconds, 0};
  bufferevent_set_timeouts(bev_.get(), &linger, nullptr);
  bufferevent_enable(bev_.get(), EV_READ);
  evbuffer* in = bufferevent_get_input(bev_.get());
  evbuffer_drain(in, evbuffer_get_length(in));
}

void ImapSession::close_now() {
  if (phase_ == Phase::kDone) return;
  phase_ = Phase::kDone;
  log::info("disconnect from {}{}{}", client_label(), user_.empty() ? "" : " user=",
            user_);
  if (selected_) selected_->set_change_callback({});
  selected_.reset();
  store_.reset();
  if (login_counted_) {
    server_.release_login(user_, client_address_);
    login_counted_ = false;
  }
  timer_.reset();
  bev_.reset();
  server_.retire(this);
}

void ImapSession::server_stopping() {
  switch (phase_) {
    case Phase::kHandshake:
      close_now();
      return;
    case Phase::kClosing:
    case Phase::kDone:
      return;
    default:
      close_after("* BYE Server shutting down\r\n");
      return;
  }
}

std::string ImapSession::client_label() const {
  return "unknown[" + client_address_ + "]";
}

}  // namespace postern::imapd
