// libFuzzer target for what imapd reads from a Maildir that any tool may write: message file
// names (imapd/maildir_names: info letters, ",X=<n>" fields, arrival order) and the folder's
// dovecot-keywords file (imapd/maildir_keywords). The first input byte picks the system flags
// to write back. Properties checked besides crashes and sanitizer reports: info written back
// holds only letters, in ASCII order, once each, and reads back as the same system flags; the
// keyword file reads back as itself once written; letters given out name the keywords asked for.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "imapd/maildir_keywords.hpp"
#include "imapd/maildir_names.hpp"

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace postern::imapd;
  if (size == 0) return 0;
  const uint8_t system = data[0] & 0x1f;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);

  MaildirName name = split_maildir_name(input);
  check(name.base.size() + name.info.size() <= input.size());
  plausible_message_name(input);
  arrival_key(input);
  for (char letter : {'S', 'W', 'P'}) {
    if (auto value = base_field(name.base, letter)) {
      check(base_field(with_base_field(name.base, letter, *value + 1), letter) == *value + 1);
    }
  }
  const std::string letters = keyword_letters_of(name.info);
  const std::string info = info_for_flags(system, letters, name.info);
  for (size_t i = 0; i < info.size(); ++i) {
    const char c = info[i];
    check((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
    if (i > 0) check(info[i - 1] < c);
  }
  check(flags_from_info(info) == system);
  check(keyword_letters_of(info) == letters);

  MaildirKeywords keywords = MaildirKeywords::parse(input);
  const std::string text = keywords.text();
  check(MaildirKeywords::parse(text).text() == text);
  const std::vector<std::string> named = keywords.keywords_in(name.info);
  for (const std::string& keyword : named) check(keywords.has_letter(keyword));
  const std::string given = keywords.letters_for({"$Fuzz", "Junk"});
  check(given.size() <= 2);
  for (char c : given) check(c >= 'a' && c <= 'z');
  return 0;
}
