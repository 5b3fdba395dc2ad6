// libFuzzer target for what pickup reads from a maildrop/ file: a local user writes every byte
// of it (through postdrop), so the bytes go through parse_queue_file and then, when they parse,
// check_maildrop_envelope, as pick_up_file does. Any verdict is fine; a crash, a sanitizer
// report or an accepted envelope that breaks the check's own promises is not: an accepted
// envelope has 1..kMaxPickupRecipients recipients, all qualified, pending and distinct
// (case-insensitively), only the allowed attributes plus local_uid and local_user.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "lib/base/ascii.hpp"
#include "lib/queue/queue_file.hpp"
#include "pickup/maildrop_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view image(reinterpret_cast<const char*>(data), size);
  postern::Result<postern::QueueEnvelope> dropped = postern::parse_queue_file(image, nullptr);
  if (!dropped) return 0;
  postern::pickup::MaildropOwner owner{1000, "alice"};
  postern::pickup::MaildropPolicy policy{"example.org", 10 * 1024 * 1024};
  postern::Result<postern::QueueEnvelope> checked = postern::pickup::check_maildrop_envelope(
      *dropped, owner, policy, "0123456789ABCDEF", 1700000000);
  if (!checked) return 0;
  if (checked->recipients.empty() ||
      checked->recipients.size() > postern::pickup::kMaxPickupRecipients) {
    std::abort();
  }
  std::set<std::string> seen;
  for (const postern::QueueRecipient& rcpt : checked->recipients) {
    if (rcpt.address.find('@') == std::string::npos) std::abort();
    if (rcpt.status != postern::RecipientStatus::kPending) std::abort();
    if (!seen.insert(postern::ascii_lowercase(rcpt.address)).second) std::abort();
  }
  if (!checked->sender.empty() && checked->sender.find('@') == std::string::npos) std::abort();
  size_t own = 0;
  for (const auto& [name, value] : checked->attributes) {
    if (name == "local_uid" || name == "local_user") {
      ++own;
    } else if (name != "body" && name != "dsn_ret" && name != "dsn_envid" && name != "smtputf8") {
      std::abort();
    }
  }
  if (own != 2) std::abort();
  return 0;
}
