// A milter's envelope edits applied to the envelope of the message: SMFIR_CHGFROM replaces the
// sender, SMFIR_DELRCPT removes recipients (case-insensitive match, with or without <>),
// SMFIR_ADDRCPT / ADDRCPT_PAR add them (NOTIFY= and ORCPT= of the ESMTP arguments kept). Each
// change is logged ("ID: milter change/delete/add: ..."). Used by smtpd, submission and pickup.
// The addresses come from a milter: one with a control byte, a space or over 512 bytes is
// ignored with a warning; at most kMaxQueueRecipients recipients are kept.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/milter/milter_chain.hpp"
#include "lib/queue/queue_file.hpp"

namespace postern::milter {

// false when no recipient is left (the caller drops the message).
bool apply_envelope_edits(const MessageOutcome& outcome, std::string_view queue_id,
                          std::string& sender, std::vector<QueueRecipient>& recipients);

}  // namespace postern::milter
