// One SMTP client connection of postern-relay to one server address, on libevent: connect
// (smtp_connect_timeout), optional implicit TLS (smtp_tls_wrappermode), greeting, EHLO (HELO
// when EHLO gets 5xx), STARTTLS per smtp_tls_security_level and EHLO again, AUTH through
// Cyrus SASL when credentials are given; then any number of mail transactions (MAIL, RCPT...,
// DATA streamed from the queue file with dot-stuffing and write back-pressure; pipelined when
// the server announces PIPELINING, RFC 2920), RSET between them after a failure, QUIT at the
// end. Every byte from the server is hostile: replies go through lib/smtp/smtp_reply's bounded parser
// and the input buffer is capped (kMaxClientInputBytes); each stage has its own timeout. The
// password and the AUTH exchange are never logged.
//
// Ownership and callbacks: the caller owns the client. Each callback is the last thing the
// client does in that event, so the caller may destroy the client from inside a callback.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/smtp/smtp_reply.hpp"
#include "lib/net/tls_client.hpp"
#include "relay/delivery_result.hpp"
#include "relay/dot_stuffer.hpp"
#include "relay/queued_message.hpp"
#include "relay/relay_settings.hpp"
#include "relay/sasl_client.hpp"

namespace postern::relay {

inline constexpr size_t kMaxClientInputBytes = 256 * 1024;
inline constexpr size_t kDataWriteHighBytes = 256 * 1024;  // stop reading the file above this
inline constexpr size_t kDataWriteLowBytes = 64 * 1024;    // and go on below this
inline constexpr int kQuitWaitSeconds = 5;

struct ServerAddress {
  std::string host;  // the name we looked up (MX host or relay host), or the IP literal
  std::string ip;    // text form
  uint16_t port = 25;
  std::string label() const;        // "host[ip]:port", the relay= field
  std::string host_and_ip() const;  // "host[ip]", for "host X said:"
};

struct Credentials {
  std::string user;
  std::string password;
};

struct ConnectOptions {
  TlsLevel tls_level = TlsLevel::kMay;
  bool wrappermode = false;
  const TlsClientContext* tls = nullptr;     // required unless tls_level is none
  std::vector<std::string> tls_match_names;  // for verify/secure
  std::optional<Credentials> credentials;
};

struct TransactionRecipient {
  std::string address;
  std::string orcpt;
  std::string notify;
  std::optional<RecipientResult> result;  // set by the transaction
};

struct Transaction {
  std::shared_ptr<QueuedMessage> message;
  std::string sender;
  std::string dsn_ret;         // RET=, as the client gave it
  std::string dsn_envid;       // ENVID=, xtext as given
  bool body_8bitmime = false;  // the client declared BODY=8BITMIME
  bool smtputf8 = false;       // the client asked for SMTPUTF8
  std::vector<TransactionRecipient> recipients;
};

struct TransactionOutcome {
  bool connection_usable = false;      // the session can carry another transaction
  bool lost_before_any_reply = false;  // the connection died before the server answered
                                       // anything in this transaction (safe to retry elsewhere)
};

class SmtpClient {
 public:
  // Why a connection could not be made ready; result is deferred or bounced for every
  // recipient when no other server is left.
  using ReadyCallback = std::function<void(std::optional<RecipientResult> failure)>;
  using TransactionCallback = std::function<void(TransactionOutcome)>;

  SmtpClient(event_base* base, const RelaySettings& settings, ServerAddress server);
  ~SmtpClient();
  SmtpClient(const SmtpClient&) = delete;
  SmtpClient& operator=(const SmtpClient&) = delete;

  // Connects and runs the session up to the first MAIL FROM.
  void connect(ConnectOptions options, ReadyCallback ready);
  // Runs one transaction; every recipient has a result when done runs.
  void run_transaction(Transaction& transaction, TransactionCallback done);
  // RSET (after a failed transaction, before the next one on a reused connection).
  void reset(std::function<void(bool ok)> done);
  // Idle in the connection cache: on_lost runs when the server closes or says anything.
  void park(std::function<void()> on_lost);
  // QUIT, wait briefly for its reply, close; done runs once the socket is closed.
  void quit(std::function<void()> done);

  bool usable() const { return stage_ == Stage::kReady || stage_ == Stage::kParked; }
  bool needs_reset() const { return needs_reset_; }
  const ServerAddress& server() const { return server_; }
  const EhloCapabilities& capabilities() const { return caps_; }
  bool tls_active() const { return tls_active_; }
  uint64_t transactions() const { return transactions_; }

 private:
  enum class Stage {
    kIdle,
    kConnecting,
    kTlsWrapper,
    kGreeting,
    kEhlo,
    kHelo,
    kStartTls,
    kTlsHandshake,
    kEhloTls,
    kAuth,
    kReady,
    kMail,
    kDataBody,
    kRset,
    kParked,
    kQuit,
    kClosed,
  };
  enum class Expect { kMail, kRcpt, kData, kDataDone, kRset, kQuit };
  struct Expected {
    Expect what;
    size_t index = 0;  // kRcpt: the recipient
  };

  static void on_read(bufferevent* bev, void* arg);
  static void on_write(bufferevent* bev, void* arg);
  static void on_event(bufferevent* bev, short what, void* arg);

  void set_stage(Stage stage, int timeout_seconds);
  void send(std::string_view line);  // adds CRLF
  void process_input();
  bool handle_reply(SmtpReply reply);  // false: stop (the client may be gone)
  bool handle_session_reply(SmtpReply reply);
  bool handle_transaction_reply(SmtpReply reply);
  void after_ehlo();
  void start_tls();
  void tls_established();
  void start_auth();
  void session_ready();
  void fail_session(RecipientResult failure);  // connect phase: report and close
  void connection_broken(std::string why, bool timeout);
  bool send_next_lockstep();  // false: the transaction ended (callback ran)
  void start_data_body();
  void pump_data();
  void finish_transaction(bool usable);
  void give_remaining(const RecipientResult& result);
  std::string mail_command() const;
  std::string rcpt_command(const TransactionRecipient& rcpt) const;
  const char* stage_description() const;
  void close_socket();

  event_base* base_;
  const RelaySettings& settings_;
  ServerAddress server_;
  ConnectOptions options_;
  BufferEventHandle bev_;
  SmtpReplyParser parser_;
  EhloCapabilities caps_;
  Stage stage_ = Stage::kIdle;
  bool tls_active_ = false;
  bool tried_helo_ = false;
  bool needs_reset_ = false;
  uint64_t transactions_ = 0;
  std::unique_ptr<SaslClient> sasl_;
  std::shared_ptr<bool> alive_;
  SingleEventHandle deferred_;  // reports a failure of connect() from the event loop
  int connect_errno_ = 0;

  ReadyCallback ready_;
  TransactionCallback transaction_done_;
  std::function<void(bool)> reset_done_;
  std::function<void()> lost_;
  std::function<void()> quit_done_;

  // The transaction in progress.
  Transaction* transaction_ = nullptr;
  std::deque<Expected> expected_;
  size_t next_rcpt_ = 0;  // lock-step: the next RCPT to send
  size_t accepted_ = 0;
  bool replied_ = false;  // the server answered something in this transaction
  std::optional<SmtpReply> mail_failure_;
  bool data_sent_ = false;  // DATA was sent (pipelined or not)
  size_t data_chunk_ = 0;
  DotStuffer stuffer_;
  std::string chunk_buffer_;
  std::string encoded_;
};

}  // namespace postern::relay
