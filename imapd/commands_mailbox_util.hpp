// Helpers shared by imapd's folder commands (commands_mailbox*.cpp): reading a folder name or
// a number from a hostile argument, and reaching this session's SelectedMailboxImpl. Runs in
// postern-imapd. A failure carries the whole tagged reply text ("BAD ..." / "NO ...").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/command_context.hpp"
#include "imapd/mailbox_types.hpp"
#include "imapd/selected_mailbox_impl.hpp"
#include "lib/imap/imap_parser.hpp"
#include "lib/base/result.hpp"

namespace postern::imapd {

// A folder name argument: an astring, INBOX normalised, checked by check_folder_name (valid
// modified UTF-7, no empty level...). drop_trailing_separator: CREATE's "a." names "a".
// Error message: the tagged reply ("BAD Invalid mailbox name", "NO [CANNOT] ...").
Result<std::string> folder_name_argument(const ImapToken& token,
                                         bool drop_trailing_separator = false);

// A decimal number without sign or leading zeros that fits; nullopt otherwise.
std::optional<uint64_t> number_argument(std::string_view text, uint64_t max_value);

// The session's selected folder as our implementation (null when none is selected).
SelectedMailboxImpl* selected_impl(CommandContext& context);

// APPEND's date-time without its quotes (RFC 3501): "dd-Mon-yyyy hh:mm:ss +zzzz", the day as
// two digits, space and digit, or (leniently, as some clients send it) one digit. Seconds since
// the epoch and the zone in minutes east of UTC.
bool parse_append_date_time(std::string_view text, int64_t* seconds, int32_t* zone_minutes);

// Flags as APPEND and STORE take them: system flags by name (\Recent refused), keywords as
// atoms (NIL too), sorted and unique, at most kMaxKeywordsPerMessage of kMaxKeywordBytes.
// Error: the tagged reply.
Result<MessageFlags> parse_flag_tokens(const std::vector<const ImapToken*>& tokens);
// APPEND's flag list (a parenthesised list token).
Result<MessageFlags> parse_append_flags(const ImapToken& list);

// "NO <message>" for a mail store error (its message starts with the response code).
std::string no_reply(const Error& error);

}  // namespace postern::imapd
