// The message half of the SMTP session state machine (see smtp_session.hpp): DATA and BDAT
// (RFC 3030) read into the queue file, then the commit (fsync on the commit pool) and the 250
// that follows it. Run by postern-smtpd and postern-submission inside libevent callbacks.
// Client bytes are hostile: DATA goes through SmtpDataReader as spans (no line buffer), BDAT
// chunks are copied straight from the input buffer into the queue file, and anything past
// message_size_limit is counted but not stored. Peer text is made printable before it is logged.
#include <algorithm>
#include <ctime>

#include "lib/base/log.hpp"
#include "lib/queue/queue_dir.hpp"
#include "smtpd/received_header.hpp"
#include "smtpd/smtp_server.hpp"
#include "smtpd/smtp_session.hpp"

namespace postern::smtpd {

// ---- reading the message -------------------------------------------------------------------

void SmtpSession::read_data() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  int count = evbuffer_peek(in, -1, nullptr, nullptr, 0);
  if (count <= 0) return;
  iovecs_.resize(static_cast<size_t>(count));
  count = evbuffer_peek(in, -1, nullptr, iovecs_.data(), count);
  size_t consumed = 0;
  DataEvent event = DataEvent::kNeedMore;
  for (int i = 0; i < count; ++i) {
    std::string_view span(static_cast<const char*>(iovecs_[i].iov_base), iovecs_[i].iov_len);
    DataFeedResult result = data_reader_.feed(span, data_sink_);
    consumed += result.consumed;
    if (result.event != DataEvent::kNeedMore) {
      event = result.event;
      break;
    }
  }
  evbuffer_drain(in, consumed);
  switch (event) {
    case DataEvent::kNeedMore:
      return;
    case DataEvent::kEnd:
      finish_message();
      return;
    case DataEvent::kBareLf:
    case DataEvent::kBareCr: {
      const char* what = event == DataEvent::kBareLf ? "<LF>" : "<CR>";
      log::info("{}: reject: bare {} received in DATA from {}", transaction_.queue_id, what,
                client_label());
      reset_transaction();  // drops the temporary queue file
      close_after(
          fmt::format("521 5.5.2 {} Error: bare {} received", server_.settings().hostname, what));
      return;
    }
  }
}

void SmtpSession::read_bdat() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (bdat_remaining_ > 0) {
    size_t available = evbuffer_get_length(in);
    if (available == 0) return;
    size_t take = static_cast<size_t>(std::min<uint64_t>(available, bdat_remaining_));
    if (bdat_chunk_failure_.empty()) {
      int count = evbuffer_peek(in, static_cast<ev_ssize_t>(take), nullptr, nullptr, 0);
      iovecs_.resize(static_cast<size_t>(std::max(count, 0)));
      count = evbuffer_peek(in, static_cast<ev_ssize_t>(take), nullptr, iovecs_.data(), count);
      size_t left = take;
      for (int i = 0; i < count && left > 0; ++i) {
        size_t n = std::min(left, iovecs_[i].iov_len);
        append_message_bytes(std::string_view(static_cast<const char*>(iovecs_[i].iov_base), n));
        left -= n;
      }
    }
    evbuffer_drain(in, take);
    bdat_remaining_ -= take;
  }
  finish_bdat_chunk();
}

void SmtpSession::handle_data() {
  if (!transaction_.active()) {
    reply("503 5.5.1 Error: need MAIL command");
    return;
  }
  if (transaction_.bdat_used) {
    reply("503 5.5.1 Error: DATA after BDAT");
    return;
  }
  if (transaction_.recipients.empty()) {
    reply("554 5.5.1 Error: no valid recipients");
    return;
  }
  if (milters_) {
    run_milter_stage([this](milter::MilterChain::Done done) { milters_->data(done); },
                     [this](milter::MilterVerdict verdict) {
                       if (verdict.proceed() ||
                           verdict.kind == milter::MilterVerdict::Kind::kDiscard) {
                         start_data();
                         return;
                       }
                       log_milter("reject", "DATA", verdict.reply, "");
                       reset_transaction();
                       reply(verdict.reply);
                     });
    return;
  }
  start_data();
}

void SmtpSession::start_data() {
  if (!open_intake()) {
    reset_transaction();
    reply("451 4.3.0 Error: queue file write error");
    return;
  }
  data_reader_.reset();
  phase_ = Phase::kData;
  send_line("354 End data with <CR><LF>.<CR><LF>");
}

void SmtpSession::handle_bdat(const SmtpCommand& command) {
  std::string failure;
  if (helo_.empty()) {
    failure = "503 5.5.1 Error: send HELO/EHLO first";
  } else if (!transaction_.active()) {
    failure = "503 5.5.1 Error: need MAIL command";
  } else if (transaction_.recipients.empty()) {
    failure = "554 5.5.1 Error: no valid recipients";
  } else if (!transaction_.bdat_failure.empty()) {
    failure = transaction_.bdat_failure;
  } else if (!transaction_.bdat_used) {
    transaction_.bdat_used = true;
    if (!open_intake()) {
      failure = "451 4.3.0 Error: queue file write error";
      transaction_.bdat_failure = failure;
    }
  }
  bdat_chunk_failure_ = std::move(failure);
  bdat_remaining_ = command.chunk_bytes;
  bdat_chunk_bytes_ = command.chunk_bytes;
  bdat_last_ = command.last_chunk;
  phase_ = Phase::kBdat;
}

void SmtpSession::finish_bdat_chunk() {
  phase_ = Phase::kCommand;
  if (!bdat_chunk_failure_.empty()) {
    std::string failure = std::move(bdat_chunk_failure_);
    bdat_chunk_failure_.clear();
    if (bdat_last_ && transaction_.bdat_used) reset_transaction();
    reply(failure);
    return;
  }
  if (bdat_last_) {
    finish_message();
    return;
  }
  const MessageIntake& intake = *transaction_.intake;
  if (intake.too_big()) {
    transaction_.bdat_failure = "552 5.3.4 Message size exceeds fixed limit";
  } else if (intake.write_error()) {
    transaction_.bdat_failure = "451 4.3.0 Error: queue file write error";
  }
  if (!transaction_.bdat_failure.empty()) {
    reply(transaction_.bdat_failure);
    return;
  }
  send_line(fmt::format("250 2.0.0 Ok: {} bytes", bdat_chunk_bytes_));
}

// ---- queueing it ---------------------------------------------------------------------------

QueueEnvelope SmtpSession::queue_envelope() const {
  QueueEnvelope envelope;
  envelope.queue_id = transaction_.queue_id;
  envelope.arrival_time = static_cast<int64_t>(std::time(nullptr));
  envelope.sender = transaction_.sender;
  auto& attributes = envelope.attributes;
  attributes.emplace_back("client_address", client_address_);
  attributes.emplace_back("client_name", "unknown");
  attributes.emplace_back("helo", log::printable(helo_, 255));
  attributes.emplace_back("protocol", protocol_name());
  if (tls_active_) attributes.emplace_back("tls", tls_description_);
  if (!transaction_.body.empty()) attributes.emplace_back("body", transaction_.body);
  if (transaction_.utf8) attributes.emplace_back("smtputf8", "yes");
  if (!transaction_.dsn_ret.empty()) attributes.emplace_back("dsn_ret", transaction_.dsn_ret);
  if (!transaction_.dsn_envid.empty()) {
    attributes.emplace_back("dsn_envid", transaction_.dsn_envid);
  }
  // The login goes into the queue file, never into Received: (Postfix's
  // smtpd_sasl_authenticated_header = no): the header would show it to every recipient.
  if (!login_.empty()) attributes.emplace_back("auth", login_);
  envelope.recipients = transaction_.recipients;
  return envelope;
}

std::string SmtpSession::our_received_header() const {
  const std::string protocol = protocol_name();  // ReceivedInfo holds views: it must outlive info
  ReceivedInfo info;
  info.helo = helo_;
  info.client_name = "unknown";
  info.client_address = client_address_;
  info.hostname = server_.settings().hostname;
  info.protocol = protocol;
  info.queue_id = transaction_.queue_id;
  info.tls_description = tls_active_ ? std::string_view(tls_description_) : std::string_view();
  if (transaction_.recipients.size() == 1)
    info.single_recipient = transaction_.recipients[0].address;
  info.when = std::time(nullptr);
  return received_header(info);
}

bool SmtpSession::open_intake() {
  const SmtpdSettings& settings = server_.settings();
  // With milters the message waits in a spool file; the queue file is written once they are
  // done (smtp_session_milter.cpp), with their edits.
  Result<MessageIntake> intake =
      milters_ ? MessageIntake::begin_spooled(settings.queue.incoming(), settings.message_size_limit)
               : MessageIntake::begin(settings.queue.incoming(), queue_envelope(),
                                      our_received_header(), settings.message_size_limit);
  if (!intake) {
    log::error("{}: cannot create the queue file: {}", transaction_.queue_id,
               intake.error().describe());
    return false;
  }
  transaction_.intake.emplace(std::move(intake).value());
  if (settings.submission) transaction_.headers.emplace(settings.header_size_limit);
  return true;
}

void SmtpSession::finish_message() {
  phase_ = Phase::kCommand;
  if (transaction_.headers && !transaction_.headers_written) {
    transaction_.headers->finish_at_end_of_message();  // a message that is all header
    finish_header_section();
  }
  MessageIntake& intake = *transaction_.intake;
  const std::string queue_id = transaction_.queue_id;
  if (!transaction_.header_refusal.empty()) {
    const std::string refusal = transaction_.header_refusal;
    log::info("{}: reject: header from {}: {}; from=<{}> sasl_username={}", queue_id,
              client_label(), refusal, log::printable(transaction_.sender, kMaxLoggedBytes),
              login_);
    reset_transaction();
    reply(refusal);
  } else if (intake.too_big()) {
    log::info("{}: reject: size {} from {} exceeds message_size_limit", queue_id,
              intake.message_bytes(), client_label());
    reset_transaction();
    reply("552 5.3.4 Message size exceeds fixed limit");
  } else if (intake.write_error()) {
    log::error("{}: queue file write error: {}", queue_id, intake.write_error()->describe());
    reset_transaction();
    reply("451 4.3.0 Error: queue file write error");
  } else if (milters_) {
    filter_message();  // then commit_message(), or the milters' refusal
    return;
  } else {
    commit_message();
    return;
  }
  if (server_.stopping()) close_after("421 4.3.2 Service shutting down");
}

void SmtpSession::commit_message() {
  // Durable in a commit thread; reading pauses until the 250 (or 451) has been sent.
  phase_ = Phase::kCommitting;
  bufferevent_disable(bev_.get(), EV_READ);
  MessageIntake& intake = *transaction_.intake;
  committed_bytes_ = intake.message_bytes();
  MessageIntake owned = std::move(intake);
  transaction_.intake.reset();
  server_.commit_pool().submit(
      std::move(owned), [this](Status committed) { on_commit_done(std::move(committed)); });
}

void SmtpSession::on_commit_done(Status committed) {
  const std::string queue_id = transaction_.queue_id;
  if (retire_when_committed_) {  // the client went away meanwhile: nobody to answer
    log::info("{}: {} after the client left", queue_id,
              committed ? "queued" : "not queued: " + committed.error().describe());
    if (committed && !transaction_.held) server_.qmgr_nudge().nudge(queue_id);
    server_.retire(this);
    return;
  }
  phase_ = Phase::kCommand;
  bufferevent_enable(bev_.get(), EV_READ);
  if (!committed) {
    log::error("{}: cannot commit the queue file: {}", queue_id, committed.error().describe());
    reset_transaction();
    reply("451 4.3.0 Error: queue file write error");
  } else {
    const bool held = transaction_.held;
    if (held) {
      log_milter("hold", "END-OF-MESSAGE", "milter triggers HOLD action", "");
    } else {
      log::info("{}: queued: from=<{}>, size={}, nrcpt={}, proto={}", queue_id,
                log::printable(transaction_.sender, kMaxLoggedBytes), committed_bytes_,
                transaction_.recipients.size(), protocol_name());
    }
    reset_transaction();
    errors_ = 0;  // "without delivering mail": a queued message clears the count
    send_line("250 2.0.0 Ok: queued as " + queue_id);
    if (!held) server_.qmgr_nudge().nudge(queue_id);
  }
  if (server_.stopping()) {
    close_after("421 4.3.2 Service shutting down");
  } else if (pause_pending_) {
    pause_for_error_sleep();
  } else {
    process_input();  // commands the client pipelined behind the message
  }
}

}  // namespace postern::smtpd
