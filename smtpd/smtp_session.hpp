// One SMTP conversation on port 25 (RFC 5321 with PIPELINING, SIZE, 8BITMIME, DSN,
// ENHANCEDSTATUSCODES, SMTPUTF8, CHUNKING and STARTTLS): the state machine from the greeting to
// the close, driven by libevent callbacks on a bufferevent (a TLS filter after STARTTLS). Run
// by postern-smtpd, many sessions per process. Trusts nothing the client sends. Bounded by
// line_length_limit (a longer command line is answered and discarded, never buffered),
// smtpd_recipient_limit, message_size_limit (past it nothing more is stored), the soft and
// hard error limits, smtpd_timeout on every read, and a read high-water mark on the input.
//
// postern-submission runs the same sessions with SmtpdSettings::submission set: TLS from the
// first byte when smtpd_tls_wrappermode is on, AUTH PLAIN/LOGIN (lib/auth/sasl_server; only inside
// TLS when smtpd_tls_auth_only), failed logins throttled (lib/auth/auth_throttle, per process) with
// the failure reply delayed by a timer, MAIL only after AUTH and only with a sender the login
// owns (SenderOwnership), no relay check at RCPT, and the header section held back (at most
// header_size_limit bytes) until it is checked and completed (smtpd/submission_headers.*).
// AUTH response lines are bounded by kMaxSaslResponseBytes.
//
// With milters (smtpd_milters; submission_milters), each command's reply waits for them
// (Phase::kMilter: reading paused, this session only) and the message goes to a spool file,
// the queue file being written from what the milters left (smtp_session_milter.cpp).
#pragma once

#include <event2/buffer.h>
#include <openssl/ssl.h>

#include <array>
#include <functional>
#include <memory>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/milter/milter_chain.hpp"
#include "lib/net/network_list.hpp"
#include "lib/mime/message_headers.hpp"
#include "lib/queue/queue_file.hpp"
#include "lib/auth/sasl_server.hpp"
#include "lib/net/session_server.hpp"
#include "lib/smtp/smtp_command.hpp"
#include "lib/smtp/smtp_data_reader.hpp"
#include "smtpd/connection_limits.hpp"
#include "smtpd/message_intake.hpp"

namespace postern::smtpd {

class SmtpServer;

inline constexpr size_t kMaxLoggedBytes = 100;  // of a peer's text in one log line

class SmtpSession final : public ServerSession {
 public:
  SmtpSession(SmtpServer& server, evutil_socket_t fd, const IpBytes& client_ip,
              ConnectionSlot slot);
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;
  ~SmtpSession() override;

  // Sends the greeting and starts reading. false: the session could not be set up (retire it).
  bool start();
  // Sends reply (e.g. the connection-limit 421) and closes, without reading any command.
  bool start_refused(std::string_view reply);
  // The server is stopping (SIGTERM, or a reload): a session with no transaction says 421 4.3.2
  // and closes; one with a transaction under way (after MAIL, in DATA/BDAT) finishes it first.
  void server_stopping() override;

 private:
  enum class Phase {
    kCommand,     // reading command lines
    kAuthResponse,  // reading the client's answer to a "334" AUTH challenge
    kData,        // between the 354 and the final "."
    kBdat,        // reading the bytes of a BDAT chunk
    kHandshake,   // STARTTLS handshake running
    kCommitting,  // the message is being made durable in a commit thread; the 250 waits
    kMilter,      // a milter stage runs (smtpd_milters); the reply to the command waits
    kPaused,      // smtpd_error_sleep_time after an error, or a delayed AUTH failure reply
    kClosing,     // last reply queued; waiting for it to leave, then a lingering close
    kDone,        // retired; no more I/O
  };

  struct Transaction {
    std::string queue_id;  // "" until MAIL FROM
    std::string sender;
    bool utf8 = false;
    std::string body;
    std::string dsn_ret;
    std::string dsn_envid;
    std::vector<QueueRecipient> recipients;
    std::optional<MessageIntake> intake;
    bool bdat_used = false;
    std::string bdat_failure;  // once a BDAT failed: the reply for the rest of its chunks
    // submission: the header section, held back until it is complete and checked
    std::optional<HeaderSectionCollector> headers;
    bool headers_written = false;
    std::string header_refusal;  // the reply at the end of the message, "" when fine
    // milters: the message as they see and edit it (its spool is in intake), and whether it
    // goes to hold/ instead of the queue
    std::optional<milter::MilterMessage> milter_message;
    bool held = false;
    bool active() const { return !queue_id.empty(); }
  };

  // libevent callbacks
  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);
  static void on_timer(evutil_socket_t fd, short what, void* arg);

  void setup_bufferevent(bufferevent* bev);
  void process_input();
  bool read_command_line();  // false: wait for more input
  void handle_command(std::string_view line);
  void handle_helo(const SmtpCommand& command, bool esmtp);
  void handle_mail(const SmtpCommand& command);
  void handle_rcpt(const SmtpCommand& command);
  void handle_data();
  void handle_bdat(const SmtpCommand& command);
  void handle_starttls();
  void handle_unknown(std::string_view line, std::string reply_line);
  void begin_tls(SSL* ssl);  // wraps the connection in a server-side TLS filter (owns ssl)
  // AUTH (smtp_session_auth.cpp)
  void handle_auth(const SmtpCommand& command);
  void handle_auth_response(std::string_view line);
  void on_sasl_step(SaslStep step);
  void refuse_auth(std::string_view user);
  void reply_after(std::string_view line, std::chrono::milliseconds delay);
  bool auth_offered() const;
  // submission's header section (smtp_session_auth.cpp)
  void append_message_bytes(std::string_view bytes);
  void finish_header_section();
  void read_data();
  void read_bdat();
  void finish_bdat_chunk();
  bool open_intake();
  QueueEnvelope queue_envelope() const;
  std::string our_received_header() const;
  void finish_message();
  void commit_message();
  void on_commit_done(Status committed);
  void send_helo_reply(bool esmtp);
  void accept_recipient(QueueRecipient recipient, std::string_view reply_line);
  void start_data();
  // milters (smtp_session_milter.cpp)
  void greet();
  void run_milter_stage(std::function<void(milter::MilterChain::Done)> stage,
                        std::function<void(milter::MilterVerdict)> then);
  void filter_message();
  void on_message_filtered(milter::MilterVerdict verdict);
  std::optional<std::string> milter_macro(std::string_view name) const;
  void log_milter(std::string_view action, std::string_view stage, std::string_view text,
                  std::string_view recipient) const;

  void reply(std::string_view line);
  void line_too_long();
  void send_line(std::string_view line);
  void close_after(std::string_view line);
  void close_now();
  void reset_transaction();
  void pause_for_error_sleep();
  void after_output_flushed();
  void start_lingering();
  std::string client_label() const;  // "unknown[192.0.2.1]"
  std::string protocol_name() const;
  void log_reject(std::string_view what, std::string_view reply_line,
                  std::string_view recipient) const;

  SmtpServer& server_;
  std::unique_ptr<milter::MilterChain> milters_;  // null without smtpd_milters
  std::string milter_rcpt_;                       // the recipient whose RCPT the milters see
  uint16_t client_port_ = 0;
  std::string daemon_address_;  // our end of the connection, for {daemon_addr}
  uint16_t daemon_port_ = 0;
  BufferEventHandle bev_;
  SingleEventHandle timer_;
  IpBytes client_ip_;
  std::string client_address_;
  ConnectionSlot slot_;
  bool client_trusted_ = false;
  Phase phase_ = Phase::kCommand;
  bool lingering_ = false;
  bool retire_when_committed_ = false;  // closed while its commit ran
  int flush_polls_ = 0;
  bool discarding_long_line_ = false;
  bool pause_pending_ = false;
  int errors_ = 0;

  std::string helo_;
  bool esmtp_ = false;
  bool tls_active_ = false;
  bool greet_after_handshake_ = false;  // smtpd_tls_wrappermode: the 220 follows the handshake
  std::optional<SaslServer> sasl_;      // submission: made at the first AUTH
  std::string auth_mechanism_;          // of the exchange under way or last finished
  std::string login_;                   // the authenticated user, "" before AUTH
  std::string delayed_reply_;           // a throttled AUTH failure reply, sent by the timer
  int auth_successes_ = 0;
  std::string tls_description_;
  Transaction transaction_;
  SmtpDataReader data_reader_;
  SmtpDataReader::Sink data_sink_;
  uint64_t committed_bytes_ = 0;  // size of the message in the commit thread, for the log
  uint64_t bdat_remaining_ = 0;
  uint64_t bdat_chunk_bytes_ = 0;
  bool bdat_last_ = false;
  std::string bdat_chunk_failure_;  // the reply for this chunk when it cannot be taken
  std::string line_;
  std::vector<evbuffer_iovec> iovecs_;

  // counters for the disconnect log line
  enum Counter {
    kEhloCount,
    kHeloCount,
    kStarttlsCount,
    kMailCount,
    kRcptCount,
    kDataCount,
    kBdatCount,
    kRsetCount,
    kNoopCount,
    kQuitCount,
    kUnknownCount,
    kAuthCount,
    kCommandCount,
    kCounterCount
  };
  std::array<int, kCounterCount> counters_{};
};

}  // namespace postern::smtpd
