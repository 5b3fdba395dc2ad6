// postern-local's handling of one delivery request (see local_delivery.hpp).
#include "local/local_delivery.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <map>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/mime/message_headers.hpp"
#include "lib/queue/expansion_file.hpp"
#include "local/command_delivery.hpp"
#include "local/mailbox_delivery.hpp"
#include "local/run_as.hpp"

namespace postern::local {
namespace {

constexpr int kChildSlackSeconds = 600;  // beyond the lock wait, for the write itself

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The Delivered-To: values of the message's header section, lower-cased.
std::set<std::string> delivered_to_values(const QueueFile& file) {
  std::string header;
  (void)file.for_each_message_chunk([&](std::string_view chunk) -> Status {
    header.append(chunk);
    if (header.find("\r\n\r\n") != std::string::npos || header.size() > kMaxDeliveredToScanBytes) {
      return Error::limit("enough");  // stops the walk
    }
    return Status::success();
  });
  std::set<std::string> values;
  size_t end = header.find("\r\n\r\n");
  if (end != std::string::npos) header.resize(end + 2);
  Result<std::vector<HeaderField>> fields = parse_header_section(header, 10000);
  if (!fields) return values;
  for (const HeaderField& field : *fields) {
    if (!ascii_iequals(field.name, "Delivered-To")) continue;
    std::string value = field.value;
    auto is_noise = [](char c) {
      return std::string_view(" \t\r\n<>").find(c) != std::string_view::npos;
    };
    value.erase(std::remove_if(value.begin(), value.end(), is_noise), value.end());
    values.insert(ascii_lowercase(value));
  }
  return values;
}

class RequestDelivery {
 public:
  RequestDelivery(const DeliverRequest& request, const LocalSettings& settings,
                  const QueueFile& file)
      : request_(request), settings_(settings), file_(file) {}

  DeliveryOutcome deliver(const DeliverRecipient& rcpt, const std::vector<FinalDelivery>& plan) {
    if (plan.empty()) {
      return DeliveryOutcome::bounced("5.4.6", "alias loop: no deliverable target");
    }
    std::optional<DeliveryOutcome> worst;
    std::map<std::string, std::vector<std::string>> forwards;  // by sender ("" = the envelope's)
    for (const FinalDelivery& final : plan) {
      if (final.kind == FinalDelivery::Kind::kForward) {
        forwards[final.sender].push_back(final.target);
        continue;
      }
      DeliveryOutcome outcome = run(final);
      log_delivery(final.address, rcpt.address, outcome);
      worst = worst ? worse_of(*worst, outcome) : outcome;
    }
    for (const auto& [sender, targets] : forwards) {
      DeliveryOutcome outcome = forward(rcpt, targets, sender);
      log_delivery(rcpt.address, rcpt.address, outcome);
      worst = worst ? worse_of(*worst, outcome) : outcome;
    }
    return *worst;
  }

 private:
  MessageCopy copy_for(const FinalDelivery& final) const {
    return MessageCopy{&file_, final.sender.empty() ? request_.sender : final.sender, final.address,
                       file_.envelope().arrival_time};
  }

  // Commands and files never run as root: root's own .forward ones get default_privs.
  Identity unprivileged(const Identity& who) const {
    if (who.uid != 0) return who;
    std::optional<Identity> fallback = system_sources(nullptr).find_user(settings_.default_privs);
    return fallback ? *fallback : Identity{"nobody", 65534, 65534, "/", ""};
  }

  DeliveryOutcome run(const FinalDelivery& final) const {
    const MessageCopy copy = copy_for(final);
    const std::vector<int> keep = {file_.fd()};
    const int timeout = settings_.lock_timeout_ms / 1000 + kChildSlackSeconds;
    switch (final.kind) {
      case FinalDelivery::Kind::kOutcome:
        return final.outcome;
      case FinalDelivery::Kind::kMailbox: {
        const Identity& user = final.who;
        if (!settings_.home_mailbox.empty()) {
          std::string maildir = user.home + "/" + settings_.home_mailbox;
          while (maildir.size() > 1 && maildir.back() == '/') maildir.pop_back();
          return run_as(user.uid, user.gid, timeout, keep, [&] {
            return deliver_to_maildir(copy, user.home, maildir, settings_.hostname);
          });
        }
        const gid_t gid =
            settings_.mail_gid != static_cast<gid_t>(-1) ? settings_.mail_gid : user.gid;
        MboxOptions options;
        options.expected_owner = user.uid;
        options.size_limit = settings_.mailbox_size_limit;
        options.lock_timeout_ms = settings_.lock_timeout_ms;
        const std::string path = settings_.mail_spool_directory + "/" + user.name;
        return run_as(user.uid, gid, timeout, keep,
                      [&] { return append_to_mbox(copy, path, options); });
      }
      case FinalDelivery::Kind::kFile: {
        const Identity who = unprivileged(final.who);
        MboxOptions options;
        options.lock_timeout_ms = settings_.lock_timeout_ms;
        options.what = "file";
        return run_as(who.uid, who.gid, timeout, keep,
                      [&] { return append_to_mbox(copy, final.target, options); });
      }
      case FinalDelivery::Kind::kCommand: {
        const Identity who = unprivileged(final.who);
        CommandContext context;
        context.user = who.name;
        context.home = who.home;
        context.shell = who.shell;
        context.recipient = final.address;
        size_t at = final.address.rfind('@');
        context.local_part = final.address.substr(0, at);
        context.domain = at == std::string::npos ? "" : final.address.substr(at + 1);
        const int limit = settings_.command_time_limit_seconds;
        return run_as(who.uid, who.gid, limit + kChildSlackSeconds, keep,
                      [&] { return run_delivery_command(copy, final.target, context, limit); });
      }
      case FinalDelivery::Kind::kForward:
        break;
    }
    return DeliveryOutcome::deferred("4.3.0", "unexpected delivery kind");
  }

  DeliveryOutcome forward(const DeliverRecipient& rcpt, const std::vector<std::string>& targets,
                          const std::string& sender) {
    const QueueRecipient* original = nullptr;
    const auto& recipients = file_.envelope().recipients;
    if (rcpt.index >= 0 && static_cast<size_t>(rcpt.index) < recipients.size()) {
      original = &recipients[static_cast<size_t>(rcpt.index)];
    }
    std::vector<ExpandedTarget> expanded;
    for (const std::string& target : targets) {
      expanded.push_back(ExpandedTarget{
          target, orcpt_for(rcpt.address, original ? std::string_view(original->orcpt) : ""),
          original ? original->notify : ""});
    }
    // The ARC set goes above our Delivered-To line: it is the copy's newest trace (RFC 8617
    // adds sets at the top) and is computed over the copy as it leaves, Delivered-To among its
    // fields (the AMS h= names the usual signed fields, not Delivered-To). Made with the key of
    // the domain the mail was forwarded for (rcpt.address's: the alias's or the user's). No
    // seal, whatever the reason, still forwards.
    const std::string delivered_to = "Delivered-To: " + rcpt.address + "\r\n";
    std::string prepend = delivered_to;
    if (settings_.arc_sealing != nullptr && settings_.arc_sealing->enabled()) {
      size_t at = rcpt.address.rfind('@');
      std::string_view domain = at == std::string::npos
                                    ? std::string_view(settings_.hostname)
                                    : std::string_view(rcpt.address).substr(at + 1);
      const QueueFile& file = file_;
      prepend = settings_.arc_sealing->seal(
                    request_.queue_id, domain,
                    [&file](const ArcChunkSink& sink) { return file.for_each_message_chunk(sink); },
                    {DkimHeader{"Delivered-To", " " + rcpt.address}},
                    static_cast<int64_t>(std::time(nullptr))) +
                delivered_to;
    }
    // As the queue's owner, so that qmgr can read and remove the new file.
    return run_as(settings_.queue_uid, settings_.queue_gid, kChildSlackSeconds, {file_.fd()}, [&] {
      Result<std::string> id = write_expansion(
          settings_.queue, file_, expanded, static_cast<int64_t>(std::time(nullptr)), prepend,
          sender.empty() ? std::nullopt : std::optional<std::string>(sender));
      if (!id) {
        return DeliveryOutcome::deferred("4.3.0", "cannot forward: " + id.error().describe());
      }
      return DeliveryOutcome::sent(fmt::format("forwarded as {}", *id));
    });
  }

  void log_delivery(const std::string& to, const std::string& orig_to,
                    const DeliveryOutcome& outcome) const {
    const double arrival = static_cast<double>(file_.envelope().arrival_time);
    std::string orig;
    if (ascii_lowercase(to) != ascii_lowercase(orig_to)) {
      orig = ", orig_to=<" + log::printable(orig_to) + ">";
    }
    log::info("{}: to=<{}>{}, relay=local, delay={:.2f}, dsn={}, status={} ({})", request_.queue_id,
              log::printable(to), orig, std::max(0.0, now_seconds() - arrival), outcome.dsn,
              status_word(outcome.kind), log::printable(outcome.reason, 200));
  }

  const DeliverRequest& request_;
  const LocalSettings& settings_;
  const QueueFile& file_;
};

}  // namespace

AttrRecord deliver_local_request(const DeliverRequest& request, const LocalSettings& settings,
                                 const ExpansionSources& sources) {
  AttrRecord reply;
  Result<QueueFile> file = QueueFile::open(request.path, false);
  if (!file) {
    for (const DeliverRecipient& rcpt : request.recipients) {
      reply.add("index", rcpt.index);
      reply.add("status", "deferred");
      reply.add("dsn", "4.3.0");
      reply.add("reason", "cannot open the queue file: " + file.error().describe());
    }
    return reply;
  }
  const std::set<std::string> delivered_to = delivered_to_values(*file);
  RequestDelivery delivery(request, settings, *file);
  for (const DeliverRecipient& rcpt : request.recipients) {
    std::vector<FinalDelivery> plan =
        expand_recipient(rcpt.address, settings, sources, delivered_to);
    DeliveryOutcome outcome = delivery.deliver(rcpt, plan);
    reply.add("index", rcpt.index);
    reply.add("status", status_word(outcome.kind));
    reply.add("dsn", outcome.dsn);
    reply.add("reason", outcome.reason);
  }
  return reply;
}

}  // namespace postern::local
