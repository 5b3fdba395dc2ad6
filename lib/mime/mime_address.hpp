// Address lists as IMAP ENVELOPE shows them (RFC 3501 7.4.2): each mailbox as (name adl mailbox
// host), a group as a start marker (NIL NIL "group name" NIL), its members, and an end marker
// (NIL NIL NIL NIL). Used by lib/mime/mime_render for imapd. Unlike parse_address_list in
// lib/mime/message_headers (strict, addr-specs only, for submission), this reader never fails: the
// header is someone else's mail, already delivered, and must still be shown. Malformed pieces
// come out with Dovecot's placeholders (MISSING_MAILBOX, MISSING_DOMAIN, SYNTAX_ERROR). Bounded:
// at most kMaxEnvelopeAddresses entries; comments nest at most 64 deep (counted).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

inline constexpr size_t kMaxEnvelopeAddresses = 10000;

struct ImapAddress {
  std::optional<std::string> name;     // display name (phrase, raw: encoded words stay), or a
                                       // comment when there is no phrase
  std::optional<std::string> adl;      // obsolete source route "@a,@b"
  std::optional<std::string> mailbox;  // local part; group name in a group start marker
  std::optional<std::string> host;     // domain as written; nullopt in group markers
};

// The raw value of From:, To:, ... (folding kept or not). Empty or blank: no entries.
std::vector<ImapAddress> parse_imap_address_list(std::string_view value);

}  // namespace postern
