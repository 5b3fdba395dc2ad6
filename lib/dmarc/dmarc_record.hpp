// A DMARC policy record (RFC 7489 6.3, np= from RFC 9091), parsed from the TXT record a domain
// publishes at _dmarc.<domain>. Run by postern-authmilter's DMARC evaluation on every message
// with a From: domain. The record comes from DNS under the sender's control: it is hostile.
// Bounded by kMaxDmarcRecordBytes, kMaxDmarcTags and kMaxDmarcReportUris; a record past a
// limit does not parse.
//
// What makes a record unusable, in the order checked:
//   kEmpty          nothing but white space;
//   kNotDmarc       the first tag is not v=DMARC1 (such TXT records are not DMARC records and
//                   are discarded during policy discovery, RFC 7489 6.6.3);
//   kLimit          too long, too many tags or too many report URIs;
//   kBadValue       a known tag other than p/sp/np with a value its grammar does not allow, or a
//                   tag given twice (RFC 7489 leaves these open; they make the record a permerror);
//   kNoValidPolicy  p= missing or invalid, or sp=/np= invalid: RFC 7489 6.6.3 step 6 then acts
//                   as p=none when rua= holds a syntactically valid URI (record.rua is filled),
//                   and applies no DMARC processing otherwise.
// Unknown tags are ignored (RFC 7489 6.3). Tag names and keyword values are case-insensitive
// (ABNF literals); the version value is exactly DMARC1 (spelled in %x values in 6.4). Defaults:
// adkim=r aspf=r pct=100 fo=0 rf=afrf ri=86400.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace postern {

inline constexpr size_t kMaxDmarcRecordBytes = 2048;
inline constexpr size_t kMaxDmarcTags = 32;
inline constexpr size_t kMaxDmarcReportUris = 8;  // each of rua= and ruf=

enum class DmarcPolicy { kNone, kQuarantine, kReject };
enum class DmarcAlignmentMode { kRelaxed, kStrict };

struct DmarcRecord {
  DmarcPolicy policy = DmarcPolicy::kNone;                           // p=
  std::optional<DmarcPolicy> subdomain_policy;                       // sp=
  std::optional<DmarcPolicy> nonexistent_policy;                     // np= (RFC 9091)
  DmarcAlignmentMode dkim_alignment = DmarcAlignmentMode::kRelaxed;  // adkim=
  DmarcAlignmentMode spf_alignment = DmarcAlignmentMode::kRelaxed;   // aspf=
  int percent = 100;                                                 // pct=, 0..100
  std::vector<std::string> rua;              // aggregate report URIs that are syntactically valid
  std::vector<std::string> ruf;              // failure report URIs that are syntactically valid
  std::string failure_options = "0";         // fo=, as written (validated)
  uint32_t report_interval_seconds = 86400;  // ri=
};

enum class DmarcRecordError { kNone, kEmpty, kNotDmarc, kLimit, kBadValue, kNoValidPolicy };

struct DmarcRecordParse {
  DmarcRecordError error = DmarcRecordError::kNone;
  DmarcRecord record;  // complete when error is kNone; for kNoValidPolicy, what did parse
  std::string detail;  // which tag was wrong, for logs and permerror reasons
  bool ok() const { return error == DmarcRecordError::kNone; }
};

DmarcRecordParse parse_dmarc_record(std::string_view text);

// "none", "quarantine", "reject".
std::string_view dmarc_policy_name(DmarcPolicy policy);

}  // namespace postern
