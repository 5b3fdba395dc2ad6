// non_smtpd_milters for mail that sendmail(1) left in maildrop/: the milter conversation Postfix
// plays for such mail (a connection from "localhost" [127.0.0.1] port 0, HELO localhost, MAIL
// FROM the sender, RCPT TO each recipient, DATA, the message) on a private event loop, and the
// verdict with the milters' edits applied to the envelope. Runs in postern-pickup, one message
// at a time: the milter timeouts bound how long one message can hold pickup up. Everything a
// milter sends is checked by lib/milter.
#pragma once

#include <string>

#include "lib/milter/milter_chain.hpp"
#include "lib/milter/milter_message.hpp"
#include "lib/milter/milter_settings.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern::pickup {

struct MilterFiltering {
  enum class Action { kQueue, kHold, kDiscard, kReject, kTempfail };
  Action action = Action::kQueue;
  std::string reply;   // kReject/kTempfail: the SMTP reply ("550 5.7.1 ...")
  std::string reason;  // kHold: the quarantine reason
};

// Runs message (envelope) through milters; with kQueue/kHold the envelope's sender and
// recipients are as the milters left them (and message has their header and body edits).
MilterFiltering filter_with_milters(const milter::MilterSettings& milters, QueueEnvelope& envelope,
                                    milter::MilterMessage& message, uint64_t size_limit);

}  // namespace postern::pickup
