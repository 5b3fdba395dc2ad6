// The checks pickup applies to a maildrop/ file's envelope (see maildrop_check.hpp).
#include "pickup/maildrop_check.hpp"

#include <fmt/format.h>

#include <set>

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"
#include "lib/smtp/address.hpp"

namespace postern::pickup {
namespace {

Error refuse(std::string what) { return Error::parse(std::move(what)); }

bool printable_ascii(std::string_view text) {
  for (char c : text) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

bool has_control(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

bool valid_notify(std::string_view notify) {
  if (notify.empty() || notify == "NEVER") return true;
  std::set<std::string_view> seen;
  while (true) {
    size_t comma = notify.find(',');
    std::string_view word = notify.substr(0, comma);
    if ((word != "SUCCESS" && word != "FAILURE" && word != "DELAY") || !seen.insert(word).second) {
      return false;
    }
    if (comma == std::string_view::npos) return true;
    notify.remove_prefix(comma + 1);
  }
}

Result<std::string> checked_address(std::string_view raw, std::string_view origin) {
  if (raw.empty()) return refuse("empty address");
  AddressOptions options;
  options.allow_utf8 = true;
  Result<Address> parsed = parse_mailbox(qualify_address(raw, origin), options);
  if (!parsed) return refuse(fmt::format("bad address: {}", parsed.error().message));
  return parsed->to_string();
}

Status check_attribute(std::string_view name, std::string_view value) {
  bool ok = false;
  if (name == "body") {
    ok = value == "7BIT" || value == "8BITMIME";
  } else if (name == "dsn_ret") {
    ok = value == "FULL" || value == "HDRS";
  } else if (name == "dsn_envid") {
    ok = !value.empty() && value.size() <= kMaxEnvidBytes && printable_ascii(value);
  } else if (name == "smtputf8") {
    ok = value == "yes";
  } else {
    return refuse(
        fmt::format("attribute {} may not come from maildrop", log::printable(name, 64)));
  }
  if (!ok) return refuse(fmt::format("bad value for attribute {}", name));
  return Status::success();
}

}  // namespace

Result<QueueEnvelope> check_maildrop_envelope(const QueueEnvelope& dropped,
                                              const MaildropOwner& owner,
                                              const MaildropPolicy& policy,
                                              std::string_view queue_id, int64_t now) {
  if (dropped.attempts != 0 || dropped.schedule_flags != 0 || dropped.next_attempt != 0) {
    return refuse("schedule record is not empty");
  }
  if (dropped.message_bytes == 0) return refuse("empty message");
  if (policy.message_size_limit != 0 && dropped.message_bytes > policy.message_size_limit) {
    return refuse(fmt::format("message of {} bytes is over message_size_limit",
                              dropped.message_bytes));
  }
  QueueEnvelope out;
  out.queue_id = std::string(queue_id);
  out.arrival_time = now;
  if (!dropped.sender.empty()) {
    Result<std::string> sender = checked_address(dropped.sender, policy.origin);
    if (!sender) return refuse("sender: " + sender.error().message);
    out.sender = *sender;
  }
  std::set<std::string, std::less<>> names;
  for (const auto& [name, value] : dropped.attributes) {
    if (Status st = check_attribute(name, value); !st) return st.error();
    if (!names.insert(name).second) return refuse(fmt::format("duplicate attribute {}", name));
    out.attributes.emplace_back(name, value);
  }
  out.attributes.emplace_back("local_uid", std::to_string(owner.uid));
  out.attributes.emplace_back("local_user", owner.login);

  if (dropped.recipients.empty()) return refuse("no recipients");
  if (dropped.recipients.size() > kMaxPickupRecipients) {
    return refuse(fmt::format("more than {} recipients", kMaxPickupRecipients));
  }
  std::set<std::string> seen;
  for (const QueueRecipient& rcpt : dropped.recipients) {
    if (rcpt.status != RecipientStatus::kPending) return refuse("a recipient is not pending");
    Result<std::string> address = checked_address(rcpt.address, policy.origin);
    if (!address) return refuse("recipient: " + address.error().message);
    if (rcpt.orcpt.size() > kMaxOrcptBytes || has_control(rcpt.orcpt) ||
        (!rcpt.orcpt.empty() && rcpt.orcpt.find(';') == std::string::npos)) {
      return refuse("bad ORCPT");
    }
    if (!valid_notify(rcpt.notify)) return refuse("bad NOTIFY");
    if (!seen.insert(ascii_lowercase(*address)).second) continue;
    QueueRecipient copy;
    copy.address = *address;
    copy.orcpt = rcpt.orcpt;
    copy.notify = rcpt.notify;
    out.recipients.push_back(std::move(copy));
  }
  return out;
}

}  // namespace postern::pickup
