// Envelope edits from milters (see envelope_edits.hpp).
#include "lib/milter/envelope_edits.hpp"

#include "lib/base/ascii.hpp"
#include "lib/base/log.hpp"

namespace postern::milter {
namespace {

constexpr size_t kMaxLoggedBytes = 300;

std::string strip_brackets(std::string_view address) {
  if (address.size() >= 2 && address.front() == '<' && address.back() == '>') {
    address = address.substr(1, address.size() - 2);
  }
  return std::string(address);
}

bool acceptable_address(std::string_view address) {
  if (address.size() > 512) return false;
  for (char c : address) {
    if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f) return false;
  }
  return true;
}

// The value of KEYWORD= in space-separated ESMTP arguments, "" when absent.
std::string esmtp_value(std::string_view args, std::string_view keyword) {
  while (!args.empty()) {
    size_t space = args.find(' ');
    std::string_view arg = args.substr(0, space);
    args = space == std::string_view::npos ? std::string_view() : args.substr(space + 1);
    if (arg.size() > keyword.size() && arg[keyword.size()] == '=' &&
        ascii_iequals(arg.substr(0, keyword.size()), keyword)) {
      std::string_view value = arg.substr(keyword.size() + 1);
      return acceptable_address(value) ? std::string(value) : std::string();
    }
  }
  return {};
}

}  // namespace

bool apply_envelope_edits(const MessageOutcome& outcome, std::string_view queue_id,
                          std::string& sender, std::vector<QueueRecipient>& recipients) {
  if (outcome.sender) {
    std::string changed = strip_brackets(*outcome.sender);
    if (acceptable_address(changed)) {
      log::info("{}: milter change: from=<{}> to=<{}>", queue_id,
                log::printable(sender, kMaxLoggedBytes), log::printable(changed, kMaxLoggedBytes));
      sender = std::move(changed);
    } else {
      log::warning("{}: milter set an unusable sender <{}>: ignored", queue_id,
                   log::printable(changed, kMaxLoggedBytes));
    }
  }
  for (const std::string& deleted : outcome.deleted_recipients) {
    std::string bare = strip_brackets(deleted);
    std::erase_if(recipients, [&](const QueueRecipient& recipient) {
      if (!ascii_iequals(recipient.address, bare)) return false;
      log::info("{}: milter delete: to=<{}>", queue_id,
                log::printable(recipient.address, kMaxLoggedBytes));
      return true;
    });
  }
  for (const auto& [address, args] : outcome.added_recipients) {
    std::string bare = strip_brackets(address);
    if (bare.empty() || !acceptable_address(bare)) {
      log::warning("{}: milter added an unusable recipient <{}>: ignored", queue_id,
                   log::printable(bare, kMaxLoggedBytes));
      continue;
    }
    if (recipients.size() >= kMaxQueueRecipients) break;
    log::info("{}: milter add: to=<{}>", queue_id, log::printable(bare, kMaxLoggedBytes));
    QueueRecipient recipient;
    recipient.address = std::move(bare);
    recipient.notify = esmtp_value(args, "NOTIFY");
    recipient.orcpt = esmtp_value(args, "ORCPT");
    recipients.push_back(std::move(recipient));
  }
  return !recipients.empty();
}

}  // namespace postern::milter
