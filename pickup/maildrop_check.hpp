// What pickup accepts from a maildrop/ file. The file was written through postdrop by a local
// user, who controls every byte of it: the queue-file reader has already bounded and typed the
// records; this decides whether what they say is something sendmail(1) may say, and builds the
// envelope of the queue file pickup writes. Refused (the file goes to corrupt/): a schedule
// that is not all zero, an attribute other than body, dsn_ret, dsn_envid and smtputf8 (so
// nobody forges auth=, client_address=... or pickup's own local_uid/local_user), a bad value of
// one of those, a duplicate attribute, a recipient that is not pending or whose address, ORCPT
// or NOTIFY does not parse, no recipient or more than kMaxPickupRecipients, an empty message or
// one over message_size_limit. Bare names get $myorigin, as sendmail gives them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/base/result.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern::pickup {

inline constexpr size_t kMaxPickupRecipients = 10000;
inline constexpr size_t kMaxOrcptBytes = 500;
inline constexpr size_t kMaxEnvidBytes = 100;

struct MaildropOwner {
  uid_t uid = 0;
  std::string login;  // from the passwd database, or "uid<N>"
};

struct MaildropPolicy {
  std::string origin;              // mail_origin()
  uint64_t message_size_limit = 0;  // 0: none
};

// The envelope for incoming/: queue_id and arrival time given, the sender and recipients
// checked and qualified, the allowed attributes kept, plus local_uid and local_user.
Result<QueueEnvelope> check_maildrop_envelope(const QueueEnvelope& dropped,
                                              const MaildropOwner& owner,
                                              const MaildropPolicy& policy,
                                              std::string_view queue_id, int64_t now);

}  // namespace postern::pickup
