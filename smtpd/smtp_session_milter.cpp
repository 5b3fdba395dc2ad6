// The milter half of the SMTP session (see smtp_session.hpp): the connection and each command
// handed to the milters of smtpd_milters (submission_milters for postern-submission) before
// its reply, the message given to them at its end, and their verdict and edits applied before
// the commit, so that the 250 still means the message, as the milters left it, is on disk.
// Run by postern-smtpd and postern-submission inside libevent callbacks: a milter stage pauses
// only its own session (reading stops; the reply waits). The milters' replies are checked by
// lib/milter; their texts are made printable before they are logged.
#include <ctime>

#include "lib/base/log.hpp"
#include "lib/milter/envelope_edits.hpp"
#include "smtpd/smtp_server.hpp"
#include "smtpd/smtp_session.hpp"

namespace postern::smtpd {
namespace {

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

}  // namespace

void SmtpSession::greet() {
  if (!milters_) {
    send_line("220 " + server_.settings().banner);
    return;
  }
  milter::MilterConnectInfo info;
  info.hostname = "unknown";
  info.family = client_address_.find(':') == std::string::npos ? '4' : '6';
  info.port = client_port_;
  info.address = client_address_;
  run_milter_stage(
      [this, info](milter::MilterChain::Done done) { milters_->connect(info, done); },
      [this](milter::MilterVerdict verdict) {
        // A refusal at connect answers MAIL FROM (the chain keeps it), as with Postfix: a
        // milter's reject turns the greeting into 554, a failed milter leaves it alone.
        if (verdict.proceed()) {
          send_line("220 " + server_.settings().banner);
          return;
        }
        log_milter("reject", "CONNECT", verdict.reply, "");
        if (verdict.kind == milter::MilterVerdict::Kind::kReject && !verdict.default_action) {
          send_line("554 " + server_.settings().hostname + " ESMTP not accepting connections");
        } else {
          send_line("220 " + server_.settings().banner);
        }
      });
}

void SmtpSession::run_milter_stage(std::function<void(milter::MilterChain::Done)> stage,
                                   std::function<void(milter::MilterVerdict)> then) {
  phase_ = Phase::kMilter;
  bufferevent_disable(bev_.get(), EV_READ);
  stage([this, then = std::move(then)](milter::MilterVerdict verdict) {
    if (phase_ != Phase::kMilter) return;  // closed meanwhile
    phase_ = Phase::kCommand;
    bufferevent_enable(bev_.get(), EV_READ);
    then(std::move(verdict));
    if (phase_ == Phase::kCommand) {
      if (server_.stopping() && !transaction_.active()) {
        close_after("421 4.3.2 Service shutting down");
      } else if (pause_pending_) {
        pause_for_error_sleep();
      } else {
        process_input();  // commands the client pipelined behind this one
      }
    }
  });
}

// ---- end of message ------------------------------------------------------------------------

void SmtpSession::filter_message() {
  phase_ = Phase::kMilter;
  bufferevent_disable(bev_.get(), EV_READ);
  auto give_content = [this] {
    Result<milter::MilterMessage> message = milter::MilterMessage::read(
        *transaction_.intake->spool(), server_.settings().queue.incoming(), our_received_header());
    if (!message) {
      log::error("{}: cannot read the message spool: {}", transaction_.queue_id,
                 message.error().describe());
      on_message_filtered(milter::MilterVerdict{milter::MilterVerdict::Kind::kTempfail,
                                                "451 4.3.0 Error: queue file write error", "",
                                                false});
      return;
    }
    transaction_.milter_message.emplace(std::move(message).value());
    milters_->message(*transaction_.milter_message, server_.settings().message_size_limit,
                      [this](milter::MilterVerdict verdict) {
                        if (phase_ == Phase::kMilter) on_message_filtered(std::move(verdict));
                      });
  };
  if (!transaction_.bdat_used) {
    give_content();
    return;
  }
  // BDAT: the milters hear DATA now, when the whole message is here.
  milters_->data([this, give_content](milter::MilterVerdict verdict) {
    if (phase_ != Phase::kMilter) return;
    if (verdict.proceed()) {
      give_content();
    } else {
      on_message_filtered(std::move(verdict));
    }
  });
}

void SmtpSession::on_message_filtered(milter::MilterVerdict verdict) {
  phase_ = Phase::kCommand;
  bufferevent_enable(bev_.get(), EV_READ);
  using Kind = milter::MilterVerdict::Kind;
  const std::string queue_id = transaction_.queue_id;
  bool resume_input = true;
  if (verdict.kind == Kind::kReject || verdict.kind == Kind::kTempfail) {
    // Postfix's form: the reply without its 3-digit code.
    std::string_view text = verdict.reply;
    if (text.size() > 4) text.remove_prefix(4);
    log_milter("reject", "END-OF-MESSAGE", text, "");
    milters_->end_message();
    reset_transaction();
    reply(verdict.reply);
  } else if (verdict.kind == Kind::kDiscard ||
             !milter::apply_envelope_edits(milters_->outcome(), queue_id, transaction_.sender,
                                           transaction_.recipients)) {
    log_milter("discard", "END-OF-MESSAGE",
               verdict.kind == Kind::kDiscard ? "milter triggers DISCARD action"
                                              : "milters removed every recipient",
               "");
    milters_->end_message();
    reset_transaction();
    errors_ = 0;
    send_line("250 2.0.0 Ok: queued as " + queue_id);
  } else {
    const milter::MessageOutcome& outcome = milters_->outcome();
    const QueueLayout& queue = server_.settings().queue;
    transaction_.held = !outcome.quarantine.empty();
    if (transaction_.held) {
      log::info("{}: quarantine by milter {}: {}", queue_id,
                outcome.quarantined_by.empty() ? "(default action)" : outcome.quarantined_by,
                log::printable(outcome.quarantine, kMaxLoggedBytes));
    }
    Status written =
        transaction_.intake->write_filtered(transaction_.held ? queue.hold() : queue.incoming(),
                                            queue_envelope(), *transaction_.milter_message);
    milters_->end_message();
    transaction_.milter_message.reset();
    if (!written) {
      log::error("{}: cannot write the queue file: {}", queue_id, written.error().describe());
      reset_transaction();
      reply("451 4.3.0 Error: queue file write error");
    } else {
      commit_message();
      resume_input = false;  // on_commit_done goes on
    }
  }
  if (!resume_input || phase_ != Phase::kCommand) return;
  if (server_.stopping()) {
    close_after("421 4.3.2 Service shutting down");
  } else if (pause_pending_) {
    pause_for_error_sleep();
  } else {
    process_input();
  }
}

// ---- macros and logs -----------------------------------------------------------------------

std::optional<std::string> SmtpSession::milter_macro(std::string_view name) const {
  const SmtpdSettings& settings = server_.settings();
  if (name == "j") return settings.hostname;
  if (name == "_") return "unknown [" + client_address_ + "]";
  if (name == "v") return std::string("Postern");
  if (name == "daemon_name") return settings.milters.daemon_name;
  if (name == "daemon_addr" || name == "if_addr") return daemon_address_;
  if (name == "daemon_port") return std::to_string(daemon_port_);
  if (name == "if_name") return settings.hostname;
  if (name == "client_addr") return client_address_;
  if (name == "client_port") return std::to_string(client_port_);
  if (name == "client_name" || name == "client_ptr") return std::string("unknown");
  if (name == "client_resolve") return std::string("FAIL");  // no reverse lookup is made
  if (tls_active_) {
    if (name == "tls_version" || name == "cipher" || name == "cipher_bits") {
      // tls_description_: "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)"
      std::string_view d = tls_description_;
      size_t with = d.find(" with cipher ");
      if (with == std::string_view::npos) return std::nullopt;
      if (name == "tls_version") return std::string(d.substr(0, with));
      std::string_view rest = d.substr(with + 13);
      size_t space = rest.find(' ');
      if (name == "cipher") return std::string(rest.substr(0, space));
      size_t open = rest.find('('), slash = rest.find('/');
      if (open == std::string_view::npos || slash == std::string_view::npos) return std::nullopt;
      return std::string(rest.substr(open + 1, slash - open - 1));
    }
  }
  if (!login_.empty()) {
    if (name == "auth_type") return auth_mechanism_;
    if (name == "auth_authen") return login_;
  }
  if (!transaction_.active()) return std::nullopt;
  if (name == "i") return transaction_.queue_id;
  if (name == "mail_addr") return transaction_.sender;
  if (name == "mail_host") return std::string(domain_of(transaction_.sender));
  if (name == "mail_mailer") return std::string(transaction_.sender.empty() ? "error" : "smtp");
  if (name == "rcpt_addr") return milter_rcpt_;
  if (name == "rcpt_host") return std::string(domain_of(milter_rcpt_));
  if (name == "rcpt_mailer") return std::string("smtp");
  return std::nullopt;
}

void SmtpSession::log_milter(std::string_view action, std::string_view stage, std::string_view text,
                             std::string_view recipient) const {
  // Postfix's fields: from= once MAIL FROM was given, to= the recipient in question (the last
  // one at end of message), helo= once HELO was given.
  std::string fields;
  if (transaction_.active()) {
    fields += fmt::format(" from=<{}>", log::printable(transaction_.sender, kMaxLoggedBytes));
  }
  if (recipient.empty() && !transaction_.recipients.empty()) {
    recipient = transaction_.recipients.back().address;
  }
  if (!recipient.empty())
    fields += fmt::format(" to=<{}>", log::printable(recipient, kMaxLoggedBytes));
  fields += " proto=" + protocol_name();
  if (!helo_.empty()) fields += fmt::format(" helo=<{}>", log::printable(helo_, kMaxLoggedBytes));
  const bool queued = transaction_.active() && !transaction_.recipients.empty() && stage != "MAIL";
  std::string line = fmt::format("{}: milter-{}: {} from {}: {};{}",
                                 queued ? transaction_.queue_id : std::string("NOQUEUE"), action,
                                 stage, client_label(), log::printable(text, 300), fields);
  // Postfix's cleanup writes the end-of-message lines, and pflogsumm counts them only there.
  if (stage == "END-OF-MESSAGE") {
    log::write_as("cleanup", log::Level::kInfo, line);
  } else {
    log::write(log::Level::kInfo, line);
  }
}

}  // namespace postern::smtpd
