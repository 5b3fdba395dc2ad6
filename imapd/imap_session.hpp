// One IMAP connection (RFC 3501 with the extensions imapd announces): greeting, STARTTLS or
// implicit TLS, login (LOGIN, AUTHENTICATE PLAIN with SASL-IR), the connection's own commands
// (CAPABILITY, NOOP, LOGOUT, ID, ENABLE, NAMESPACE, COMPRESS, IDLE) and dispatch of the folder
// and message commands to imapd/commands.hpp, driven by libevent callbacks on a bufferevent
// (a TLS filter, then a deflate filter stacked on it). Run by postern-imapd, many sessions per
// process. Trusts nothing the client sends. Bounded by the command reader's limits
// (imapd_max_line_length; message_size_limit for APPEND, only after login), kMaxOutputBytes of
// pending output (reading stops above it, so a client that never reads cannot grow memory),
// kMaxInputBytes of unread input, kMaxBadCommands BADs in a row, imapd_login_timeout before login
// and imapd_timeout after (IDLE included), and the failed-login throttle.
#pragma once

#include <event2/buffer.h>
#include <openssl/ssl.h>

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "imapd/command_context.hpp"
#include "imapd/commands.hpp"
#include "imapd/mail_store.hpp"
#include "imapd/selected_mailbox.hpp"
#include "lib/base/event_handles.hpp"
#include "lib/imap/imap_parser.hpp"
#include "lib/net/network_list.hpp"
#include "lib/auth/sasl_server.hpp"
#include "lib/net/session_server.hpp"

namespace postern::imapd {

class ImapServer;

inline constexpr size_t kMaxOutputBytes = 1024 * 1024;  // pending output before reading stops
inline constexpr size_t kOutputLowWater = 256 * 1024;   // reading resumes below this
inline constexpr size_t kMaxInputBytes = 256 * 1024;    // unread input before the socket pauses
inline constexpr int kMaxBadCommands = 20;              // BADs in a row before "* BYE"

class ImapSession final : public CommandContext, public ServerSession {
 public:
  ImapSession(ImapServer& server, evutil_socket_t fd, const IpBytes& client_ip);
  ImapSession(const ImapSession&) = delete;
  ImapSession& operator=(const ImapSession&) = delete;
  ~ImapSession() override;

  bool start();           // greeting (or TLS handshake first); false: retire it
  void server_stopping() override;  // "* BYE Server shutting down" and close

  // CommandContext
  void untagged(std::string_view line) override;
  void raw(std::string_view bytes) override;
  SessionState state() const override { return state_; }
  const std::string& user() const override { return user_; }
  MailStore& store() override { return *store_; }
  SelectedMailbox* selected() override { return selected_.get(); }
  void set_selected(std::unique_ptr<SelectedMailbox> mailbox) override;
  bool enabled(std::string_view extension) const override;
  void enable(std::string_view extension) override;
  const ImapdSettings& settings() const override;

  // The capability list for this moment of the session (tests and the greeting).
  std::string capabilities() const;

 private:
  enum class Phase {
    kCommand,       // reading commands
    kAuthResponse,  // AUTHENTICATE: reading the client's base64 answer line
    kIdle,          // IDLE: waiting for DONE, reporting changes as they happen
    kHandshake,     // TLS handshake running
    kPaused,        // a throttled login failure waits for its timer
    kClosing,       // last reply queued; waiting for it to leave
    kDone,          // retired
  };

  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  static void on_timer(evutil_socket_t fd, short what, void* arg);

  void setup_bufferevent(bufferevent* bev);
  void set_timeouts();
  void process_input();
  void handle_read_state(ImapReadState state);
  void handle_command(ImapCommand& command);
  void dispatch_table_command(const CommandSpec& spec, ImapCommand& command);
  void handle_starttls(const ImapCommand& command);
  void begin_tls(SSL* ssl);
  void handle_compress(const ImapCommand& command);
  void handle_id(const ImapCommand& command);
  void handle_enable(const ImapCommand& command);
  void handle_idle(const ImapCommand& command);
  void handle_idle_line(const ImapCommand& line);
  // login (imap_session_auth.cpp)
  bool auth_allowed() const;
  void handle_login(const ImapCommand& command);
  void handle_authenticate(const ImapCommand& command);
  void handle_auth_response(const ImapCommand& line);
  void on_sasl_step(SaslStep step);
  void login_succeeded(const std::string& user);
  void login_failed(std::string_view reply, std::string_view user, bool counted);
  void reply_after(std::string reply_line, std::chrono::milliseconds delay);

  void tagged(std::string_view tag, std::string_view text);
  void write(std::string_view bytes);
  size_t output_bytes() const;
  void close_after(std::string_view line);
  void after_output_flushed();
  void close_now();
  std::string client_label() const;

  ImapServer& server_;
  BufferEventHandle bev_;
  SingleEventHandle timer_;
  IpBytes client_ip_;
  std::string client_address_;
  ImapCommandReader reader_;
  Phase phase_ = Phase::kCommand;
  SessionState state_ = SessionState::kNotAuthenticated;
  bool tls_active_ = false;
  bool compress_active_ = false;
  bool greet_after_handshake_ = false;
  bool lingering_ = false;
  bool login_counted_ = false;
  int bad_in_a_row_ = 0;
  int flush_polls_ = 0;
  std::string user_;
  std::unique_ptr<MailStore> store_;
  std::unique_ptr<SelectedMailbox> selected_;
  std::set<std::string, std::less<>> enabled_;
  std::optional<SaslServer> sasl_;  // made at the first AUTHENTICATE/LOGIN, freed at login
  std::string pending_tag_;         // AUTHENTICATE or IDLE under way
  std::string auth_mechanism_;
  std::string delayed_reply_;  // a throttled failure, written by the timer
  int auth_attempts_ = 0;
};

}  // namespace postern::imapd
