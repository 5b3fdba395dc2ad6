// IMAP SEARCH criteria (RFC 3501 6.4.4, RFC 9051 6.4.4) with ESEARCH result options (RFC 4731
// "RETURN (MIN MAX ALL COUNT)") and the CONDSTORE MODSEQ key (RFC 7162 3.1.5), read from the
// command's token tree (lib/imap/imap_parser) into a key tree. Used by imapd SEARCH. The tokens are
// hostile: every key and argument is checked, dates are validated, numbers are bounded, and
// SearchLimits bounds the tree's depth (NOT/OR chains and parentheses: evaluation recurses) and
// its number of keys. Also the RFC 5322 Date: reader the SENT* keys need.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/imap/imap_parser.hpp"
#include "lib/imap/imap_sequence_set.hpp"
#include "lib/base/result.hpp"

namespace postern {

struct SearchLimits {
  size_t max_depth = 64;   // nesting of NOT, OR and parentheses
  size_t max_keys = 1000;  // keys in the whole tree
};

struct SearchKey {
  enum class Kind {
    kAll,
    kAnd,          // children: all must match (parentheses, and the top level)
    kOr,           // two children
    kNot,          // one child
    kSequenceSet,  // set: message sequence numbers
    kUidSet,       // set: UIDs
    kFlag,         // flag: a system flag bit (imapd's SystemFlag values) is set
    kNoFlag,       // ... is not set
    kKeyword,      // text: keyword set
    kNoKeyword,
    kNew,  // RECENT and not \Seen
    kOld,  // not RECENT
    kRecent,
    kLarger,   // number: RFC822.SIZE > number
    kSmaller,  // RFC822.SIZE < number
    kBefore,   // day: internal date, days since 1970-01-01
    kOn,
    kSince,
    kSentBefore,  // day: the Date: header field
    kSentOn,
    kSentSince,
    kHeader,  // field (upper case), text: a field of that name contains text
    kBody,    // text in the body
    kText,    // text in the header or the body
    kModSeq,  // number: MODSEQ >= number
  };
  Kind kind = Kind::kAll;
  std::vector<SearchKey> children;
  SequenceSet set;
  uint8_t flag = 0;
  std::string field;
  std::string text;
  uint64_t number = 0;
  int64_t day = 0;
};

// The system flag bits used in kFlag/kNoFlag (same values as imapd's SystemFlag).
inline constexpr uint8_t kSearchFlagSeen = 1 << 0;
inline constexpr uint8_t kSearchFlagAnswered = 1 << 1;
inline constexpr uint8_t kSearchFlagFlagged = 1 << 2;
inline constexpr uint8_t kSearchFlagDeleted = 1 << 3;
inline constexpr uint8_t kSearchFlagDraft = 1 << 4;

// RFC 4731 result options. "RETURN ()" is ALL.
struct SearchReturn {
  bool min = false;
  bool max = false;
  bool all = false;
  bool count = false;
};

struct SearchRequest {
  std::optional<SearchReturn> result_options;  // RETURN given: answer with ESEARCH
  std::string charset;                         // "UTF-8", "US-ASCII" or "" (none given)
  SearchKey root;                              // kAnd of the criteria
  bool has_modseq = false;                     // a MODSEQ key: the reply carries (MODSEQ n)
};

// Reads args[first...] of a SEARCH command: [RETURN (...)] [CHARSET name] key+. Errors: kParse
// or kLimit (tagged BAD), kPermanent with message "BADCHARSET" for a charset other than
// UTF-8/US-ASCII (tagged NO [BADCHARSET (UTF-8 US-ASCII)]).
Result<SearchRequest> parse_search(const std::vector<ImapToken>& args, size_t first,
                                   const SearchLimits& limits = {});

// "1-Feb-1994" (RFC 3501 date-text) as days since 1970-01-01; nullopt when invalid.
std::optional<int64_t> parse_imap_date(std::string_view text);

// The calendar day of an RFC 5322 date-time ("Tue, 1 Feb 1994 10:00:00 +0100", tolerant of the
// obsolete forms: no weekday, two-digit years, zone names, comments), as days since 1970-01-01
// in the date's own zone (SENT* keys disregard time and zone); nullopt when unreadable.
std::optional<int64_t> rfc5322_date_day(std::string_view value);

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t year, unsigned month, unsigned day);

}  // namespace postern
