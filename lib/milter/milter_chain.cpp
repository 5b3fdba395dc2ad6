// The milter chain's stages up to DATA, its verdicts and macros (see milter_chain.hpp); the
// message content and end-of-message edits are in milter_chain_content.cpp.
#include "lib/milter/milter_chain.hpp"

#include "lib/base/log.hpp"

namespace postern::milter {
namespace {

constexpr std::string_view kRejectReply = "550 5.7.1 Command rejected";
constexpr std::string_view kTempfailReply = "451 4.7.1 Service unavailable - try again later";
constexpr size_t kMaxReplyLineBytes = 512;

// SMFIM_* indexes of a version 6 macro list.
int symlist_index(MacroStage stage) {
  switch (stage) {
    case MacroStage::kConnect:
      return 0;
    case MacroStage::kHelo:
      return 1;
    case MacroStage::kMail:
      return 2;
    case MacroStage::kRcpt:
      return 3;
    case MacroStage::kData:
      return 4;
    case MacroStage::kEndOfMessage:
      return 5;
    case MacroStage::kEndOfHeaders:
      return 6;
    default:
      return -1;
  }
}

std::vector<std::string> split_names(std::string_view text) {
  std::vector<std::string> names;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == ',' || text[i] == '\t')) ++i;
    size_t end = i;
    while (end < text.size() && text[end] != ' ' && text[end] != ',' && text[end] != '\t') ++end;
    if (end > i) names.emplace_back(text.substr(i, end - i));
    i = end;
  }
  return names;
}

MilterVerdict verdict(MilterVerdict::Kind kind, std::string_view reply, std::string_view milter) {
  MilterVerdict v;
  v.kind = kind;
  v.reply = std::string(reply);
  v.milter = std::string(milter);
  return v;
}

}  // namespace

std::string smtp_reply_from_milter(std::string_view code, std::string_view text) {
  std::vector<std::string_view> lines;
  while (lines.size() < kMaxReplyLines) {
    size_t crlf = text.find("\r\n");
    std::string_view line = text.substr(0, crlf);
    // Lines after the first carry their own "550-" or "550 ": the code is ours.
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!lines.empty() && line.size() >= 4 && digit(line[0]) && digit(line[1]) && digit(line[2]) &&
        (line[3] == '-' || line[3] == ' ')) {
      line.remove_prefix(4);
    }
    if (line.size() > kMaxReplyLineBytes) line = line.substr(0, kMaxReplyLineBytes);
    lines.push_back(line);
    if (crlf == std::string_view::npos) break;
    text.remove_prefix(crlf + 2);
  }
  std::string reply;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) reply += "\r\n";
    reply += code;
    reply += i + 1 < lines.size() ? '-' : ' ';
    for (char c : lines[i]) reply += (c == '\r' || c == '\n') ? ' ' : c;
  }
  return reply;
}

MilterChain::MilterChain(event_base* base, const MilterSettings& settings, MacroLookup macros)
    : base_(base), settings_(settings), macros_(std::move(macros)) {
  entries_.resize(settings.milters.size());
  finish_event_.reset(event_new(base_, -1, 0, on_finish, this));
}

MilterChain::~MilterChain() {
  *alive_ = false;
  for (Entry& entry : entries_) {
    if (entry.client) entry.client->quit();
  }
}

void MilterChain::finish(Done done, MilterVerdict verdict) {
  pending_done_ = std::move(done);
  pending_verdict_ = std::move(verdict);
  event_active(finish_event_.get(), 0, 0);
}

void MilterChain::on_finish(evutil_socket_t, short, void* arg) {
  auto* self = static_cast<MilterChain*>(arg);
  Done done = std::move(self->pending_done_);
  self->pending_done_ = nullptr;
  if (done) done(std::move(self->pending_verdict_));
}

bool MilterChain::wants_message_steps(const Entry& entry) const {
  return entry.client && !entry.client->failed() && !entry.session_done && !entry.message_done;
}

// ---- stages --------------------------------------------------------------------------------

void MilterChain::connect(const MilterConnectInfo& info, Done done) {
  auto step = std::make_shared<Step>(
      Step{MacroStage::kConnect, MilterCommand::kConnect,
           encode_connect(info.hostname, info.family, info.port, info.address), kNoConnect,
           kNoReplyConnect, true});
  open_and_run(std::move(step), 0, std::move(done));
}

void MilterChain::open_and_run(std::shared_ptr<Step> step, size_t index, Done done) {
  if (index >= entries_.size()) {
    finish(std::move(done), MilterVerdict{});
    return;
  }
  Entry& entry = entries_[index];
  entry.client = std::make_unique<MilterClient>(base_, settings_.milters[index]);
  std::shared_ptr<bool> alive = alive_;
  entry.client->open([this, alive, step, index, done](Status opened) mutable {
    if (!*alive) return;
    Entry& e = entries_[index];
    if (!opened) {
      std::optional<MilterVerdict> stop = milter_failed(e, opened.error().message);
      if (stop) {
        finish(std::move(done), *stop);
        return;
      }
      open_and_run(step, index + 1, std::move(done));
      return;
    }
    // Run this milter's connect step, then open the next one.
    const uint32_t protocol = e.client->negotiation().protocol;
    if (protocol & step->no_step_flag) {
      open_and_run(step, index + 1, std::move(done));
      return;
    }
    send_macros(e, step->macro_stage, step->command);
    e.client->write(step->packet);
    if (protocol & step->no_reply_flag) {
      open_and_run(step, index + 1, std::move(done));
      return;
    }
    e.client->await(e.client->spec().command_timeout, [this, alive, step, index,
                                                       done](Result<MilterReply> reply) mutable {
      if (!*alive) return;
      std::optional<MilterVerdict> stop = interpret(entries_[index], *step, std::move(reply));
      if (stop) {
        if (!session_verdict_) session_verdict_ = *stop;
        finish(std::move(done), *stop);
        return;
      }
      open_and_run(step, index + 1, std::move(done));
    });
  });
}

void MilterChain::helo(std::string_view helo, Done done) {
  if (session_verdict_) {  // refused at connect: the milters hear nothing more
    finish(std::move(done), *session_verdict_);
    return;
  }
  auto step = std::make_shared<Step>(Step{MacroStage::kHelo, MilterCommand::kHelo,
                                          encode_helo(helo), kNoHelo, kNoReplyHelo, true});
  run_step(std::move(step), 0, std::move(done));
}

void MilterChain::mail(std::string_view sender, const std::vector<std::string>& esmtp_args,
                       Done done) {
  if (session_verdict_) {
    finish(std::move(done), *session_verdict_);
    return;
  }
  outcome_ = MessageOutcome{};
  discard_message_ = false;
  for (Entry& entry : entries_) {
    entry.message_done = false;
    entry.in_message = wants_message_steps(entry);
  }
  auto step = std::make_shared<Step>(Step{MacroStage::kMail, MilterCommand::kMail,
                                          encode_envelope(MilterCommand::kMail, sender, esmtp_args),
                                          kNoMail, kNoReplyMail, false});
  run_step(std::move(step), 0, std::move(done));
}

void MilterChain::rcpt(std::string_view recipient, const std::vector<std::string>& esmtp_args,
                       Done done) {
  if (session_verdict_) {
    finish(std::move(done), *session_verdict_);
    return;
  }
  auto step = std::make_shared<Step>(Step{
      MacroStage::kRcpt, MilterCommand::kRcpt,
      encode_envelope(MilterCommand::kRcpt, recipient, esmtp_args), kNoRcpt, kNoReplyRcpt, false});
  run_step(std::move(step), 0, std::move(done));
}

void MilterChain::data(Done done) {
  if (session_verdict_) {
    finish(std::move(done), *session_verdict_);
    return;
  }
  auto step = std::make_shared<Step>(Step{MacroStage::kData, MilterCommand::kData,
                                          encode_simple(MilterCommand::kData), kNoData,
                                          kNoReplyData, false});
  run_step(std::move(step), 0, std::move(done));
}

void MilterChain::unknown(std::string_view command, Done done) {
  if (session_verdict_) {
    finish(std::move(done), MilterVerdict{});  // the command gets smtpd's own 500
    return;
  }
  std::string data(command.substr(0, 4096));
  data.push_back('\0');
  auto step = std::make_shared<Step>(Step{MacroStage::kUnknown, MilterCommand::kUnknown,
                                          encode_packet(MilterCommand::kUnknown, data), kNoUnknown,
                                          kNoReplyUnknown, false});
  run_step(std::move(step), 0, std::move(done));
}

void MilterChain::run_step(std::shared_ptr<Step> step, size_t index, Done done) {
  const bool any_time = step->command == MilterCommand::kUnknown;  // inside a transaction or not
  for (; index < entries_.size(); ++index) {
    Entry& entry = entries_[index];
    if (!entry.client || entry.client->failed() || entry.session_done) continue;
    if (!step->session_stage && !any_time && (entry.message_done || !entry.in_message)) continue;
    if (!step->session_stage && !any_time && discard_message_) break;
    const uint32_t protocol = entry.client->negotiation().protocol;
    if (protocol & step->no_step_flag) continue;
    send_macros(entry, step->macro_stage, step->command);
    entry.client->write(step->packet);
    if (protocol & step->no_reply_flag) continue;
    const std::chrono::milliseconds timeout = entry.client->spec().command_timeout;
    std::shared_ptr<bool> alive = alive_;
    entry.client->await(
        timeout, [this, alive, step, index, done](Result<MilterReply> reply) mutable {
          if (!*alive) return;
          std::optional<MilterVerdict> stop = interpret(entries_[index], *step, std::move(reply));
          if (stop) {
            // A refusal at HELO, like one at connect, answers MAIL FROM (Postfix's way).
            if (step->session_stage && !session_verdict_) session_verdict_ = *stop;
            finish(std::move(done), *stop);
            return;
          }
          run_step(step, index + 1, std::move(done));
        });
    return;
  }
  finish(std::move(done), MilterVerdict{});
}

std::optional<MilterVerdict> MilterChain::interpret(Entry& entry, const Step& step,
                                                    Result<MilterReply> reply) {
  const std::string& name = entry.client->spec().name;
  if (!reply) return milter_failed(entry, reply.error().message);
  using Kind = MilterReply::Kind;
  switch (reply->kind) {
    case Kind::kContinue:
    case Kind::kSkip:
      return std::nullopt;
    case Kind::kAccept:
      if (step.command == MilterCommand::kUnknown) return std::nullopt;
      (step.session_stage ? entry.session_done : entry.message_done) = true;
      return std::nullopt;
    case Kind::kReject:
      return verdict(MilterVerdict::Kind::kReject, kRejectReply, name);
    case Kind::kTempfail:
      return verdict(MilterVerdict::Kind::kTempfail, kTempfailReply, name);
    case Kind::kReplyCode:
      return verdict(
          reply->code[0] == '4' ? MilterVerdict::Kind::kTempfail : MilterVerdict::Kind::kReject,
          smtp_reply_from_milter(reply->code, reply->text), name);
    case Kind::kDiscard:
      if (step.command == MilterCommand::kUnknown) return std::nullopt;
      if (step.session_stage) return milter_failed(entry, "DISCARD before MAIL FROM");
      discard_message_ = true;
      return verdict(MilterVerdict::Kind::kDiscard, "", name);
    case Kind::kShutdown:
      return milter_failed(entry, "the milter shut the connection down");
    default:
      return milter_failed(
          entry, "unexpected reply to command " + std::string(1, static_cast<char>(step.command)));
  }
}

std::optional<MilterVerdict> MilterChain::milter_failed(Entry& entry, std::string_view reason) {
  const MilterSpec& spec = entry.client->spec();
  entry.session_done = true;
  entry.in_message = false;
  entry.client->quit();
  log::warning("milter {}: {}; default_action={}", spec.name, reason,
               default_action_name(spec.default_action));
  switch (spec.default_action) {
    case DefaultAction::kAccept:
      return std::nullopt;
    case DefaultAction::kQuarantine:
      session_quarantine_ = "milter " + spec.name + " is unavailable";
      return std::nullopt;
    case DefaultAction::kTempfail:
    case DefaultAction::kReject: {
      const bool tempfail = spec.default_action == DefaultAction::kTempfail;
      MilterVerdict v =
          verdict(tempfail ? MilterVerdict::Kind::kTempfail : MilterVerdict::Kind::kReject,
                  tempfail ? kTempfailReply : kRejectReply, spec.name);
      v.default_action = true;
      // Every later MAIL, RCPT and DATA of the session hears it; at connect and HELO the
      // session only logs it (the greeting and EHLO succeed, as with Postfix).
      if (!session_verdict_) session_verdict_ = v;
      return v;
    }
  }
  return std::nullopt;
}

void MilterChain::send_macros(Entry& entry, MacroStage stage, MilterCommand command) {
  std::vector<std::string> requested;
  const std::vector<std::string>* names = &settings_.stage_macros(stage);
  int index = symlist_index(stage);
  for (const auto& [list_stage, list] : entry.client->negotiation().macro_lists) {
    if (static_cast<int>(list_stage) == index) {
      requested = split_names(list);
      names = &requested;
    }
  }
  if (names->empty()) return;
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& name : *names) {
    std::string_view bare = name;
    if (bare.size() > 2 && bare.front() == '{' && bare.back() == '}') {
      bare = bare.substr(1, bare.size() - 2);
    }
    std::optional<std::string> value = macros_(bare);
    if (!value) continue;
    pairs.emplace_back(bare.size() == 1 ? std::string(bare) : "{" + std::string(bare) + "}",
                       std::move(*value));
  }
  entry.client->write(encode_macros(command, pairs));
}

void MilterChain::abort_message() {
  for (Entry& entry : entries_) {
    if (entry.in_message && entry.client && !entry.client->failed()) {
      entry.client->write(encode_simple(MilterCommand::kAbort));
    }
    entry.in_message = false;
    entry.message_done = false;
  }
  content_.reset();
  discard_message_ = false;
}

void MilterChain::end_message() {
  abort_message();  // milters that saw no end of message (a later one refused) still need it
  outcome_ = MessageOutcome{};
}

}  // namespace postern::milter
