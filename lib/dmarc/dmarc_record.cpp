// Parses DMARC policy records: see dmarc_record.hpp for the outcomes and limits. The record is
// a tag-value list split on ';'; each tag is checked against its RFC 7489 6.4 grammar.
#include "lib/dmarc/dmarc_record.hpp"

#include <charconv>
#include <set>

#include "lib/base/ascii.hpp"

namespace postern {
namespace {

bool is_wsp(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_wsp(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_wsp(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<DmarcPolicy> policy_from(std::string_view value) {
  if (ascii_iequals(value, "none")) return DmarcPolicy::kNone;
  if (ascii_iequals(value, "quarantine")) return DmarcPolicy::kQuarantine;
  if (ascii_iequals(value, "reject")) return DmarcPolicy::kReject;
  return std::nullopt;
}

std::optional<DmarcAlignmentMode> alignment_from(std::string_view value) {
  if (ascii_iequals(value, "r")) return DmarcAlignmentMode::kRelaxed;
  if (ascii_iequals(value, "s")) return DmarcAlignmentMode::kStrict;
  return std::nullopt;
}

std::optional<uint32_t> number_from(std::string_view value, uint32_t max) {
  if (value.empty() || value.size() > 10) return std::nullopt;
  uint64_t number = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), number);
  if (error != std::errc() || end != value.data() + value.size() || number > max) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(number);
}

// Each item of a colon-separated list must be one of the allowed keywords.
bool keyword_list_ok(std::string_view value, std::initializer_list<std::string_view> allowed) {
  if (value.empty()) return false;
  size_t start = 0;
  while (true) {
    size_t colon = value.find(':', start);
    std::string_view item = trim(value.substr(
        start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    bool known = false;
    for (std::string_view keyword : allowed) known = known || ascii_iequals(item, keyword);
    if (!known) return false;
    if (colon == std::string_view::npos) return true;
    start = colon + 1;
  }
}

// RFC 3986 scheme ":" followed by at least one character, no white space; RFC 7489 6.4 lets a
// size limit "!" 1*DIGIT [kmgt] follow it (kept as written).
bool uri_ok(std::string_view uri) {
  size_t colon = uri.find(':');
  if (colon == 0 || colon == std::string_view::npos || colon + 1 >= uri.size()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(uri[0])) return false;
  for (size_t i = 1; i < colon; ++i) {
    char c = uri[i];
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.') return false;
  }
  for (char c : uri) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
  }
  return true;
}

// A comma-separated URI list: the valid ones, or nullopt past the count limit.
std::optional<std::vector<std::string>> uri_list(std::string_view value) {
  std::vector<std::string> uris;
  size_t start = 0;
  size_t count = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    std::string_view item = trim(value.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (++count > kMaxDmarcReportUris) return std::nullopt;
    if (uri_ok(item)) uris.emplace_back(item);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return uris;
}

// Whether the first tag is v=DMARC1, looking no further than the first ';'.
bool starts_with_dmarc_version(std::string_view text) {
  std::string_view first = trim(text.substr(0, text.find(';')));
  size_t equals = first.find('=');
  if (equals == std::string_view::npos) return false;
  return ascii_iequals(trim(first.substr(0, equals)), "v") &&
         trim(first.substr(equals + 1)) == "DMARC1";
}

DmarcRecordParse failed(DmarcRecordError error, std::string detail) {
  DmarcRecordParse out;
  out.error = error;
  out.detail = std::move(detail);
  return out;
}

}  // namespace

std::string_view dmarc_policy_name(DmarcPolicy policy) {
  switch (policy) {
    case DmarcPolicy::kNone:
      return "none";
    case DmarcPolicy::kQuarantine:
      return "quarantine";
    case DmarcPolicy::kReject:
      return "reject";
  }
  return "none";
}

DmarcRecordParse parse_dmarc_record(std::string_view text) {
  if (text.size() > kMaxDmarcRecordBytes) {
    // Still say whether it was meant as a DMARC record: policy discovery drops other TXT
    // records, but a DMARC record past the limit counts (and fails).
    if (!starts_with_dmarc_version(text.substr(0, kMaxDmarcRecordBytes))) {
      return failed(DmarcRecordError::kNotDmarc, "v=DMARC1 must come first");
    }
    return failed(DmarcRecordError::kLimit, "record too long");
  }
  if (trim(text).empty()) return failed(DmarcRecordError::kEmpty, "empty record");

  DmarcRecordParse out;
  std::set<std::string> seen;
  bool policy_valid = false;
  bool policy_present = false;
  bool subpolicy_invalid = false;
  std::string bad_value;  // the first known tag with a bad value
  size_t tags = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t semicolon = text.find(';', start);
    std::string_view tag_text = trim(text.substr(
        start, semicolon == std::string_view::npos ? std::string_view::npos : semicolon - start));
    start = semicolon == std::string_view::npos ? text.size() : semicolon + 1;
    if (tag_text.empty()) {
      if (tags == 0) return failed(DmarcRecordError::kNotDmarc, "v=DMARC1 must come first");
      continue;
    }
    if (++tags > kMaxDmarcTags) return failed(DmarcRecordError::kLimit, "too many tags");
    size_t equals = tag_text.find('=');
    std::string name = ascii_lowercase(
        trim(tag_text.substr(0, equals == std::string_view::npos ? tag_text.size() : equals)));
    std::string_view value =
        equals == std::string_view::npos ? std::string_view() : trim(tag_text.substr(equals + 1));
    if (tags == 1) {
      // RFC 7489 6.4: "v" must be the first tag; its value is DMARC1, in capitals (the ABNF
      // spells it in %x values, which are case-sensitive).
      if (name != "v" || equals == std::string_view::npos || value != "DMARC1") {
        return failed(DmarcRecordError::kNotDmarc, "v=DMARC1 must come first");
      }
      seen.insert(name);
      continue;
    }
    if (equals == std::string_view::npos) {
      if (bad_value.empty()) bad_value = "tag without '=': " + name;
      continue;
    }
    static const std::set<std::string> kKnownTags = {"v",   "p",   "sp",  "np", "adkim", "aspf",
                                                     "pct", "rua", "ruf", "fo", "rf",    "ri"};
    if (kKnownTags.count(name) == 0) continue;  // unknown tags are ignored (RFC 7489 6.3)
    if (!seen.insert(name).second) {
      if (bad_value.empty()) bad_value = "tag given twice: " + name;
      continue;
    }
    DmarcRecord& record = out.record;
    bool value_ok = true;
    if (name == "p") {
      policy_present = true;
      std::optional<DmarcPolicy> policy = policy_from(value);
      policy_valid = policy.has_value();
      if (policy) record.policy = *policy;
    } else if (name == "sp" || name == "np") {
      std::optional<DmarcPolicy> policy = policy_from(value);
      if (!policy) {
        subpolicy_invalid = true;
      } else if (name == "sp") {
        record.subdomain_policy = policy;
      } else {
        record.nonexistent_policy = policy;
      }
    } else if (name == "adkim" || name == "aspf") {
      std::optional<DmarcAlignmentMode> mode = alignment_from(value);
      value_ok = mode.has_value();
      if (mode) (name == "adkim" ? record.dkim_alignment : record.spf_alignment) = *mode;
    } else if (name == "pct") {
      std::optional<uint32_t> percent = number_from(value, 100);
      value_ok = percent.has_value();
      if (percent) record.percent = static_cast<int>(*percent);
    } else if (name == "ri") {
      std::optional<uint32_t> interval = number_from(value, UINT32_MAX);
      value_ok = interval.has_value();
      if (interval) record.report_interval_seconds = *interval;
    } else if (name == "rf") {
      value_ok = keyword_list_ok(value, {"afrf"});
    } else if (name == "fo") {
      value_ok = keyword_list_ok(value, {"0", "1", "d", "s"});
      if (value_ok) record.failure_options = ascii_lowercase(value);
    } else if (name == "rua" || name == "ruf") {
      std::optional<std::vector<std::string>> uris = uri_list(value);
      if (!uris) return failed(DmarcRecordError::kLimit, "too many report URIs in " + name);
      (name == "rua" ? record.rua : record.ruf) = std::move(*uris);
    } else if (name == "v") {
      value_ok = false;  // only as the first tag
    }
    if (!value_ok && bad_value.empty()) bad_value = "bad value for " + name;
  }

  if (!policy_valid || subpolicy_invalid) {
    out.error = DmarcRecordError::kNoValidPolicy;
    out.detail = !policy_present ? "no p= tag"
                 : !policy_valid ? "bad value for p"
                                 : "bad value for sp or np";
    out.record.policy = DmarcPolicy::kNone;
    return out;
  }
  if (!bad_value.empty()) {
    out.error = DmarcRecordError::kBadValue;
    out.detail = bad_value;
  }
  return out;
}

}  // namespace postern
