// The plain data imapd's mail store (mail_store, mailbox_index) hands to the IMAP commands: a
// message's flags and index record, and the shapes of a flag change. Plain values, nothing to
// trust; limits: kMaxKeywordsPerMessage, kMaxKeywordBytes (enforced where keywords come in:
// STORE, APPEND and the Maildir scan).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace postern::imapd {

inline constexpr size_t kMaxKeywordsPerMessage = 64;
inline constexpr size_t kMaxKeywordBytes = 128;

// The system flags, as bits. \Recent is not here: it belongs to a session, not the message.
enum SystemFlag : uint8_t {
  kFlagSeen = 1 << 0,      // Maildir info letter S
  kFlagAnswered = 1 << 1,  // R
  kFlagFlagged = 1 << 2,   // F
  kFlagDeleted = 1 << 3,   // T
  kFlagDraft = 1 << 4,     // D
};

struct MessageFlags {
  uint8_t system = 0;                 // SystemFlag bits
  std::vector<std::string> keywords;  // e.g. "$Forwarded", "$Junk"; sorted, unique, as given
  bool operator==(const MessageFlags&) const = default;
};

// One message of one folder, as the index knows it.
struct MessageRecord {
  uint32_t uid = 0;
  uint64_t modseq = 0;          // RFC 7162: the last change of this message's flags (or arrival)
  MessageFlags flags;
  uint64_t size = 0;            // RFC822.SIZE: the message with CRLF line ends
  int64_t internal_date = 0;    // seconds since the epoch (APPEND's date, else the file's mtime)
  int32_t internal_date_zone = 0;  // minutes east of UTC, for INTERNALDATE's "+hhmm"
  std::string file;             // path relative to the folder: "cur/<name>" or "new/<name>"
};

enum class FlagOp { kReplace, kAdd, kRemove };  // STORE FLAGS / +FLAGS / -FLAGS

struct FlagChange {
  FlagOp op = FlagOp::kReplace;
  MessageFlags flags;
  std::optional<uint64_t> unchanged_since;  // CONDSTORE's UNCHANGEDSINCE
};

// What was cached for a message alongside its record (filled lazily, on first FETCH).
// What the index caches per message: FETCH ENVELOPE, BODYSTRUCTURE and BODY as IMAP writes
// them, and the header fields SEARCH reads most (search_engine.cpp).
enum class CacheKind { kEnvelope, kBodyStructure, kBody, kSearchFields };
inline constexpr CacheKind kAllCacheKinds[] = {CacheKind::kEnvelope, CacheKind::kBodyStructure,
                                               CacheKind::kBody, CacheKind::kSearchFields};

}  // namespace postern::imapd
