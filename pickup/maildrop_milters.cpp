// One picked-up message through non_smtpd_milters (see maildrop_milters.hpp).
#include "pickup/maildrop_milters.hpp"

#include <event2/event.h>

#include <memory>

#include "lib/base/event_handles.hpp"
#include "lib/base/log.hpp"
#include "lib/milter/envelope_edits.hpp"

namespace postern::pickup {
namespace {

using milter::MilterChain;
using milter::MilterVerdict;

std::string_view domain_of(std::string_view address) {
  size_t at = address.rfind('@');
  return at == std::string_view::npos ? std::string_view() : address.substr(at + 1);
}

// The stages in order, each started when the one before said continue.
class Conversation {
 public:
  Conversation(event_base* base, const milter::MilterSettings& milters, QueueEnvelope& envelope,
               milter::MilterMessage& message, uint64_t size_limit)
      : base_(base),
        envelope_(envelope),
        message_(message),
        size_limit_(size_limit),
        chain_(base, milters, [this](std::string_view name) { return macro(name); }) {}

  MilterVerdict run() {
    milter::MilterConnectInfo info;
    info.hostname = "localhost";
    info.family = '4';
    info.port = 0;
    info.address = "127.0.0.1";
    chain_.connect(info, next([this] {
                     chain_.helo("localhost", next([this] {
                                   chain_.mail(envelope_.sender, {},
                                               next([this] { recipient(0); }));
                                 }));
                   }));
    event_base_dispatch(base_);
    return verdict_;
  }

  const milter::MessageOutcome& outcome() const { return chain_.outcome(); }
  const std::string& session_quarantine() const { return chain_.session_quarantine(); }

 private:
  // done-callback: on continue (or a discard, decided at the end) run then; otherwise stop.
  MilterChain::Done next(std::function<void()> then) {
    return [this, then = std::move(then)](MilterVerdict verdict) {
      if (verdict.kind == MilterVerdict::Kind::kReject ||
          verdict.kind == MilterVerdict::Kind::kTempfail) {
        finish(std::move(verdict));
        return;
      }
      if (verdict.kind == MilterVerdict::Kind::kDiscard) discard_ = verdict;
      then();
    };
  }

  void recipient(size_t index) {
    if (index == envelope_.recipients.size()) {
      chain_.data(next([this] {
        chain_.message(message_, size_limit_, [this](MilterVerdict verdict) {
          if (discard_ && verdict.proceed()) verdict = *discard_;
          finish(std::move(verdict));
        });
      }));
      return;
    }
    rcpt_ = envelope_.recipients[index].address;
    chain_.rcpt(rcpt_, {}, [this, index](MilterVerdict verdict) {
      // A recipient a milter refuses is refused for the whole message: sendmail already said
      // yes to every one of them, so the sender hears of it in a bounce.
      if (verdict.kind == MilterVerdict::Kind::kReject ||
          verdict.kind == MilterVerdict::Kind::kTempfail) {
        finish(std::move(verdict));
        return;
      }
      if (verdict.kind == MilterVerdict::Kind::kDiscard) discard_ = verdict;
      recipient(index + 1);
    });
  }

  void finish(MilterVerdict verdict) {
    verdict_ = std::move(verdict);
    event_base_loopexit(base_, nullptr);
  }

  std::optional<std::string> macro(std::string_view name) const {
    if (name == "j" || name == "if_name") return hostname_;
    if (name == "daemon_name") return daemon_name_;
    if (name == "_") return std::string("localhost [127.0.0.1]");
    if (name == "v") return std::string("Postern");
    if (name == "daemon_addr" || name == "if_addr" || name == "client_addr") {
      return std::string("127.0.0.1");
    }
    if (name == "client_name" || name == "client_ptr") return std::string("localhost");
    if (name == "client_port") return std::string("0");
    if (name == "i") return envelope_.queue_id;
    if (name == "mail_addr") return envelope_.sender;
    if (name == "mail_host") return std::string(domain_of(envelope_.sender));
    if (name == "mail_mailer") return std::string("local");
    if (name == "rcpt_addr") return rcpt_;
    if (name == "rcpt_host") return std::string(domain_of(rcpt_));
    if (name == "rcpt_mailer") return std::string("smtp");
    return std::nullopt;
  }

 public:
  std::string hostname_;
  std::string daemon_name_;  // milter_macro_daemon_name (ORIGINATING in the shipped master.cf)

 private:
  event_base* base_;
  QueueEnvelope& envelope_;
  milter::MilterMessage& message_;
  uint64_t size_limit_;
  MilterChain chain_;
  std::string rcpt_;
  std::optional<MilterVerdict> discard_;
  MilterVerdict verdict_;
};

}  // namespace

MilterFiltering filter_with_milters(const milter::MilterSettings& milters, QueueEnvelope& envelope,
                                    milter::MilterMessage& message, uint64_t size_limit) {
  MilterFiltering result;
  EventBaseHandle base(event_base_new());
  if (!base) {
    result.action = MilterFiltering::Action::kTempfail;
    result.reply = "451 4.3.0 Error: no event loop for the milters";
    return result;
  }
  MilterVerdict verdict;
  milter::MessageOutcome outcome;
  std::string session_quarantine;
  {
    Conversation conversation(base.get(), milters, envelope, message, size_limit);
    conversation.hostname_ = milters.hostname;
  conversation.daemon_name_ = milters.daemon_name;
    verdict = conversation.run();
    outcome = conversation.outcome();
    session_quarantine = conversation.session_quarantine();
  }  // the milters hear QUIT here
  using Kind = MilterVerdict::Kind;
  if (verdict.kind == Kind::kReject || verdict.kind == Kind::kTempfail) {
    result.action = verdict.kind == Kind::kReject ? MilterFiltering::Action::kReject
                                                  : MilterFiltering::Action::kTempfail;
    result.reply = verdict.reply;
    return result;
  }
  if (verdict.kind == Kind::kDiscard) {
    result.action = MilterFiltering::Action::kDiscard;
    return result;
  }
  if (!milter::apply_envelope_edits(outcome, envelope.queue_id, envelope.sender,
                                    envelope.recipients)) {
    result.action = MilterFiltering::Action::kDiscard;
    return result;
  }
  std::string quarantine = outcome.quarantine.empty() ? session_quarantine : outcome.quarantine;
  if (!quarantine.empty()) {
    result.action = MilterFiltering::Action::kHold;
    result.reason = quarantine;
  }
  return result;
}

}  // namespace postern::pickup
