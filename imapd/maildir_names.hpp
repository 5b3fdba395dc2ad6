// Maildir file names as imapd reads and writes them: "<base>:2,<info>", where the base is the
// unique part plus ",X=<n>" fields (S: size as stored, W: size with CRLF, P: Postern's UID) and
// the info holds the flag letters. Used by imapd's mail store (mail_store_*.cpp). File
// names come from the Maildir and are hostile (any tool may write there): parsing never reads
// past the name, numbers are bounded (overflow = absent), and a name that is not a plain file
// name (empty, leading '.', '/', over kMaxMaildirNameBytes) is skipped by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace postern::imapd {

inline constexpr size_t kMaxMaildirNameBytes = 255;

struct MaildirName {
  std::string_view base;  // everything before ":2," (the whole name when there is no info)
  std::string_view info;  // after ":2,"
  bool has_info = false;
};

MaildirName split_maildir_name(std::string_view name);

// An entry of new/ or cur/ that may be a message: not empty, no leading '.', no '/', no NUL,
// at most kMaxMaildirNameBytes.
bool plausible_message_name(std::string_view name);

// System flag bits (imapd/mailbox_types.hpp SystemFlag) from the info letters; other letters
// (P "passed", lower-case keyword letters: imapd/maildir_keywords.hpp) are ignored here.
uint8_t flags_from_info(std::string_view info);
// The info part for the flags: the system flags' letters and keyword_letters (a-z), plus the
// upper-case letters of old_info that are not system flags (P), so other tools' marks survive
// our renames; in ASCII order.
std::string info_for_flags(uint8_t system_flags, std::string_view keyword_letters,
                           std::string_view old_info);

// The value of ",<letter>=<digits>" in base, nullopt when absent or not a number that fits.
std::optional<uint64_t> base_field(std::string_view base, char letter);
// base with ",<letter>=<value>" set (replaced when present, else appended).
std::string with_base_field(std::string_view base, char letter, uint64_t value);

// Arrival order of a delivered name: "<seconds>.M<micros>P..." or "<seconds>.<anything>";
// names that do not start with digits sort first, by name.
struct ArrivalKey {
  int64_t seconds = 0;
  int64_t micros = 0;
};
ArrivalKey arrival_key(std::string_view name);

}  // namespace postern::imapd
