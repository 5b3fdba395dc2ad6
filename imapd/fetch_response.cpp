// One message's FETCH response (see fetch_response.hpp).
#include "imapd/fetch_response.hpp"

#include <fmt/format.h>

#include <ctime>
#include <string_view>

#include "imapd/selected_mailbox_impl.hpp"
#include "lib/base/log.hpp"
#include "lib/mime/mime_parser.hpp"
#include "lib/mime/mime_render.hpp"
#include "lib/mime/mime_section.hpp"

namespace postern::imapd {
namespace {

// Values bigger than this go out through raw() on their own, not appended to the line.
constexpr size_t kDirectWriteBytes = 16 * 1024;

constexpr const char* kMonthNames[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

// The message, read and parsed on first need.
class MessageSource {
 public:
  MessageSource(SelectedMailbox& mailbox, uint32_t seq) : mailbox_(mailbox), seq_(seq) {}

  // False when the bytes cannot be read; error() says why.
  bool load() {
    if (loaded_) return bytes_.has_value();
    loaded_ = true;
    Result<std::string> bytes = mailbox_.message_bytes(seq_);
    if (!bytes) {
      error_ = bytes.error();
      return false;
    }
    bytes_ = std::move(*bytes);
    tree_ = parse_mime(*bytes_);
    return true;
  }
  const std::string& bytes() const { return *bytes_; }
  const MimeTree& tree() const { return tree_; }
  const Error& error() const { return error_; }

 private:
  SelectedMailbox& mailbox_;
  uint32_t seq_;
  bool loaded_ = false;
  std::optional<std::string> bytes_;
  MimeTree tree_;
  Error error_;
};

// Writes the response in pieces: text is gathered, big literals go straight out.
class ResponseWriter {
 public:
  explicit ResponseWriter(CommandContext& context) : context_(context) {}

  void item(std::string_view name, std::string_view value) {
    if (!first_) text_ += ' ';
    first_ = false;
    text_ += name;
    text_ += ' ';
    text_ += value;
  }
  // name then a literal of bytes (literal8 "~{n}" when binary8 and the bytes hold NUL).
  void literal_item(std::string_view name, std::string_view bytes, bool binary8 = false) {
    bool use_literal8 = binary8 && bytes.find('\0') != std::string_view::npos;
    std::string head = fmt::format("{}{{{}}}\r\n", use_literal8 ? "~" : "", bytes.size());
    if (bytes.size() < kDirectWriteBytes) {
      item(name, head + std::string(bytes));
      return;
    }
    item(name, head);
    context_.raw(text_);
    text_.clear();
    context_.raw(bytes);
  }
  void finish() {
    text_ += ")\r\n";
    context_.raw(text_);
  }
  void start(std::string_view prefix) { text_ = std::string(prefix); }

 private:
  CommandContext& context_;
  std::string text_;
  bool first_ = true;
};

std::string partial_of(const std::string& whole, const FetchItem& item) {
  if (!item.partial_offset) return whole;
  size_t offset = *item.partial_offset;
  if (offset >= whole.size()) return std::string();
  return whole.substr(offset, item.partial_length);
}

// ENVELOPE, BODYSTRUCTURE or BODY: the cached text, else computed and cached.
std::optional<std::string> structure_text(SelectedMailbox& mailbox, uint32_t seq,
                                          MessageSource& source, CacheKind kind) {
  if (std::optional<std::string> cached = mailbox.cached(seq, kind)) return cached;
  if (!source.load()) return std::nullopt;
  std::string text;
  switch (kind) {
    case CacheKind::kEnvelope:
      text = render_envelope(source.bytes(), source.tree());
      break;
    case CacheKind::kBodyStructure:
      text = render_bodystructure(source.bytes(), source.tree(), true);
      break;
    case CacheKind::kBody:
      text = render_bodystructure(source.bytes(), source.tree(), false);
      break;
    case CacheKind::kSearchFields:
      return std::nullopt;  // not a FETCH item
  }
  mailbox.store_cached(seq, kind, text);
  return text;
}

bool is_expunged_error(const Error& error) {
  return error.message.find("EXPUNGEISSUED") != std::string::npos;
}

}  // namespace

std::string format_internal_date(int64_t seconds, int32_t zone_minutes) {
  time_t local = static_cast<time_t>(seconds + int64_t{zone_minutes} * 60);
  struct tm parts {};
  gmtime_r(&local, &parts);
  int32_t zone = zone_minutes < 0 ? -zone_minutes : zone_minutes;
  return fmt::format("{:2d}-{}-{:04d} {:02d}:{:02d}:{:02d} {}{:02d}{:02d}", parts.tm_mday,
                     kMonthNames[parts.tm_mon], parts.tm_year + 1900, parts.tm_hour, parts.tm_min,
                     parts.tm_sec, zone_minutes < 0 ? '-' : '+', zone / 60, zone % 60);
}

FetchOutcome send_fetch_response(CommandContext& context, SelectedMailbox& mailbox, uint32_t seq,
                                 const FetchRequest& request, const FetchOptions& options) {
  MessageSource source(mailbox, seq);
  // Everything that needs the file is read before anything is written, so a message that
  // vanished or has an unknown encoding sends nothing at all.
  bool needs_file = false;
  bool sets_seen = false;
  for (const FetchItem& item : request.items) {
    needs_file = needs_file || item.needs_message();
    sets_seen = sets_seen || item.sets_seen();
  }
  if (needs_file && !source.load()) {
    if (is_expunged_error(source.error())) return FetchOutcome::kExpunged;
    log::warning("imapd: FETCH {} in {}: {}", seq, mailbox.name(), source.error().describe());
    return FetchOutcome::kFailed;
  }
  std::vector<std::optional<std::string>> binaries(request.items.size());
  for (size_t i = 0; i < request.items.size(); ++i) {
    const FetchItem& item = request.items[i];
    if (item.kind != FetchItemKind::kBinary && item.kind != FetchItemKind::kBinarySize) continue;
    Result<std::string> decoded = extract_binary(source.bytes(), source.tree(), item.section.part);
    if (decoded) {
      binaries[i] = std::move(*decoded);
    } else if (decoded.error().kind != ErrorKind::kNotFound) {
      return FetchOutcome::kUnknownCte;
    }
  }
  bool flags_changed = false;
  if (sets_seen && !mailbox.read_only() && (mailbox.record(seq).flags.system & kFlagSeen) == 0) {
    Status seen = mailbox.mark_seen(seq);
    if (!seen) {
      log::warning("imapd: cannot set \\Seen on {} in {}: {}", seq, mailbox.name(),
                   seen.error().describe());
    } else {
      flags_changed = true;
      // This response carries the new FLAGS: report_changes need not send them again.
      if (auto* impl = dynamic_cast<SelectedMailboxImpl*>(&mailbox)) {
        impl->note_own_change(mailbox.record(seq).uid, mailbox.record(seq).modseq);
      }
    }
  }
  // A copy: caching ENVELOPE/BODYSTRUCTURE below may make the Mailbox reload its records.
  const MessageRecord record = mailbox.record(seq);
  // Its keywords were in a FLAGS response before this FETCH shows them.
  if (request.has(FetchItemKind::kFlags) || flags_changed) {
    mailbox.announce_keywords(context, record.flags);
  }
  ResponseWriter out(context);
  out.start(fmt::format("* {} FETCH (", seq));
  bool wrote_uid = false;
  bool wrote_flags = false;
  bool wrote_modseq = false;
  if (options.add_uid && !request.has(FetchItemKind::kUid)) {
    out.item("UID", std::to_string(record.uid));
    wrote_uid = true;
  }
  for (size_t i = 0; i < request.items.size(); ++i) {
    const FetchItem& item = request.items[i];
    switch (item.kind) {
      case FetchItemKind::kFlags:
        out.item("FLAGS", "(" + format_flags(record.flags, mailbox.recent(seq)) + ")");
        wrote_flags = true;
        break;
      case FetchItemKind::kInternalDate:
        out.item(
            "INTERNALDATE",
            "\"" + format_internal_date(record.internal_date, record.internal_date_zone) + "\"");
        break;
      case FetchItemKind::kRfc822Size:
        out.item("RFC822.SIZE", std::to_string(record.size));
        break;
      case FetchItemKind::kUid:
        if (!wrote_uid) out.item("UID", std::to_string(record.uid));
        wrote_uid = true;
        break;
      case FetchItemKind::kModSeq:
        out.item("MODSEQ", fmt::format("({})", record.modseq));
        wrote_modseq = true;
        break;
      case FetchItemKind::kEnvelope:
      case FetchItemKind::kBody:
      case FetchItemKind::kBodyStructure: {
        CacheKind kind = item.kind == FetchItemKind::kEnvelope ? CacheKind::kEnvelope
                         : item.kind == FetchItemKind::kBody   ? CacheKind::kBody
                                                               : CacheKind::kBodyStructure;
        std::optional<std::string> text = structure_text(mailbox, seq, source, kind);
        if (!text) {
          if (is_expunged_error(source.error())) return FetchOutcome::kExpunged;
          return FetchOutcome::kFailed;
        }
        out.item(item.response_name, *text);
        break;
      }
      case FetchItemKind::kRfc822:
        out.literal_item("RFC822", source.bytes());
        break;
      case FetchItemKind::kRfc822Header:
      case FetchItemKind::kRfc822Text:
      case FetchItemKind::kBodySection: {
        std::optional<std::string> section =
            extract_section(source.bytes(), source.tree(), item.section);
        if (!section) {
          out.literal_item(item.response_name, "");  // no such part: empty (as Dovecot)
        } else if (item.kind == FetchItemKind::kBodySection && item.section.part.empty() &&
                   item.section.text == MimeSection::Text::kAll && !item.partial_offset) {
          out.literal_item(item.response_name, source.bytes());
        } else {
          out.literal_item(item.response_name, partial_of(*section, item));
        }
        break;
      }
      case FetchItemKind::kBinary:
        if (!binaries[i]) {
          out.item(item.response_name, "NIL");
        } else {
          out.literal_item(item.response_name, partial_of(*binaries[i], item), true);
        }
        break;
      case FetchItemKind::kBinarySize:
        out.item(item.response_name, binaries[i] ? std::to_string(binaries[i]->size()) : "NIL");
        break;
    }
  }
  if (flags_changed && !wrote_flags) {
    out.item("FLAGS", "(" + format_flags(record.flags, mailbox.recent(seq)) + ")");
  }
  if (options.add_modseq && !wrote_modseq) {
    out.item("MODSEQ", fmt::format("({})", record.modseq));
  }
  out.finish();
  return FetchOutcome::kSent;
}

}  // namespace postern::imapd
