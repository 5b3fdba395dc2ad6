// SEARCH evaluation (see search_engine.hpp).
#include "imapd/search_engine.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>

#include "imapd/mail_store.hpp"
#include "imapd/selected_mailbox_impl.hpp"
#include "lib/base/ascii.hpp"
#include "lib/mime/charset.hpp"
#include "lib/mime/mime_address.hpp"
#include "lib/mime/mime_parser.hpp"
#include "lib/mime/mime_search.hpp"
#include "lib/base/unique_fd.hpp"

namespace postern::imapd {
namespace {

using Kind = SearchKey::Kind;

// What evaluating a key costs: answered from the record, needs the header, needs the body.
enum Cost : int { kCostIndex = 0, kCostHeader = 1, kCostBody = 2 };

// The key tree prepared for one run: strings folded, sets resolved to sequence ranges, children
// ordered cheap first.
struct PreparedKey {
  Kind kind = Kind::kAll;
  std::vector<PreparedKey> children;
  std::vector<SequenceRange> seqs;  // kSequenceSet and kUidSet, as sequence numbers
  uint8_t flag = 0;
  std::string field;
  std::string folded;  // kHeader/kBody/kText: the needle, case-folded; keywords as given
  uint64_t number = 0;
  int64_t day = 0;
  int cost = kCostIndex;
};

Result<PreparedKey> prepare(const SearchKey& key, SelectedMailbox& mailbox) {
  PreparedKey out;
  out.kind = key.kind;
  out.flag = key.flag;
  out.field = key.field;
  out.number = key.number;
  out.day = key.day;
  switch (key.kind) {
    case Kind::kSequenceSet:
      if (key.set.saved) return Error::not_found("no saved search result");
      out.seqs = normalize_sequence_set(key.set, mailbox.count());
      break;
    case Kind::kUidSet:
      if (key.set.saved) return Error::not_found("no saved search result");
      out.seqs = resolve_uids(key.set, mailbox.count(),
                              [&mailbox](uint32_t seq) { return mailbox.record(seq).uid; });
      break;
    case Kind::kHeader:
    case Kind::kBody:
    case Kind::kText:
      out.folded = utf8_casefold(key.text);
      out.cost = key.kind == Kind::kHeader ? kCostHeader : kCostBody;
      break;
    case Kind::kSentBefore:
    case Kind::kSentOn:
    case Kind::kSentSince:
      out.cost = kCostHeader;
      break;
    case Kind::kKeyword:
    case Kind::kNoKeyword:
      out.folded = key.text;
      break;
    default:
      break;
  }
  for (const SearchKey& child : key.children) {
    Result<PreparedKey> prepared = prepare(child, mailbox);
    if (!prepared) return prepared.error();
    out.cost = std::max(out.cost, prepared->cost);
    out.children.push_back(std::move(*prepared));
  }
  // AND and OR are commutative: cheap children first, so costly ones run only when needed.
  std::stable_sort(out.children.begin(), out.children.end(),
                   [](const PreparedKey& a, const PreparedKey& b) { return a.cost < b.cost; });
  return out;
}

// The header as IMAP shows it (CRLF), read from the file up to its empty line.
std::optional<std::string> read_header_from_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::nullopt;
  std::string bytes;
  char buffer[8192];
  size_t searched = 0;
  while (bytes.size() < kMaxSearchHeaderBytes) {
    ssize_t got = ::read(fd.get(), buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (got == 0) return lf_to_crlf(bytes);  // a message that is all header
    bytes.append(buffer, static_cast<size_t>(got));
    // The empty line: "\n\n" or "\n\r\n".
    size_t from = searched > 2 ? searched - 2 : 0;
    for (size_t i = from; i + 1 < bytes.size(); ++i) {
      if (bytes[i] != '\n') continue;
      size_t end = 0;
      if (bytes[i + 1] == '\n') {
        end = i + 2;
      } else if (bytes[i + 1] == '\r' && i + 2 < bytes.size() && bytes[i + 2] == '\n') {
        end = i + 3;
      }
      if (end != 0) return lf_to_crlf(std::string_view(bytes).substr(0, end));
    }
    searched = bytes.size();
  }
  return std::nullopt;  // a header over the bound: the caller reads the whole message
}

// The header fields kept in the index (CacheKind::kSearchFields) once a SEARCH has read a
// message's header: those of the FROM/TO/CC/BCC/SUBJECT and SENT* keys and the rest of the
// ENVELOPE's, the ones clients search by. A later SEARCH on them opens no file.
bool is_cached_field(std::string_view name) {
  for (std::string_view cached : {"From", "To", "Cc", "Bcc", "Subject", "Date", "Sender",
                                  "Reply-To", "Message-ID", "In-Reply-To", "References"}) {
    if (ascii_iequals(name, cached)) return true;
  }
  return false;
}

std::vector<MimeHeaderField> header_block_fields(std::string_view header) {
  MimePart part;
  part.header_start = 0;
  part.header_end = header.size();
  part.body_start = part.body_end = header.size();
  return mime_header_fields(header, part);
}

// One message while it is being matched: what has been read of it so far.
class Candidate {
 public:
  Candidate(SelectedMailbox& mailbox, SelectedMailboxImpl* impl, uint32_t seq)
      : mailbox_(mailbox), impl_(impl), seq_(seq), record_(mailbox.record(seq)) {}

  uint32_t seq() const { return seq_; }
  const MessageRecord& record() const { return record_; }
  bool recent() {
    if (!recent_) recent_ = mailbox_.recent(seq_);
    return *recent_;
  }

  // The header fields of the message (empty when it cannot be read).
  const std::vector<MimeHeaderField>& fields() {
    if (fields_) return *fields_;
    fields_.emplace();
    if (!header_) {
      if (message_) {
        header_ = message_->substr(0, tree_.parts.empty() ? 0 : tree_.parts[0].header_end);
      } else if (impl_ != nullptr) {
        header_ = read_header_from_file(impl_->mailbox().path() + "/" + record_.file);
      }
      if (!header_ && load_message()) {
        header_ = message_->substr(0, tree_.parts[0].header_end);
      }
    }
    if (header_) *fields_ = header_block_fields(*header_);
    return *fields_;
  }

  // The fields named field (and maybe others): from the index's cache when field is one it
  // keeps, else from the header, which then fills the cache.
  const std::vector<MimeHeaderField>& fields_for(std::string_view field) {
    if (!is_cached_field(field) || fields_) return fields();
    if (!cached_fields_) {
      std::optional<std::string> text = mailbox_.cached(seq_, CacheKind::kSearchFields);
      if (text) {
        cached_text_ = std::move(*text);
        cached_fields_ = header_block_fields(cached_text_);
      }
    }
    if (cached_fields_) return *cached_fields_;
    const std::vector<MimeHeaderField>& all = fields();
    if (header_) {
      std::string kept;
      for (const MimeHeaderField& header : all) {
        if (is_cached_field(header.name)) kept += header.raw;
      }
      kept += "\r\n";
      mailbox_.store_cached(seq_, CacheKind::kSearchFields, kept);
    }
    return all;
  }

  bool load_message() {
    if (message_loaded_) return message_.has_value();
    message_loaded_ = true;
    Result<std::string> bytes = mailbox_.message_bytes(seq_);
    if (!bytes) return false;
    message_ = std::move(*bytes);
    tree_ = parse_mime(*message_);
    return true;
  }
  const std::string& message() const { return *message_; }
  const MimeTree& tree() const { return tree_; }

 private:
  SelectedMailbox& mailbox_;
  SelectedMailboxImpl* impl_;
  uint32_t seq_;
  // A copy: reading a file may make the Mailbox catch up and reload its records.
  const MessageRecord record_;
  std::optional<bool> recent_;
  std::optional<std::string> header_;
  std::optional<std::vector<MimeHeaderField>> fields_;
  std::string cached_text_;  // the cached fields' text; cached_fields_ points into it
  std::optional<std::vector<MimeHeaderField>> cached_fields_;
  bool message_loaded_ = false;
  std::optional<std::string> message_;
  MimeTree tree_;
};

int64_t day_of(int64_t seconds, int32_t zone_minutes) {
  int64_t local = seconds + int64_t{zone_minutes} * 60;
  int64_t day = local / 86400;
  if (local % 86400 < 0) --day;
  return day;
}

bool is_address_field(std::string_view field) {
  for (std::string_view name : {"From", "To", "Cc", "Bcc", "Sender", "Reply-To"}) {
    if (ascii_iequals(field, name)) return true;
  }
  return false;
}

// An address header as "name <mailbox@host>, group: ..." with the comments and spaces inside
// each addr-spec dropped, so "<a (x)@ (y) b.org>" is found by "a@b.org" (as Dovecot does).
// Bounded by parse_imap_address_list's kMaxEnvelopeAddresses.
std::string normalised_addresses(std::string_view raw_value) {
  std::string out;
  for (const ImapAddress& address : parse_imap_address_list(raw_value)) {
    if (!out.empty()) out += ", ";
    if (address.name) out += *address.name + " ";
    if (address.mailbox && !address.host) {  // a group's start marker
      out += *address.mailbox + ":";
      continue;
    }
    if (!address.mailbox) continue;  // a group's end marker
    out += "<" + *address.mailbox + "@" + *address.host + ">";
  }
  return searchable_header_value(out);
}

bool header_matches(Candidate& candidate, std::string_view field, std::string_view folded) {
  const bool addresses = is_address_field(field);
  for (const MimeHeaderField& header : candidate.fields_for(field)) {
    if (!ascii_iequals(header.name, field)) continue;
    if (folded.empty()) return true;
    if (utf8_contains_folded(searchable_header_value(header.value), folded)) return true;
    if (addresses && utf8_contains_folded(normalised_addresses(header.value), folded)) return true;
  }
  return false;
}

bool any_header_matches(Candidate& candidate, std::string_view folded) {
  for (const MimeHeaderField& header : candidate.fields()) {
    if (utf8_contains_folded(header.name, folded)) return true;
    if (utf8_contains_folded(searchable_header_value(header.value), folded)) return true;
  }
  return false;
}

bool body_matches(Candidate& candidate, std::string_view folded) {
  if (!candidate.load_message()) return false;
  if (folded.empty()) return true;
  bool found = false;
  for_each_body_text(candidate.message(), candidate.tree(), [&](std::string_view text) {
    found = utf8_contains_folded(text, folded);
    return !found;
  });
  return found;
}

std::optional<int64_t> sent_day(Candidate& candidate) {
  for (const MimeHeaderField& header : candidate.fields_for("Date")) {
    if (ascii_iequals(header.name, "Date")) return rfc5322_date_day(header.value);
  }
  return std::nullopt;
}

bool has_keyword(const MessageRecord& record, std::string_view keyword) {
  for (const std::string& have : record.flags.keywords) {
    if (ascii_iequals(have, keyword)) return true;
  }
  return false;
}

bool matches(const PreparedKey& key, Candidate& candidate) {
  const MessageRecord& record = candidate.record();
  switch (key.kind) {
    case Kind::kAll:
      return true;
    case Kind::kAnd:
      for (const PreparedKey& child : key.children) {
        if (!matches(child, candidate)) return false;
      }
      return true;
    case Kind::kOr:
      for (const PreparedKey& child : key.children) {
        if (matches(child, candidate)) return true;
      }
      return false;
    case Kind::kNot:
      return !matches(key.children[0], candidate);
    case Kind::kSequenceSet:
    case Kind::kUidSet:
      return ranges_contain(key.seqs, candidate.seq());
    case Kind::kFlag:
      return (record.flags.system & key.flag) != 0;
    case Kind::kNoFlag:
      return (record.flags.system & key.flag) == 0;
    case Kind::kKeyword:
      return has_keyword(record, key.folded);
    case Kind::kNoKeyword:
      return !has_keyword(record, key.folded);
    case Kind::kNew:
      return candidate.recent() && (record.flags.system & kFlagSeen) == 0;
    case Kind::kOld:
      return !candidate.recent();
    case Kind::kRecent:
      return candidate.recent();
    case Kind::kLarger:
      return record.size > key.number;
    case Kind::kSmaller:
      return record.size < key.number;
    case Kind::kBefore:
      return day_of(record.internal_date, record.internal_date_zone) < key.day;
    case Kind::kOn:
      return day_of(record.internal_date, record.internal_date_zone) == key.day;
    case Kind::kSince:
      return day_of(record.internal_date, record.internal_date_zone) >= key.day;
    case Kind::kSentBefore: {
      std::optional<int64_t> day = sent_day(candidate);
      return day && *day < key.day;
    }
    case Kind::kSentOn: {
      std::optional<int64_t> day = sent_day(candidate);
      return day && *day == key.day;
    }
    case Kind::kSentSince: {
      std::optional<int64_t> day = sent_day(candidate);
      return day && *day >= key.day;
    }
    case Kind::kHeader:
      return header_matches(candidate, key.field, key.folded);
    case Kind::kBody:
      return body_matches(candidate, key.folded);
    case Kind::kText:
      return any_header_matches(candidate, key.folded) || body_matches(candidate, key.folded);
    case Kind::kModSeq:
      return record.modseq >= key.number;
  }
  return false;
}

}  // namespace

Result<SearchMatch> run_search(SelectedMailbox& mailbox, const SearchKey& root) {
  Result<PreparedKey> prepared = prepare(root, mailbox);
  if (!prepared) return prepared.error();
  auto* impl = dynamic_cast<SelectedMailboxImpl*>(&mailbox);
  SearchMatch match;
  uint32_t count = mailbox.count();
  for (uint32_t seq = 1; seq <= count; ++seq) {
    Candidate candidate(mailbox, impl, seq);
    if (!matches(*prepared, candidate)) continue;
    match.seqs.push_back(seq);
    match.highest_modseq = std::max(match.highest_modseq, candidate.record().modseq);
  }
  return match;
}

}  // namespace postern::imapd
