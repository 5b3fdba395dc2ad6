// Writing one message into a mailbox or a file for postern-local, inside a run_as child (so as
// the recipient, or as the alias file's owner for "/file" targets):
//   - mbox (/var/mail/USER, or a "/file" target): open_mbox_for_append (no symlink, one link,
//     owned by the expected user), dotlock + fcntl lock (MboxLock, waiting at most
//     lock_timeout_ms), a "From sender date" line, Return-Path: and Delivered-To:, the message
//     with "From " lines escaped, a blank line, fsync; on any error the file is cut back.
//   - Maildir (home_mailbox = Maildir/): tmp/, fsync, rename into new/, fsync new/.
// Errors become outcomes: a locked or unwritable mailbox defers (4.2.x), a mailbox over
// mailbox_size_limit bounces (5.2.2), a mailbox that is a symlink or has other links defers
// (4.2.0: the admin must look) with the reason.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "lib/queue/queue_file.hpp"
#include "local/delivery_outcome.hpp"

namespace postern::local {

struct MessageCopy {
  const QueueFile* file = nullptr;
  std::string sender;        // envelope sender ("" = null sender)
  std::string delivered_to;  // the address delivered to, for Delivered-To:
  int64_t arrival_time = 0;
};

struct MboxOptions {
  uid_t expected_owner = static_cast<uid_t>(-1);  // -1: any owner (a "/file" target)
  uint64_t size_limit = 0;                        // mailbox_size_limit; 0 = none
  int lock_timeout_ms = 30000;
  std::string what = "mailbox";  // for the outcome's text: "mailbox" or "file"
};

DeliveryOutcome append_to_mbox(const MessageCopy& copy, const std::string& path,
                               const MboxOptions& options);

DeliveryOutcome deliver_to_maildir(const MessageCopy& copy, const std::string& base,
                                   const std::string& maildir, const std::string& hostname);

// "Return-Path: <sender>" and "Delivered-To: address" lines, LF-terminated.
std::string delivery_header_lines(const MessageCopy& copy);

}  // namespace postern::local
