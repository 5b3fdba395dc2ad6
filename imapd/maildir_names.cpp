// Parsing and building Maildir file names for imapd's mail store (see maildir_names.hpp).
// Names are hostile: every parse stays inside the string and bounds its numbers.
#include "imapd/maildir_names.hpp"

#include <algorithm>

#include "imapd/mailbox_types.hpp"

namespace postern::imapd {
namespace {

constexpr uint64_t kMaxFieldValue = uint64_t{1} << 62;

struct FlagLetter {
  char letter;
  uint8_t bit;
};
// In ASCII order, as the Maildir spec asks the info letters to be.
constexpr FlagLetter kFlagLetters[] = {
    {'D', kFlagDraft}, {'F', kFlagFlagged}, {'R', kFlagAnswered},
    {'S', kFlagSeen},  {'T', kFlagDeleted},
};

bool is_system_letter(char c) {
  return c == 'D' || c == 'F' || c == 'R' || c == 'S' || c == 'T';
}

std::optional<uint64_t> parse_digits(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > kMaxFieldValue) return std::nullopt;
  return value;
}

// Position of the ",<letter>=" field in base (its comma), or npos.
size_t find_field(std::string_view base, char letter) {
  for (size_t pos = base.find(','); pos != std::string_view::npos; pos = base.find(',', pos + 1)) {
    if (pos + 2 < base.size() && base[pos + 1] == letter && base[pos + 2] == '=') return pos;
  }
  return std::string_view::npos;
}

}  // namespace

MaildirName split_maildir_name(std::string_view name) {
  MaildirName out;
  size_t colon = name.find(":2,");
  if (colon == std::string_view::npos) {
    out.base = name;
    return out;
  }
  out.base = name.substr(0, colon);
  out.info = name.substr(colon + 3);
  out.has_info = true;
  return out;
}

bool plausible_message_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxMaildirNameBytes || name.front() == '.') return false;
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

uint8_t flags_from_info(std::string_view info) {
  uint8_t flags = 0;
  for (char c : info) {
    for (const FlagLetter& f : kFlagLetters) {
      if (c == f.letter) flags |= f.bit;
    }
  }
  return flags;
}

std::string info_for_flags(uint8_t system_flags, std::string_view keyword_letters,
                           std::string_view old_info) {
  std::string letters;
  for (const FlagLetter& f : kFlagLetters) {
    if (system_flags & f.bit) letters += f.letter;
  }
  for (char c : keyword_letters) {
    if (c >= 'a' && c <= 'z' && letters.find(c) == std::string::npos) letters += c;
  }
  for (char c : old_info) {
    // Keep the upper-case letters other tools put there (P), once each; drop junk bytes.
    bool keep = !is_system_letter(c) && c >= 'A' && c <= 'Z';
    if (keep && letters.find(c) == std::string::npos) letters += c;
  }
  std::sort(letters.begin(), letters.end());
  return letters;
}

std::optional<uint64_t> base_field(std::string_view base, char letter) {
  size_t pos = find_field(base, letter);
  if (pos == std::string_view::npos) return std::nullopt;
  size_t start = pos + 3;
  size_t end = base.find(',', start);
  return parse_digits(base.substr(start, end == std::string_view::npos ? end : end - start));
}

std::string with_base_field(std::string_view base, char letter, uint64_t value) {
  std::string field = std::string(",") + letter + "=" + std::to_string(value);
  size_t pos = find_field(base, letter);
  if (pos == std::string_view::npos) return std::string(base) + field;
  size_t end = base.find(',', pos + 1);
  std::string out(base.substr(0, pos));
  out += field;
  if (end != std::string_view::npos) out += base.substr(end);
  return out;
}

ArrivalKey arrival_key(std::string_view name) {
  ArrivalKey key;
  size_t i = 0;
  while (i < name.size() && i < 18 && name[i] >= '0' && name[i] <= '9') {
    key.seconds = key.seconds * 10 + (name[i] - '0');
    ++i;
  }
  if (i == 0) return ArrivalKey{-1, 0};
  if (i + 1 < name.size() && name[i] == '.' && name[i + 1] == 'M') {
    size_t j = i + 2;
    while (j < name.size() && j < i + 2 + 9 && name[j] >= '0' && name[j] <= '9') {
      key.micros = key.micros * 10 + (name[j] - '0');
      ++j;
    }
  }
  return key;
}

}  // namespace postern::imapd
