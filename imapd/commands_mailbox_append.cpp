// APPEND for imapd (RFC 3501 6.3.11, RFC 4315 APPENDUID, RFC 3516 literal8): a message from
// the client, with optional flags and internal date, stored in a folder. Runs in
// postern-imapd. The message literal is bounded by the parser (message_size_limit); flags are
// checked (system flags by name, keywords as atoms, at most kMaxKeywordsPerMessage of at most
// kMaxKeywordBytes); the date must be RFC 3501's date-time exactly; an empty message is refused.
// A literal8 (RFC 3516) has its binary parts stored in base64 (lib/mime/mime_binary_convert); a NUL
// left after that is refused with [UNKNOWN-CTE].
#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <string>
#include <string_view>

#include "imapd/commands.hpp"
#include "imapd/commands_mailbox_util.hpp"
#include "imapd/mail_store.hpp"
#include "lib/mime/mime_binary_convert.hpp"

namespace postern::imapd {
namespace {

constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool ascii_iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 32);
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 32);
    if (x != y) return false;
  }
  return true;
}

bool digits(std::string_view text, size_t pos, size_t count, int* out) {
  if (pos + count > text.size()) return false;
  int value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  *out = value;
  return true;
}

}  // namespace

bool parse_append_date_time(std::string_view text, int64_t* seconds, int32_t* zone_minutes) {
  if (!text.empty() && text[0] == ' ') text.remove_prefix(1);
  int day = 0;
  size_t pos = 0;
  if (text.size() > 1 && text[1] == '-') {
    if (!digits(text, 0, 1, &day)) return false;
    pos = 1;
  } else {
    if (!digits(text, 0, 2, &day)) return false;
    pos = 2;
  }
  if (text.size() != pos + 24) return false;
  if (text[pos] != '-' || text[pos + 4] != '-' || text[pos + 9] != ' ' || text[pos + 12] != ':' ||
      text[pos + 15] != ':' || text[pos + 18] != ' ') {
    return false;
  }
  int month = -1;
  for (int m = 0; m < 12; ++m) {
    if (ascii_iequal(text.substr(pos + 1, 3), kMonths[m])) month = m;
  }
  int year = 0, hour = 0, minute = 0, second = 0, zone = 0;
  if (month < 0 || !digits(text, pos + 5, 4, &year) || !digits(text, pos + 10, 2, &hour) ||
      !digits(text, pos + 13, 2, &minute) || !digits(text, pos + 16, 2, &second) ||
      !digits(text, pos + 20, 4, &zone)) {
    return false;
  }
  const char sign = text[pos + 19];
  if (sign != '+' && sign != '-') return false;
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (day < 1 || day > kDaysInMonth[month] || year < 1900 || hour > 23 || minute > 59 ||
      second > 60 || zone % 100 > 59 || zone / 100 > 23) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  const int64_t local = static_cast<int64_t>(::timegm(&tm));
  if (tm.tm_mday != day) return false;  // 29-Feb of a year without one
  const int32_t offset = (zone / 100) * 60 + zone % 100;
  *zone_minutes = sign == '+' ? offset : -offset;
  *seconds = local - static_cast<int64_t>(*zone_minutes) * 60;
  return true;
}

Result<MessageFlags> parse_flag_tokens(const std::vector<const ImapToken*>& tokens) {
  MessageFlags flags;
  static constexpr std::pair<std::string_view, uint8_t> kNames[] = {
      {"\\Seen", kFlagSeen},       {"\\Answered", kFlagAnswered}, {"\\Flagged", kFlagFlagged},
      {"\\Deleted", kFlagDeleted}, {"\\Draft", kFlagDraft},
  };
  for (const ImapToken* flag : tokens) {
    const ImapToken& token = *flag;
    // NIL matches flag-keyword = atom (RFC 3501 9), and Dovecot takes it, but a client that
    // reads a flag list with its generic parser sees NIL there as nothing: FLAGS (NIL) would
    // hide the keyword from it, so no keyword is named NIL (in any case).
    if (token.kind == ImapToken::Kind::kNil || ascii_iequal(token.text, "NIL")) {
      return Error::parse("BAD Invalid keyword NIL");
    }
    if (!token.is_atom() || token.text.empty()) return Error::parse("BAD Invalid flag");
    if (token.text[0] == '\\') {
      bool known = false;
      for (const auto& [name, bit] : kNames) {
        if (ascii_iequal(token.text, name)) {
          flags.system |= bit;
          known = true;
        }
      }
      if (!known) return Error::parse("BAD Invalid system flag " + token.text.substr(0, 32));
      continue;
    }
    if (token.text.size() > kMaxKeywordBytes) return Error::parse("BAD Keyword too long");
    for (char c : token.text) {
      const unsigned char u = static_cast<unsigned char>(c);
      if (u <= 0x20 || u >= 0x7f || std::string_view("(){%*\"\\]").find(c) != std::string::npos) {
        return Error::parse("BAD Invalid keyword");
      }
    }
    flags.keywords.push_back(token.text);
  }
  std::sort(flags.keywords.begin(), flags.keywords.end());
  flags.keywords.erase(std::unique(flags.keywords.begin(), flags.keywords.end()),
                       flags.keywords.end());
  if (flags.keywords.size() > kMaxKeywordsPerMessage) {
    return Error::parse("NO [LIMIT] Too many keywords");
  }
  return flags;
}

Result<MessageFlags> parse_append_flags(const ImapToken& list) {
  std::vector<const ImapToken*> tokens;
  tokens.reserve(list.children.size());
  for (const ImapToken& child : list.children) tokens.push_back(&child);
  return parse_flag_tokens(tokens);
}

std::string handle_append(CommandContext& context, const ImapCommand& command) {
  const auto& args = command.args;
  if (args.size() < 2 || args.size() > 4) return "BAD APPEND needs a mailbox and a message";
  const ImapToken& message = args.back();
  if (message.kind != ImapToken::Kind::kLiteral) return "BAD APPEND's message must be a literal";
  MessageFlags flags;
  int64_t internal_date = static_cast<int64_t>(::time(nullptr));
  int32_t zone_minutes = 0;
  {
    std::tm local{};
    const time_t now = static_cast<time_t>(internal_date);
    if (::localtime_r(&now, &local) != nullptr) {
      zone_minutes = static_cast<int32_t>(local.tm_gmtoff / 60);
    }
  }
  size_t index = 1;
  if (index < args.size() - 1 && args[index].kind == ImapToken::Kind::kList) {
    auto parsed = parse_append_flags(args[index]);
    if (!parsed.ok()) return parsed.error().message;
    flags = std::move(*parsed);
    ++index;
  }
  if (index < args.size() - 1) {
    if (args[index].kind != ImapToken::Kind::kQuoted ||
        !parse_append_date_time(args[index].text, &internal_date, &zone_minutes)) {
      return "BAD Invalid internal date";
    }
    ++index;
  }
  if (index != args.size() - 1) return "BAD Invalid APPEND arguments";
  auto name = folder_name_argument(args[0]);
  if (!name.ok()) return name.error().message;
  if (message.text.empty()) return "NO Can't save a zero byte message.";
  std::string converted;
  std::string_view text = message.text;
  if (message.binary_literal) {
    // RFC 3516: parts sent as binary are kept in base64; BINARY[] gives their bytes back.
    BinaryConversion conversion = convert_binary_parts(text);
    if (conversion.parts_converted > 0) {
      converted = std::move(conversion.message);
      text = converted;
    }
  }
  if (text.find('\0') != std::string_view::npos) {
    return message.binary_literal
               ? "NO [UNKNOWN-CTE] NUL outside a part with Content-Transfer-Encoding: binary."
               : "NO Message contains a NUL byte.";
  }
  auto mailbox = context.store().open_mailbox(*name);
  if (!mailbox.ok()) {
    if (mailbox.error().kind == ErrorKind::kNotFound) {
      return "NO [TRYCREATE] Mailbox doesn't exist: " + *name;
    }
    return no_reply(mailbox.error());
  }
  auto uid = (*mailbox)->append(text, flags, internal_date, zone_minutes);
  if (!uid.ok()) return no_reply(uid.error());
  return fmt::format("OK [APPENDUID {} {}] Append completed.", (*mailbox)->uidvalidity(), *uid);
}

}  // namespace postern::imapd
