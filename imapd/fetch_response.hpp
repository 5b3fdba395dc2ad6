// The untagged FETCH response for one message of the selected folder: each requested item
// (lib/imap/imap_fetch_items) rendered from the index record, from the ENVELOPE/BODYSTRUCTURE cache
// (filled on first computation), or from the message bytes parsed once with lib/mime/mime_parser.
// Runs in postern-imapd on the event loop. Trusts the index; the message bytes are hostile
// (already bounded by message_size_limit when they arrived) and only ever copied into literals.
// Large values are written through CommandContext::raw as literals, without building the whole
// response in one string first.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "imapd/command_context.hpp"
#include "imapd/selected_mailbox.hpp"
#include "lib/imap/imap_fetch_items.hpp"

namespace postern::imapd {

// "17-Jul-1996 02:44:25 -0700" (RFC 3501 date-time, without quotes; the day space-padded).
std::string format_internal_date(int64_t seconds, int32_t zone_minutes);

// The outcome of one message's response.
enum class FetchOutcome {
  kSent,
  kExpunged,    // the message is gone (another session expunged it): nothing sent
  kUnknownCte,  // BINARY of a part with an unknown transfer encoding: nothing sent
  kFailed,      // the file could not be read: nothing sent (logged)
};

struct FetchOptions {
  bool add_uid = false;     // UID FETCH: UID is part of every response
  bool add_modseq = false;  // CHANGEDSINCE or MODSEQ item, CONDSTORE on
};

// Writes "* <seq> FETCH (...)" for seq, setting \Seen first when an item asks for it (and then
// answering FLAGS too, as RFC 3501 6.4.5 wants).
FetchOutcome send_fetch_response(CommandContext& context, SelectedMailbox& mailbox, uint32_t seq,
                                 const FetchRequest& request, const FetchOptions& options);

}  // namespace postern::imapd
