// The data items of an IMAP FETCH (RFC 3501 6.4.5, RFC 3516 BINARY, RFC 7162 CONDSTORE/QRESYNC):
// "(FLAGS UID BODY.PEEK[1.2.HEADER.FIELDS (From To)]<0.512>)" read from the command's token tree
// (lib/imap/imap_parser) into a list of items, each with the name its response must carry. Used by
// imapd FETCH. The tokens are hostile: item names are checked one by one, section part numbers
// are 32-bit and non-zero, and FetchLimits bounds the number of items, the depth of a section's
// part path and the number of HEADER.FIELDS names. Unknown items are errors (tagged BAD).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/imap/imap_parser.hpp"
#include "lib/mime/mime_section.hpp"
#include "lib/base/result.hpp"

namespace postern {

struct FetchLimits {
  size_t max_items = 100;          // items in one FETCH (macros count as what they expand to)
  size_t max_section_parts = 32;   // "1.2.3...": part numbers in one section
  size_t max_header_fields = 200;  // names in one HEADER.FIELDS (.NOT) list
};

enum class FetchItemKind {
  kFlags,
  kInternalDate,
  kRfc822,        // RFC822: BODY[] that sets \Seen, answered as "RFC822"
  kRfc822Header,  // BODY.PEEK[HEADER], answered as "RFC822.HEADER"
  kRfc822Size,
  kRfc822Text,  // BODY[TEXT] that sets \Seen, answered as "RFC822.TEXT"
  kEnvelope,
  kBody,  // BODY without a section: the non-extensible BODYSTRUCTURE
  kBodyStructure,
  kUid,
  kBodySection,  // BODY[...] / BODY.PEEK[...]
  kBinary,       // BINARY[part] / BINARY.PEEK[part]
  kBinarySize,   // BINARY.SIZE[part]
  kModSeq,       // MODSEQ (CONDSTORE)
};

struct FetchItem {
  FetchItemKind kind = FetchItemKind::kFlags;
  bool peek = false;    // .PEEK: does not set \Seen
  MimeSection section;  // kBodySection; kBinary/kBinarySize use section.part only
  std::optional<uint32_t> partial_offset;  // <offset.length>
  uint32_t partial_length = 0;
  // The item name as the response writes it before its value: "FLAGS", "BODY[1.MIME]",
  // "BODY[]<0>" (partial: the origin only), "BINARY.SIZE[2]".
  std::string response_name;

  // Whether fetching it sets \Seen (BODY[...] and BINARY[...] without PEEK, RFC822, RFC822.TEXT).
  bool sets_seen() const;
  // Whether answering it needs the message bytes (not just the index record or a cache).
  bool needs_message() const;
};

struct FetchRequest {
  std::vector<FetchItem> items;           // in the order asked, duplicates removed
  std::optional<uint64_t> changed_since;  // CHANGEDSINCE modifier (RFC 7162 3.1.4)
  bool vanished = false;                  // VANISHED modifier (RFC 7162 3.2.6; UID FETCH only)

  bool has(FetchItemKind kind) const;
};

// Reads the items argument (one atom: "FLAGS", "ALL", "BODY[]"; or a list of atoms) and the
// optional modifiers list "(CHANGEDSINCE 5 VANISHED)" (null when absent). Errors: kParse for
// any malformed or unknown item or modifier, kLimit past a FetchLimits bound.
Result<FetchRequest> parse_fetch_items(const ImapToken& items, const ImapToken* modifiers,
                                       const FetchLimits& limits = {});

// Reads one section text "1.2.HEADER.FIELDS (A B)" (what is between the brackets) for BODY[...]
// (binary = false) or BINARY[...] (binary = true: part numbers only). Exposed for tests.
Result<MimeSection> parse_section_spec(std::string_view text, bool binary,
                                       const FetchLimits& limits = {});

// The section as a response writes it between the brackets: "1.2.HEADER.FIELDS (FROM TO)".
std::string format_section_spec(const MimeSection& section);

}  // namespace postern
