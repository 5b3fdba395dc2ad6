// Moving maildrop/ files into the queue: pickup's one job. For each file, in name order:
// open it with the queue-file reader (bounded, typed records), take the submitter from the
// file's owner (postdrop creates it as the caller; maildrop/ is mode 1730, so a user can
// neither create a file there directly nor change one after postdrop renamed it), check the
// envelope (maildrop_check), then write incoming/<same ID>: the envelope, a
// "Received: by HOST (Postern, from userid UID)" header, and the message with every line end
// made CRLF; commit (fsync, rename, fsync), and only then unlink the maildrop file. A file that
// cannot be read or is refused moves to corrupt/ with a log line; a temporary ".ID.tmp" of a
// killed postdrop is removed after kStaleMaildropTempSeconds. Crash windows: killed after the
// commit and before the unlink, the next run finds incoming/<ID> already there and only
// unlinks; once qmgr has taken it from incoming/, the message would be queued twice (the only
// duplicate window, as in Postfix). With non_smtpd_milters the message first goes through
// them (maildrop_milters): queued as they left it, held (quarantine: hold/), dropped (discard),
// bounced to the sender (reject: sendmail already exited 0), or left in maildrop/ for the next
// scan (tempfail). Runs in postern-pickup as mail_owner.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "lib/milter/milter_settings.hpp"
#include "lib/queue/queue_dir.hpp"
#include "pickup/maildrop_check.hpp"

namespace postern::pickup {

inline constexpr int64_t kStaleMaildropTempSeconds = 3600;

struct PickupSettings {
  QueueLayout queue;
  std::string hostname;  // myhostname, for the Received: header
  MaildropPolicy policy;
  milter::MilterSettings milters;  // non_smtpd_milters
};

// kDiscarded: a milter discarded or refused the message (a refusal is bounced to the sender).
enum class PickupOutcome { kQueued, kAlreadyQueued, kCorrupt, kSkipped, kFailed, kDiscarded };

// Handles maildrop/<name>. kFailed (a system error such as a full disk) leaves the file where
// it is, for the next scan.
PickupOutcome pick_up_file(const PickupSettings& settings, const std::string& name);

// Handles at most max_files files of maildrop/ (oldest names first); returns how many it
// queued (bounces of mail a milter refused included). more_left is set when files were left
// for the next call.
size_t pick_up_maildrop(const PickupSettings& settings, size_t max_files, bool* more_left);

}  // namespace postern::pickup
