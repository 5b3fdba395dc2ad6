// The milter chain's end of DATA (see milter_chain.hpp): header fields, end of headers, body
// chunks and end of message to each milter in turn, then its edits applied to the message and
// collected for the envelope before the next milter starts. A milter that answers nothing
// (no-reply flags) gets the next body chunk only once its socket has taken the last one, so a
// big message is never buffered whole in memory.
#include "lib/base/log.hpp"
#include "lib/milter/milter_chain.hpp"

namespace postern::milter {
namespace {
constexpr size_t kDrainLowBytes = 256 * 1024;
}

void MilterChain::message(MilterMessage& message, uint64_t size_limit, Done done) {
  if (session_verdict_) {
    finish(std::move(done), *session_verdict_);
    return;
  }
  content_ = std::make_unique<ContentRun>();
  content_->message = &message;
  content_->size_limit = size_limit;
  content_->done = std::move(done);
  content_next();
}

void MilterChain::content_done(MilterVerdict verdict) {
  Done done = std::move(content_->done);
  content_.reset();
  if (!session_quarantine_.empty() && outcome_.quarantine.empty()) {
    outcome_.quarantine = session_quarantine_;
  }
  finish(std::move(done), std::move(verdict));
}

void MilterChain::content_next() {
  using Phase = ContentRun::Phase;
  ContentRun& run = *content_;
  std::shared_ptr<bool> alive = alive_;
  auto await_reply = [this, alive](Entry& entry) {
    entry.client->await(entry.client->spec().content_timeout, [this, alive](Result<MilterReply> r) {
      if (*alive) content_reply(std::move(r));
    });
  };
  while (run.entry < entries_.size()) {
    Entry& entry = entries_[run.entry];
    if (discard_message_ || !wants_message_steps(entry) || !entry.in_message) {
      run.next_milter();
      continue;
    }
    const uint32_t protocol = entry.client->negotiation().protocol;
    const bool leading_space = (protocol & kHeaderLeadingSpace) != 0;
    MilterMessage& message = *run.message;
    switch (run.phase) {
      case Phase::kHeaders:
        if (protocol & kNoHeaders) {
          run.phase = Phase::kEndOfHeaders;
          break;
        }
        while (run.header < message.headers().size()) {
          const HeaderField& field = message.headers()[run.header++];
          if (field.hidden) continue;  // ours, wherever a milter's inserts have moved it
          entry.client->write(encode_header(
              field.name, MilterMessage::value_for_milter(field.value, leading_space)));
          if (!(protocol & kNoReplyHeader)) {
            await_reply(entry);
            return;
          }
        }
        run.phase = Phase::kEndOfHeaders;
        break;
      case Phase::kEndOfHeaders:
        run.phase = Phase::kBody;
        if (protocol & kNoEndOfHeaders) break;
        send_macros(entry, MacroStage::kEndOfHeaders, MilterCommand::kEndOfHeaders);
        entry.client->write(encode_simple(MilterCommand::kEndOfHeaders));
        if (!(protocol & kNoReplyEndOfHeaders)) {
          await_reply(entry);
          return;
        }
        break;
      case Phase::kBody: {
        if ((protocol & kNoBody) || run.skip_body || run.body_offset >= message.body_size()) {
          run.phase = Phase::kEndOfMessage;
          break;
        }
        if (Status st = message.read_body(run.body_offset, kMaxMilterBodyChunkBytes, run.chunk);
            !st || run.chunk.empty()) {
          log::error("milter: cannot read the message spool: {}",
                     st ? "ended early" : st.error().describe());
          content_done(MilterVerdict{MilterVerdict::Kind::kTempfail,
                                     "451 4.3.0 Error: queue file write error", "", false});
          return;
        }
        run.body_offset += run.chunk.size();
        entry.client->write(encode_body_chunk(run.chunk));
        if (!(protocol & kNoReplyBody)) {
          await_reply(entry);
          return;
        }
        entry.client->when_drained(kDrainLowBytes, [this, alive] {
          if (*alive && content_) content_next();
        });
        return;
      }
      case Phase::kEndOfMessage:
        send_macros(entry, MacroStage::kEndOfMessage, MilterCommand::kEndOfMessage);
        entry.client->write(encode_simple(MilterCommand::kEndOfMessage));
        run.phase = Phase::kReplies;
        entry.client->await(entry.client->spec().content_timeout,
                            [this, alive](Result<MilterReply> r) {
                              if (*alive) eom_reply(std::move(r));
                            });
        return;
      case Phase::kReplies:
        return;  // not reached: eom_reply moves on
    }
  }
  content_done(MilterVerdict{});
}

// A reply to a header field, end of headers or a body chunk.
void MilterChain::content_reply(Result<MilterReply> reply) {
  ContentRun& run = *content_;
  Entry& entry = entries_[run.entry];
  if (!reply) {
    std::optional<MilterVerdict> stop = milter_failed(entry, reply.error().message);
    if (stop) {
      content_done(*stop);
      return;
    }
    run.next_milter();
    content_next();
    return;
  }
  using Kind = MilterReply::Kind;
  switch (reply->kind) {
    case Kind::kContinue:
      break;
    case Kind::kSkip:
      if (run.phase == ContentRun::Phase::kBody) run.skip_body = true;
      break;
    case Kind::kAccept:  // this milter is done with the message: no end of message for it
      entry.message_done = true;
      entry.in_message = false;
      run.next_milter();
      break;
    default: {
      Step step{MacroStage::kData, MilterCommand::kBody, {}, 0, 0, false};
      std::optional<MilterVerdict> stop = interpret(entry, step, std::move(reply));
      if (stop) {
        content_done(*stop);
        return;
      }
      run.next_milter();  // a failed milter with default_action accept/quarantine
      break;
    }
  }
  content_next();
}

// The replies after end of message: edits, then one final reply.
void MilterChain::eom_reply(Result<MilterReply> reply) {
  ContentRun& run = *content_;
  Entry& entry = entries_[run.entry];
  std::shared_ptr<bool> alive = alive_;
  if (reply && !reply->is_final() && reply->kind != MilterReply::Kind::kContinue) {
    if (Status st = apply_edit(entry, *reply); !st) {
      reply = Error::parse(st.error().message);
    } else {
      entry.client->await(entry.client->spec().content_timeout,
                          [this, alive](Result<MilterReply> r) {
                            if (*alive) eom_reply(std::move(r));
                          });
      return;
    }
  }
  entry.in_message = false;
  if (!reply) {
    std::optional<MilterVerdict> stop = milter_failed(entry, reply.error().message);
    if (stop) {
      content_done(*stop);
      return;
    }
  } else if (reply->kind != MilterReply::Kind::kContinue &&
             reply->kind != MilterReply::Kind::kAccept) {
    Step step{MacroStage::kEndOfMessage, MilterCommand::kEndOfMessage, {}, 0, 0, false};
    std::optional<MilterVerdict> stop = interpret(entry, step, std::move(reply));
    if (stop) {
      content_done(*stop);
      return;
    }
  }
  run.next_milter();
  content_next();
}

Status MilterChain::apply_edit(Entry& entry, const MilterReply& reply) {
  ContentRun& run = *content_;
  MilterMessage& message = *run.message;
  const uint32_t actions = entry.client->negotiation().actions;
  const bool leading_space = (entry.client->negotiation().protocol & kHeaderLeadingSpace) != 0;
  auto allowed = [&](uint32_t action, std::string_view what) -> Status {
    if (actions & action) return Status::success();
    return Error::parse(std::string(what) + " without negotiating it");
  };
  using Kind = MilterReply::Kind;
  switch (reply.kind) {
    case Kind::kAddHeader:
      if (Status st = allowed(kActionAddHeaders, "ADDHEADER"); !st) return st;
      message.add_header(reply.header_name, reply.header_value, leading_space);
      return Status::success();
    case Kind::kInsertHeader:
      if (Status st = allowed(kActionAddHeaders, "INSHEADER"); !st) return st;
      message.insert_header(reply.header_index, reply.header_name, reply.header_value,
                            leading_space);
      return Status::success();
    case Kind::kChangeHeader:
      if (Status st = allowed(kActionChangeHeaders, "CHGHEADER"); !st) return st;
      message.change_header(reply.header_name, reply.header_index, reply.header_value,
                            leading_space);
      return Status::success();
    case Kind::kReplaceBody:
      if (Status st = allowed(kActionChangeBody, "REPLBODY"); !st) return st;
      if (!run.replacing_body) {
        run.replacing_body = true;
        if (Status st = message.begin_body_replacement(); !st) return st;
      }
      return message.append_body_replacement(reply.body, run.size_limit);
    case Kind::kAddRecipient: {
      const bool with_args = !reply.esmtp_args.empty();
      if (Status st = allowed(with_args ? kActionAddRecipientArgs : kActionAddRecipient,
                              with_args ? "ADDRCPT_PAR" : "ADDRCPT");
          !st) {
        return st;
      }
      if (outcome_.added_recipients.size() >= kMaxAddedRecipients) {
        return Error::limit("more than 1000 added recipients");
      }
      outcome_.added_recipients.emplace_back(reply.address, reply.esmtp_args);
      return Status::success();
    }
    case Kind::kDeleteRecipient:
      if (Status st = allowed(kActionDeleteRecipient, "DELRCPT"); !st) return st;
      if (outcome_.deleted_recipients.size() >= kMaxAddedRecipients * 100) {
        return Error::limit("too many deleted recipients");
      }
      outcome_.deleted_recipients.push_back(reply.address);
      return Status::success();
    case Kind::kChangeFrom:
      if (Status st = allowed(kActionChangeFrom, "CHGFROM"); !st) return st;
      outcome_.sender = reply.address;
      outcome_.sender_args = reply.esmtp_args;
      return Status::success();
    case Kind::kQuarantine:
      if (Status st = allowed(kActionQuarantine, "QUARANTINE"); !st) return st;
      outcome_.quarantine = reply.reason.empty() ? "quarantined by a milter" : reply.reason;
      outcome_.quarantined_by = entry.client->spec().name;
      return Status::success();
    default:
      return Error::parse("unexpected reply after end of message");
  }
}

}  // namespace postern::milter
