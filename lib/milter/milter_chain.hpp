// The milters of one SMTP session (or of one picked-up message), in the configured order, as
// Postfix runs them: each protocol stage goes to every milter that wants it, one after the
// other; the first reject, tempfail or discard ends the stage; at end of message each milter
// sees the message as the milters before it left it (their header and body edits applied),
// and the envelope edits (sender, recipients) and a quarantine are collected for the caller.
// A milter that cannot be reached, times out or answers nonsense gets milter_default_action
// (see DefaultAction): logged, and the session goes on.
// Used by smtpd, submission and pickup, on their event loop: nothing here blocks but the reads
// of the message spool (page cache). Every stage completes through its callback, never before
// the stage method has returned. Everything a milter sends is checked (milter_protocol.hpp);
// an action the milter did not negotiate is a protocol error; envelope edits are bounded.
#pragma once

#include <event2/event.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/base/event_handles.hpp"
#include "lib/milter/milter_client.hpp"
#include "lib/milter/milter_message.hpp"
#include "lib/milter/milter_settings.hpp"

namespace postern::milter {

inline constexpr size_t kMaxAddedRecipients = 1000;  // per message, all milters together
inline constexpr size_t kMaxReplyLines = 20;         // of a milter's custom SMTP reply

// What the milters said about a stage.
struct MilterVerdict {
  enum class Kind { kContinue, kReject, kTempfail, kDiscard };
  Kind kind = Kind::kContinue;
  std::string reply;            // kReject/kTempfail: the SMTP reply, lines joined by CRLF
  std::string milter;           // the milter that decided, as configured ("inet:127.0.0.1:11332")
  bool default_action = false;  // the verdict is milter_default_action for a failed milter
  bool proceed() const { return kind == Kind::kContinue; }
};

// What end of message left for the caller to apply to the envelope.
struct MessageOutcome {
  std::optional<std::string> sender;  // SMFIR_CHGFROM: the new envelope sender
  std::string sender_args;
  std::vector<std::pair<std::string, std::string>> added_recipients;  // address, ESMTP args
  std::vector<std::string> deleted_recipients;
  std::string quarantine;  // the reason; "" = not quarantined
  std::string quarantined_by;
};

struct MilterConnectInfo {
  std::string hostname;  // "unknown" without a verified name
  char family = '4';     // '4', '6', 'L' (Unix socket), 'U' (unknown)
  uint16_t port = 0;
  std::string address;
};

// A macro's value for the stage under way ("j", "i", "daemon_name" without braces...).
using MacroLookup = std::function<std::optional<std::string>(std::string_view name)>;

class MilterChain {
 public:
  using Done = std::function<void(MilterVerdict)>;

  MilterChain(event_base* base, const MilterSettings& settings, MacroLookup macros);
  MilterChain(const MilterChain&) = delete;
  MilterChain& operator=(const MilterChain&) = delete;
  ~MilterChain();  // says QUIT to every milter still connected

  // Opens every milter (in order) and sends it the connection.
  void connect(const MilterConnectInfo& info, Done done);
  void helo(std::string_view helo, Done done);
  void mail(std::string_view sender, const std::vector<std::string>& esmtp_args, Done done);
  void rcpt(std::string_view recipient, const std::vector<std::string>& esmtp_args, Done done);
  void data(Done done);
  // A command smtpd does not know (SMFIC_UNKNOWN): a milter may refuse it with its own reply.
  void unknown(std::string_view command, Done done);
  // Header fields, end of headers, body chunks and end of message, milter after milter, each
  // milter's edits applied to message before the next one sees it. message and the spool
  // under it must stay alive until done. size_limit bounds a replaced body (0 = none).
  void message(MilterMessage& message, uint64_t size_limit, Done done);
  const MessageOutcome& outcome() const { return outcome_; }
  // The transaction ended without end of message (RSET, HELO, a refusal, a lost client):
  // SMFIC_ABORT to the milters that saw its MAIL FROM.
  void abort_message();
  // After message() and the caller's use of outcome(): ready for the next transaction.
  void end_message();

  // A milter failed with default_action=quarantine earlier in this session: its reason.
  const std::string& session_quarantine() const { return session_quarantine_; }

 private:
  struct Entry {
    std::unique_ptr<MilterClient> client;
    bool session_done = false;  // accepted at connect/HELO, or failed (default action applied)
    bool message_done = false;  // accepted or finished this message
    bool in_message = false;    // saw MAIL FROM of the transaction under way, no EOM/ABORT yet
  };
  struct Step {
    MacroStage macro_stage;
    MilterCommand command;
    std::string packet;
    uint32_t no_step_flag;   // SMFIP_NO*: the milter does not want this step
    uint32_t no_reply_flag;  // SMFIP_NR_*: it will not answer
    bool session_stage;      // connect/HELO: an accept ends the milter's part for the session
  };
  // Where end of DATA is: which milter, which step, how far into headers and body.
  struct ContentRun {
    enum class Phase { kHeaders, kEndOfHeaders, kBody, kEndOfMessage, kReplies };
    MilterMessage* message = nullptr;
    uint64_t size_limit = 0;
    Done done;
    size_t entry = 0;
    Phase phase = Phase::kHeaders;
    size_t header = 0;
    uint64_t body_offset = 0;
    bool skip_body = false;
    bool replacing_body = false;  // this milter's first REPLBODY piece has arrived
    std::string chunk;

    void next_milter() {
      ++entry;
      phase = Phase::kHeaders;
      header = 0;
      body_offset = 0;
      skip_body = false;
      replacing_body = false;
    }
  };

  bool wants_message_steps(const Entry& entry) const;
  void run_step(std::shared_ptr<Step> step, size_t index, Done done);
  void open_and_run(std::shared_ptr<Step> step, size_t index, Done done);
  // nullopt: go on with the next milter; a verdict: the stage ends with it.
  std::optional<MilterVerdict> interpret(Entry& entry, const Step& step, Result<MilterReply> reply);
  std::optional<MilterVerdict> milter_failed(Entry& entry, std::string_view reason);
  void send_macros(Entry& entry, MacroStage stage, MilterCommand command);
  void finish(Done done, MilterVerdict verdict);  // calls done from the loop
  static void on_finish(evutil_socket_t fd, short what, void* arg);
  // message content (milter_chain_content.cpp)
  void content_next();
  void content_reply(Result<MilterReply> reply);
  void eom_reply(Result<MilterReply> reply);
  Status apply_edit(Entry& entry, const MilterReply& reply);
  void content_done(MilterVerdict verdict);

  event_base* base_;
  const MilterSettings& settings_;
  MacroLookup macros_;
  std::vector<Entry> entries_;
  SingleEventHandle finish_event_;
  Done pending_done_;
  MilterVerdict pending_verdict_;
  // A failed milter's tempfail/reject (default action), or a reject at connect/HELO: the answer
  // for every later MAIL, RCPT, DATA and end of message of the session.
  std::optional<MilterVerdict> session_verdict_;
  std::string session_quarantine_;
  bool discard_message_ = false;
  MessageOutcome outcome_;
  std::unique_ptr<ContentRun> content_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

// The SMTP reply for a milter's SMFIR_REPLYCODE: every line with the same code, a hyphen after
// it on all lines but the last, at most kMaxReplyLines; code and text as decode_reply split them.
std::string smtp_reply_from_milter(std::string_view code, std::string_view text);

}  // namespace postern::milter
